# CarePact — English message catalogue. Every word a person reads comes from here, by message id.
# Plain English, after the NHS content style guide: short sentences, "you", no jargon.

service-name = CarePact
skip-link = Skip to main content
header-home-label = CarePact home page
header-account-label = Your account
breadcrumb-label = Breadcrumb
back-to = Back to
sign-out = Sign out
banner-success = Success
banner-important = Important
footer-heading = Support links
footer-text = CarePact puts you in charge of your health and care record.
title-error-prefix = Error:
error-prefix = Error:
error-summary-title = There is a problem
information-prefix = Information:
password-show = Show
password-show-label = Show password

nav-home = Home
nav-sign-in = Sign in
nav-account = Your account
nav-register-person = Register a person
nav-organisations = Organisations
nav-add-organisation = Add an organisation
nav-invite-staff = Invite a member of staff
nav-emails = Emails not delivered

month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

role-person = Person
role-carer = Carer
role-professional = Professional
role-link_worker = Link worker
role-commissioner = Commissioner
role-organisation_admin = Organisation admin
role-system_admin = System admin

org-kind-gp_practice = GP practice
org-kind-hospital_trust = Hospital trust
org-kind-community_service = Community service
org-kind-social_care = Social care
org-kind-voluntary = Voluntary or community organisation
org-kind-commissioner = Commissioner (integrated care board)

## Sign in and out
sign-in-title = Sign in to CarePact
sign-in-intro = Use the email address and password for your CarePact account.
sign-in-button = Sign in
sign-in-forgot = Forgotten your password?
sign-in-timeout-note = For your safety, we sign you out after { $minutes } minutes without activity, and after 12 hours in any case.
label-email = Email address
label-password = Password
error-sign-in-email-empty = Enter your email address
error-sign-in-password-empty = Enter your password
error-sign-in-wrong = Enter a correct email address and password
flash-signed-out = You have signed out.
flash-session-expired = You were signed out because you had not used CarePact for a while. Sign in again to continue.
flash-form-expired = The page you were using had expired. Sign in and try again.

## Password reset and invitations
reset-request-title = Reset your password
reset-request-intro = Enter the email address for your account. We will send you a link to choose a new password.
reset-request-button = Send me a link
reset-sent-title = Check your email
reset-sent-body = If { $email } has a CarePact account, we have sent a link to it.
reset-sent-expiry = The link works once and for 1 hour. If nothing arrives, check your spam folder or ask again.
reset-heading = Choose a new password
invitation-heading = Set up your CarePact account
label-new-password = New password
hint-new-password = Use at least 12 characters. A few words strung together is easy to remember and hard to guess.
label-confirm-password = Type the new password again
set-password-button = Save password
link-invalid-title = This link has expired or has already been used
link-invalid-body = Links in our emails work once and for a limited time.
link-invalid-new = Ask for a new password reset link
flash-done-password-changed = Your password has been changed. Sign in with your new password.
flash-done-account-ready = Your account is ready. Sign in with your email address and new password.

email-password-reset-subject = Reset your CarePact password
email-password-reset-body =
    Someone asked to reset the password for your CarePact account.

    To choose a new password, open this link within 1 hour:
    { $link }

    If this was not you, you can ignore this email: your password has not changed.

    CarePact
email-invitation-staff-subject = You have been invited to CarePact
email-invitation-staff-body =
    You have been invited to join your organisation on CarePact.

    To set up your account, open this link within 7 days:
    { $link }

    If you were not expecting this, you can ignore this email.

    CarePact
email-invitation-person-subject = Your CarePact account is ready to set up
email-invitation-person-body =
    Your care team has invited you to CarePact, where you can see and share your health and care record.

    To set up your account, open this link within 7 days:
    { $link }

    You decide who sees your record. If you were not expecting this, you can ignore this email.

    CarePact

## Home
home-title = Home
label-nhs-number = NHS number
label-date-of-birth = Date of birth
label-named-contact = Your named contact
label-preferred-name = Preferred name
named-contact-none = No named contact yet
nhs-number-none = Not recorded
home-your-details = Your details and communication needs
home-shared-heading = People who have shared their record with you
home-shared-none = No one has shared their record with you yet.
home-carer-heading = People you care for
home-carer-none = No one has given you access to their record yet.
home-commissioner-heading = Reports
home-commissioner-body = Reports on care planning and outcomes for your area will appear here.
home-manage-staff = Manage staff
home-system-heading = Running CarePact
home-system-organisations = Organisations
home-system-emails-waiting = Emails waiting to be sent
home-system-dead-letters = Emails that could not be delivered

## Your account
account-title = Your account
account-details-heading = Your contact details
account-language-heading = Language
label-name = Name
label-roles = Roles
label-organisation = Organisation
label-phone = Phone number
label-communication-needs = Communication needs
hint-communication-needs = For example, large print, British Sign Language, an interpreter, or easy read. We show this to everyone who cares for you.
hint-preferred-name = The name you like to be called, if it is different.
save-details-button = Save details
save-language-button = Save language
language-browser = Use my browser's language
flash-done-details-saved = Your details have been saved.
flash-done-language-saved = Your language setting has been saved.
error-language-unknown = Choose a language from the list

## Registering a person
person-new-title = Register a person
person-new-intro = We will email the person an invitation to set up their account. Registering someone does not let you see their record: they choose who sees it.
person-new-button = Register and send invitation
label-given-name = First name
label-family-name = Last name
label-day = Day
label-month = Month
label-year = Year
hint-nhs-number = This is a 10 digit number, like 485 777 3456
hint-date-of-birth = For example, 15 3 1984
hint-person-email = We will send the invitation here.
flash-done-person-registered = If this person did not already have a CarePact account, we have sent them an invitation. If they did, ask them to share their record with you from their account.

## Organisations and staff
organisations-none = There are no organisations yet.
organisations-caption = Organisations using CarePact
label-organisation-name = Organisation name
label-organisation-kind = Type of organisation
label-staff-count = Staff
organisation-new-button = Add organisation
flash-done-organisation-created = The organisation has been added. Invite its first administrator.
staff-none = No staff have been invited yet.
staff-caption = Staff
label-status = Status
status-active = Active
status-invited = Invited
label-staff-name = Full name
hint-staff-name = As it should appear to people using CarePact, for example Dr Sarah Patel.
hint-roles = Select all that apply.
invite-button = Send invitation
flash-done-invitation-sent = The invitation has been sent.

## Emails
emails-waiting = Emails waiting to be sent: { $count }
emails-dead-none = Every email has been delivered or is still being tried.
emails-dead-caption = Emails that could not be delivered
label-recipient = Recipient
label-subject = Subject
label-attempts = Attempts
label-last-error = Last error

## Field errors
error-email-empty = Enter an email address
error-email-format = Enter an email address in the correct format, like name@example.com
error-email-taken = This email address already has a CarePact account
error-password-empty = Enter a password
error-password-short = Your password must be at least 12 characters
error-password-long = Your password must be 128 characters or fewer
error-password-mismatch = The passwords do not match
error-nhs-number-empty = Enter an NHS number
error-nhs-number-length = An NHS number must be 10 digits
error-nhs-number-digits = An NHS number must contain only numbers
error-nhs-number-check = Enter a valid NHS number: check it has been typed correctly
error-given-name-empty = Enter a first name
error-family-name-empty = Enter a last name
error-staff-name-empty = Enter their full name
error-staff-roles-empty = Select at least one role
error-text-too-long = This answer is too long
error-text-invalid = This answer contains characters we cannot accept
error-dob-empty = Enter a date of birth
error-dob-invalid = Date of birth must be a real date
error-dob-year = Year must include 4 numbers
error-dob-future = Date of birth must be in the past
error-organisation-name-empty = Enter the organisation's name
error-organisation-name-taken = An organisation with this name already exists
error-organisation-kind = Select the type of organisation

## Error pages
error-go-home = Go to the CarePact home page
error-page-not-found = Page not found
error-page-not-found-body = If you typed the web address, check it is correct. If you pasted the web address, check you copied the entire address.
error-forbidden = You cannot do that
error-forbidden-body = Your account does not give you access to this page.
error-cross-site = This request came from another website, so we did not act on it.
error-form-expired = This form has expired. Go back, reload the page and try again.
error-too-large = What you sent is too large
error-too-large-body = Go back and send less.
error-too-many = Too many attempts
error-too-many-body = You have tried too many times. Wait 15 minutes and try again, or reset your password.
error-internal = Sorry, there is a problem with the service
error-internal-body = Try again later. Nothing you entered has been saved.
error-bad-request = There is a problem with your request
error-bad-request-body = Go back and try again.
error-form-unreadable = We could not read what you sent. Go back and try again.

## Sharing and the access log
nav-my-record = Your health record
nav-sharing = Who can see your record
nav-access-log = Who has looked at your record
sharing-title = Who can see your record
sharing-intro = Your record is yours. Only the people and organisations you choose can see it, and only the parts you choose. You can stop sharing at any time, and it takes effect at once.
sharing-none = You are not sharing your record with anyone.
sharing-caption = Who you share with
sharing-what = What they can see
sharing-actions = Actions
sharing-until = Until { $date }.
revoke-button = Stop sharing
revoke-with = with { $name }
share-heading = Share your record
share-who = Who do you want to share with?
grantee-professional = A named professional
grantee-organisation = A whole organisation (its clinical staff)
grantee-carer = A carer who acts for you
label-professional-email = The professional's email address
hint-professional-email = If you are sharing with a named professional.
label-organisation-select = The organisation
organisation-choose = Choose an organisation
label-carer-email = Your carer's email address
hint-carer-email = If you are sharing with a carer. They need their own CarePact account.
share-sections = Which parts of your record?
section-record = Health record
section-care_plan = Care plan
section-readings = Readings
section-questionnaires = Questionnaires
section-messages = Messages
section-budget = Personal health budget
share-labels = Which kinds of information?
hint-share-labels = Some information is more sensitive. It is only shared if you tick it.
label-sensitivity-general = General health information
label-sensitivity-mental_health = Mental health
label-sensitivity-sexual_health = Sexual health
label-sensitivity-social_care = Social care
share-access = What can they do?
access-read = See only
access-write = See and add or change
share-until = Until when? (optional)
hint-share-until = Leave blank to share until you stop it. For example, 31 12 2027
share-button = Share
consent-active = Sharing
consent-revoked = Stopped
consent-ended = Ended
flash-done-shared = You are now sharing your record.
flash-done-revoked = You have stopped sharing. It took effect straight away.
error-share-grantee = Select who you want to share with
error-share-professional-unknown = We could not find a professional with that email address
error-share-organisation = Choose an organisation
error-share-carer-unknown = We could not find a carer with that email address
error-share-sections = Select at least one part of your record
error-share-labels = Select at least one kind of information
error-share-access = Select what they can do
error-share-end-date = The end date must be a real date after today
access-log-title = Who has looked at your record
access-log-intro = Every time someone sees or changes your information, or asks to and is refused, it is recorded here. You can check it at any time.
access-log-none = No one has looked at your record yet.
access-log-caption = Access to your record, newest first
access-log-none-matching = Nothing in your log matches what you chose. Try showing more.
access-log-count = { $count ->
    [one] 1 entry
   *[other] { $count } entries
}
log-filter-who = Who
log-filter-who-all = Everyone, including you
log-filter-who-others = Everyone except you
log-filter-kind = What happened
log-filter-kind-all = Everything
log-filter-kind-looked = Someone looked at something
log-filter-kind-changed = Someone added or changed something
log-filter-kind-sharing = Sharing started or stopped, and requests to see your record
log-filter-kind-refused = Someone was refused
log-filter-kind-emergency = Emergency access
log-filter-apply = Show entries
log-pages = Pages of your log
log-when = When
log-who = Who
log-what = What
log-why = Why
log-refused = Refused
log-who-unknown = Someone without an account
log-who-operator = CarePact's administrators
log-what-import-record = Added records to your health record from a file
log-what-read-item = Looked at "{ $title }" in your health record
log-what-read-item-unnamed = Looked at an item in your health record
log-what-read-attachment = Downloaded a document from "{ $title }"
log-what-read-attachment-unnamed = Downloaded a document from your health record
log-what-own-note = You added a note to "{ $title }"
log-what-own-note-unnamed = You added a note to an item in your health record
log-what-own-correction = You said "{ $title }" is wrong or missing
log-what-own-correction-unnamed = You said an item in your health record is wrong or missing
log-what-read-summary-of-record = Looked at the summary of your health record
log-what-read-timeline-of-record = Looked at the list of everything in your health record
log-what-read-export = Downloaded a copy of everything CarePact holds about you
log-what-own-access-query = You asked about an access you don't recognise
log-what-read-correction-request = Read your message about something wrong or missing
log-what-write-correction-request = Answered your message about something wrong or missing
log-what-read-access-query = Read your question about an access you don't recognise
log-what-write-access-query = Answered your question about an access you don't recognise
log-what-read-import-form = Opened the page for adding to your health record from a file
log-what-read = Looked at your { $section }
log-what-write = Changed your { $section }
log-what-grant = You started sharing your record
log-what-revoke = You stopped sharing your record
log-what-own-consents = You looked at who can see your record
log-what-own-audit-log = You looked at who has looked at your record
log-what-own-person-details = You looked at your details
log-what-own-person-details-changed = You changed your contact details
log-what-approve-request = You answered a request: you shared your record
log-what-decline-request = You answered a request: you declined
log-what-request-access = Asked to see your record
purpose-direct-care = Your care
purpose-person-access = Your own use
purpose-person-choice = Your choice
record-no-items = No health records have been imported for this person yet.

## Emergency access
nav-emergency = Emergency access to a record
nav-emergency-report = Emergency access by your staff
emergency-title = Emergency access to a record
emergency-warning-heading = Only in an emergency
emergency-warning = Use this only when someone needs care now and cannot give consent. You will see their record, read-only, for up to 24 hours. The person is told at once, sees your name and reason, and your organisation's privacy officer reviews every use.
label-emergency-reason = Reason
hint-emergency-reason = Say why you need the record now. The person will read this.
label-emergency-confirm = I understand that this is recorded, the person is told and my organisation reviews it
emergency-button = Open the record
error-emergency-reason = Enter the reason you need the record
error-emergency-reason-short = Give a fuller reason (at least 10 characters)
error-emergency-confirm = Confirm that you understand this is recorded and reviewed
error-emergency-not-found = We could not find a record with that NHS number
flash-emergency-open = Emergency access is open for up to 24 hours. The person has been told.
emergency-record-heading = Emergency access
emergency-record-body = You are seeing this record without the person's consent, under emergency access. It is recorded and reviewed.
emergency-log-heading = Your record was opened in an emergency
emergency-log-intro = A clinician opened your record without your consent because they said it was an emergency. If you do not think it was right, contact the organisation named below.
emergency-caption = Emergency access
emergency-from = From
emergency-until = Until
emergency-report-intro = Every time a member of your staff opened a record without consent in an emergency: who, when and why. Review each one.
emergency-report-none = No one has used emergency access.
log-what-break-glass = Opened your record in an emergency
purpose-emergency = Emergency
purpose-operations = Running CarePact
purpose-answer-person = Answering your request
email-break-glass-subject = Your CarePact record was opened in an emergency
email-break-glass-body =
    A clinician opened your CarePact record without your consent because they said it was an emergency.

    To see who opened it and why, sign in to CarePact:
    { $link }

    CarePact

## Requests for access
nav-access-requests = Ask to see a record
requests-intro = Ask a person to share their record with you. They decide. We tell them who you are and why you ask.
requests-sections = Which parts of their record?
label-request-reason = Why you are asking
hint-request-reason = The person will read this.
request-button = Send request
requests-caption = Your requests
requests-asked = Asked
requests-granted = Shared with you
requests-waiting = Waiting
flash-done-request-sent = Your request has been sent. If the person uses CarePact, they will be asked.
error-share-sections-ask = Select at least one part of the record
error-request-reason = Say why you are asking
requests-for-you = Requests to see your record
requests-wants = Asks to see: { $sections }.
request-approve = Share
request-decline = Decline
decline-whose = { $name }'s request
label-request-reason-theirs = Their reason
flash-done-request-approved = You are now sharing your record with them. You can stop at any time.
flash-done-request-declined = You have declined the request. They are not told that you declined.
email-access-request-subject = Someone has asked to see your CarePact record
email-access-request-body =
    A professional has asked to see part of your CarePact record. You decide whether to share.

    To answer, sign in to CarePact:
    { $link }

    CarePact

## The health record: summary, timeline and items

record-health-heading = Health record
record-summary-empty = There are no current problems, medicines, allergies or results in this record.
record-problems = Current problems
record-medicines = Current medicines
record-allergies = Allergies
record-results = Latest results
record-see-all = See everything in the record ({ $count } items)
record-timeline = Everything in the record
record-timeline-count = { $count ->
    [one] 1 item
   *[other] { $count } items
}
record-timeline-none = Nothing in the record matches these choices.
record-filter-kind = Show
record-filter-kind-label = Type of record
record-filter-all = All types
record-filter-from = From date
record-filter-to = To date
record-filter-date-hint = For example, 2024-03-31
record-filter-apply = Show records
record-pages = Pages of records
record-page-previous = Previous page
record-page-next = Next page
record-col-what = What
record-col-detail = Details
record-col-date = Date
record-col-kind = Type
record-date-unknown = No date
record-status = Status
record-sensitivity = Sensitivity
record-code = Code
record-supplied-by = Supplied by
record-added = Added to CarePact
record-attachment = Attached document
record-download = Download the document ({ $type })
record-related = Related records
record-notes = Your notes
record-notes-none = There are no notes on this record yet.
record-note-label = Add a note
record-note-hint = Only you and the people you share your record with can read your notes.
record-note-add = Add note
record-correction-heading = You said this is wrong or missing
record-correction-label = Is something wrong or missing?
record-correction-hint = Tell the organisation that supplied this record what is wrong or missing. They will reply here.
record-correction-send = Send to the organisation
record-technical = Technical details (FHIR { $type })
correction-status-open = Waiting for a reply
correction-status-answered = Answered
error-filter-date = Enter a date like 2024-03-31
error-filter-date-order = The "to" date must be the same as or after the "from" date
error-note-empty = Enter your note
error-note-long = Your note must be 2,000 characters or fewer
error-correction-empty = Say what is wrong or missing
error-correction-long = Your message must be 2,000 characters or fewer
flash-done-note-added = Your note has been added.
flash-done-correction-sent = Your message has been sent to the organisation that supplied this record.
flash-done-correction-recorded = Your message has been recorded. We do not know which organisation supplied this record, so please also tell your GP practice.
kind-patient = Personal details
kind-condition = Problem or diagnosis
kind-medication = Medicine
kind-allergy = Allergy
kind-result = Test result or measurement
kind-immunisation = Vaccination
kind-procedure = Procedure
kind-encounter = Appointment or visit
kind-report = Report
kind-document = Letter or document
kind-care-plan = Care plan
kind-goal = Goal
kind-other = Other record

## The person's copy of everything

export-title = Your copy of everything CarePact holds about you
export-intro = This is everything in your CarePact record: your details, your health record, your notes and requests, who you share with, and how often your record was looked at. You can print this page or save it.
export-download-fhir = Download it all as a file other health apps can read (FHIR, JSON)
export-your-details = Your details
export-corrections = Things you said were wrong or missing
export-none = None.
export-consent-active = sharing now
export-consent-stopped = sharing stopped
export-accesses = { $count ->
    [one] Your record has 1 entry in its log.
   *[other] Your record has { $count } entries in its log.
}
record-export-link = Get a copy of everything CarePact holds about you

## "I don't recognise this" and the organisation's work list

query-link = I don't recognise this
query-title = Tell us you don't recognise an access
query-intro = We will send your message to the organisation whose member of staff looked at your record. Their privacy officer will look into it and reply.
query-label = What don't you recognise?
query-hint = For example: I have never been seen by this person.
query-send = Send
error-query-empty = Tell us what you don't recognise
error-query-long = Your message must be 2,000 characters or fewer
flash-query-sent = Your message has been sent. The organisation will reply.
work-title = Requests from people
work-none = There are no requests waiting.
work-correction = Something in a record you supplied is wrong or missing
work-access-query = A person does not recognise an access to their record
work-about = About:
work-response-label = Your reply to the person
work-send = Send reply
flash-work-answered = Your reply has been sent.
flash-work-answer-empty = Write a reply of up to 2,000 characters before sending it.

## Adding to a record from a file

record-import-link-own = Add health records from a file
record-import-link-staff = Add health records from a file to this record
import-title = Add health records from a file
import-intro-own = If you have a copy of your health record from your GP practice, a hospital or another health app, you can add it here.
import-intro-staff = Add records your organisation holds about this person. They will be able to see everything you add, and to tell your organisation if something is wrong.
import-rule-formats = The file must be in the FHIR R4 standard: a Bundle, or NDJSON with one record on each line. Health apps and clinical systems can usually save a file like this.
import-rule-twice = Adding the same file again does not add anything twice.
import-rule-all-or-nothing = If anything in the file cannot be read, nothing from it is added, and we list what needs to be fixed.
import-rule-size = The file must be smaller than { $size } MB.
label-import-file = Upload a file
hint-import-file = A .json or .ndjson file
import-button = Add to record
import-back = Go back to the record
import-problems-caption = { $count ->
    [one] 1 problem in the file
   *[other] { $count } problems in the file
}
import-problems-more = { $count ->
    [one] There is 1 more problem that is not listed.
   *[other] There are { $count } more problems that are not listed.
}
import-col-where = Where in the file
import-col-problem = Problem
import-whole-file = The whole file
error-import-no-file = Select a file to upload
error-import-too-large = The file is too big to add here. Ask the CarePact service team to add it for you.
error-import-unreadable = The file did not arrive whole. Try uploading it again.
error-import-rejected = Nothing from the file has been added. Fix the problems listed below, then upload it again.
imported-title = The file has been added to the record
imported-added = New items
imported-updated = Items changed
imported-unchanged = Items already in the record
imported-nothing-new = Everything in this file was already in the record, so nothing has changed.
imported-back = Go back to the record

## Care and support plan

plan-link = Care and support plan
nav-my-plan = Your care and support plan
nav-my-messages = Your messages
plan-title = Care and support plan
plan-standing-none = Not started
plan-standing-not-agreed = Not yet agreed
plan-standing-agreed = Agreed
plan-standing-changed = Changed since it was agreed
plan-updated = Version { $version }, written on { $date } by { $name }.
plan-agreed-by = Version { $version } agreed by { $name } on { $date }.
plan-agree-button = Agree version { $version }
plan-versions-link = See every version and compare them
plan-print-link = Print the plan
plan-imported-link = Care plans and goals from your GP record and other systems (read only)
plan-prepare-link = Get ready for your review
plan-prepare-heading = What I want to talk about at my review
plan-change = Change
plan-not-written = Not written yet.
plan-no-goals = There are no goals yet.
plan-no-actions = There are no actions yet.
plan-no-network = No one has been added yet.
plan-goal-add = Add a goal
plan-action-add = Add an action
plan-network-add = Add someone to the support network
plan-action-for-goal = For the goal: { $goal }
plan-action-no-goal = Not for a particular goal
plan-col-who = Who
plan-review-none = No review date has been set.
plan-review-on = The plan will be reviewed on { $date }.
plan-review-overdue-heading = Review overdue
plan-review-overdue = The review was due on { $date }. Arrange a review with the care team.
plan-section-about = About me
plan-section-goals = My goals
plan-section-actions = Actions: who does what, by when
plan-section-network = My support network
plan-section-targets = My health and readings targets
plan-section-medicines = My medicines
plan-section-contingency = If things get worse
plan-section-review = Review
plan-field-about_me = About me
plan-field-what_matters = What matters to me
plan-field-goal = Goal
plan-field-steps = Steps
plan-field-target_date = Target date
plan-field-what = What
plan-field-owner = Who does it
plan-field-who = Name of the person or service
plan-field-by = By when
plan-field-status = Status
plan-field-goal_id = Which goal it is for
plan-field-name = Name
plan-field-relationship = Who they are to you
plan-field-contact = How to contact them
plan-field-targets = My health and readings targets
plan-field-medicines = My medicines
plan-field-signs = Signs that things are getting worse
plan-field-what_i_do = What I do
plan-field-who_to_call = Who to call
plan-field-out_of_hours = Out of hours
plan-field-review_date = Review date
plan-field-note = What has happened
plan-hint-about_me = What you would like the people supporting you to know about you.
plan-hint-what_matters = For example: seeing my grandchildren, getting back to my allotment.
plan-hint-goal = In your own words. For example: walk to the shops and back without stopping.
plan-hint-steps = Optional. Small steps towards the goal.
plan-hint-target_date = Optional. For example, 31 3 2027
plan-hint-what = For example: book a blood test, join the walking group.
plan-hint-owner = { "" }
plan-hint-who = Optional. For example: Dr Patel, Northfield Walking Group.
plan-hint-by = Optional. For example, 31 3 2027
plan-hint-status = { "" }
plan-hint-goal_id = { "" }
plan-hint-name = { "" }
plan-hint-relationship = For example: son, friend, walking group, Citizens Advice.
plan-hint-contact = Optional. A phone number or email address.
plan-hint-targets = For example: blood pressure below 135/85 at home.
plan-hint-medicines = How you take your medicines, and anything that helps or gets in the way.
plan-hint-signs = What tells you, or the people around you, that things are getting worse.
plan-hint-what_i_do = What you will do first.
plan-hint-who_to_call = Names and phone numbers.
plan-hint-out_of_hours = For example: call 111, or 999 in an emergency.
plan-hint-review_date = For example, 31 3 2027
plan-hint-note = For example: walked to the park twice this week.
plan-owner-person = Me
plan-owner-carer = My carer
plan-owner-professional = A professional
plan-owner-community_service = A community service
plan-status-not_started = Not started
plan-status-in_progress = In progress
plan-status-done = Done
plan-status-stopped = Stopped
plan-attainment-0 = Much less than expected (−2)
plan-attainment-1 = Less than expected (−1)
plan-attainment-2 = As expected (0)
plan-attainment-3 = More than expected (+1)
plan-attainment-4 = Much more than expected (+2)
plan-attainment-none = I would rather not say
plan-form-about = About me and what matters to me
plan-form-targets = My health and readings targets
plan-form-medicines = My medicines
plan-form-contingency = If things get worse
plan-form-review = Review date
plan-form-goals = Change a goal
plan-form-goals-new = Add a goal
plan-form-actions = Change an action
plan-form-actions-new = Add an action
plan-form-network = Change someone in the support network
plan-form-network-new = Add someone to the support network
plan-save = Save
plan-back = Go back to the plan
plan-remove-goals = Remove this goal
plan-remove-actions = Remove this action
plan-remove-network = Remove this person
plan-progress-title = Add progress on a goal
plan-progress-heading = Progress
plan-progress-add = Add progress
plan-progress-rating = How is it going compared with what was expected?
plan-progress-save = Save progress
plan-prepare-title = Get ready for your review
plan-prepare-intro = Write down what you want to talk about at your next review. The people reviewing your plan will see it beside the plan.
plan-prepare-intro-dated = Your review is on { $date }. Write down what you want to talk about. The people reviewing your plan will see it beside the plan.
plan-prepare-label = What I want to talk about
plan-prepare-hint = For example: my sleep has been poor since the new tablets.
plan-versions-title = Versions of the plan
plan-versions-back = Go back to the versions
plan-version-n = Version { $version }
plan-col-version = Version
plan-col-when = When
plan-col-by = Written by
plan-col-agreed = Agreed by
plan-col-part = Part of the plan
plan-compare-from = Compare
plan-compare-to = With
plan-compare-button = Compare versions
plan-compare-title = Compare versions of the plan
plan-compare-heading = Version { $from } compared with version { $to }
plan-compare-count = { $count ->
    [0] Nothing changed.
    [one] 1 part changed.
   *[other] { $count } parts changed.
}
plan-compare-changed = Changed
error-plan-long = This must be 4,000 characters or fewer
error-plan-empty = Write something here
error-plan-too_many = There can be no more than 50 of these
error-plan-date = Enter a real date, for example 31 3 2027
error-plan-changed = Someone else changed the plan while you were writing. Check your changes below, then save again.
error-plan-progress-empty = Write what has happened
error-plan-rating = Choose how it is going
error-plan-prepare-no-plan = There is no plan yet to prepare for
flash-done-plan-saved = Your change has been saved as a new version of the plan.
flash-done-plan-agreed = You have agreed this version. It is agreed when the other side agrees it too.
flash-done-plan-agreed-both = The plan is agreed by both of you.
flash-plan-changed-before-agree = The plan changed before you agreed it. Read the latest version, then agree it.
flash-done-plan-progress = Progress has been added to the goal.
flash-done-plan-prepared = What you want to talk about has been saved.

## Care team, messages and notifications

team-title = Care team
team-link = Care team
team-link-own = Your care team
team-none = There is no one in the care team yet.
team-named-contact = Named contact
team-proposed = Asked to join
team-accept = Accept
team-accept-scope = If you accept, they will be able to see and add to your health record, care plan and messages (general information only). You can change this on your sharing page.
team-decline = Decline
team-make-named = Make named contact
team-remove = Remove from the team
team-add-heading = Add a professional to your care team
team-email = Their email address
team-role = Their role in your care
team-role-own = Your role in this person's care
team-role-hint = For example: practice nurse, diabetes specialist nurse, social worker.
team-sections = What they can see
team-named-choice = Make them my named contact
team-add = Add to the team
team-propose-heading = Join this person's care team
team-propose = Ask to join
error-team-role = Enter their role, in 100 characters or fewer
flash-done-team-added = They have been added to the care team.
flash-done-team-named = Your named contact has been changed.
flash-done-team-ended = They are no longer in the care team, and no longer see your information through it.
flash-done-team-accepted = They have joined the care team.
flash-done-team-proposed = The person has been asked. They will decide.
messages-title = Messages
messages-inbox-title = Messages from people you look after
messages-inbox-none = No one has sent you a message yet.
messages-new = Send a new message
messages-none = There are no messages yet.
messages-no-team = You need someone in your care team to send a message to.
messages-col-subject = Subject
messages-col-with = Answered by
messages-col-latest = Latest
messages-unread = { $count ->
    [one] 1 new
   *[other] { $count } new
}
messages-unread-threads = { $count ->
    [one] 1 conversation with new messages
   *[other] { $count } conversations with new messages
}
messages-to = Who is it for?
messages-subject = Subject
messages-subject-hint = A few words, for example: my new tablets.
messages-body = Your message
messages-body-hint = Do not use messages in an emergency. Call 999, or 111 if you need help urgently.
messages-send = Send
messages-reply = Reply
messages-back = Go back to messages
messages-answered-by = Answered by { $name }.
messages-reply-within = Usually replies within { $days ->
    [one] 1 working day.
   *[other] { $days } working days.
}
messages-away = Away at the moment.
messages-away-cover = Away at the moment: { $cover } is covering.
messages-pass-label = Pass this conversation to a colleague
messages-pass = Pass to colleague
messages-passed-note = { $from } passed this conversation to { $to }.
error-message-to = Choose who the message is for
error-message-subject-empty = Enter a subject
error-message-subject-long = The subject must be 150 characters or fewer
error-message-body-empty = Write your message
error-message-body-long = Your message must be 5,000 characters or fewer
error-message-colleague = Choose a colleague in your organisation
flash-done-message-sent = Your message has been sent.
flash-done-message-passed = The conversation has been passed to your colleague.
notifications-title = Notifications
notifications-none = There is nothing new.
notifications-new = New
notifications-email-heading = Email
notifications-email-legend = Which of these do you want by email too?
notifications-email-hint = Emails only say that there is something new, with a link. They never include what the message says.
notification-message = You have a new message
notification-message-passed = A conversation has been passed to you
notification-plan-review = A care plan review is due
notification-kind-message = New messages
notification-kind-message-passed = Conversations passed to me
notification-kind-plan-review = Care plan reviews that are due
flash-done-notifications-saved = Your email choices have been saved.
email-new-message-subject = You have a new message in CarePact
email-new-message-body =
    You have a new message in CarePact.

    To read it, sign in to CarePact:
    { $link }

    CarePact
email-message-passed-subject = A CarePact conversation has been passed to you
email-message-passed-body =
    A colleague has passed you a conversation in CarePact.

    To read it, sign in to CarePact:
    { $link }

    CarePact
availability-heading = When people can expect a reply
availability-intro = People who have you as their named contact see this when they write to you.
availability-reply = I usually reply within
availability-days = { $days ->
    [one] 1 working day
   *[other] { $days } working days
}
availability-away = I am away at the moment
availability-cover = Who covers for me when I am away
availability-cover-none = No one
flash-done-availability-saved = Your availability has been saved.
email-plan-review-subject = A CarePact care plan review is due
email-plan-review-body =
    A care and support plan in CarePact is due for review.

    To see it, sign in to CarePact:
    { $link }

    CarePact

## Readings and alerts
nav-my-readings = Your readings
readings-link = Readings
readings-title = Readings
readings-add = Add a reading
readings-add-one = Add a reading
readings-upload-link = Add readings from a file (CSV)
readings-latest = Latest readings
readings-none-own = You have not added any readings yet.
readings-none = No readings have been added yet.
readings-col-measure = Measure
readings-col-value = Reading
readings-col-when = Taken
readings-col-source = Added by
readings-back = Back to readings
readings-windows = How far back to show
readings-window = { $days ->
    [365] Last year
   *[other] Last { $days } days
}
readings-target = Agreed target:
readings-table-caption = Readings in the last { $days } days, newest first
readings-table-more = Only the newest 100 readings are listed. The chart shows them all.
readings-none-in-window = There are no readings in this period.
readings-count = { $count ->
    [one] 1 entry in this period.
   *[other] { $count } entries in this period.
}
readings-summary = { $count ->
    [one] 1 reading in this period: { $latest } on { $when }.
   *[other] { $count } readings in this period. The latest was { $latest } on { $when }.
}
readings-range = The highest was { $high } and the lowest { $low }.
reading-new-title = Add a reading: { $what }
reading-value-in = Reading ({ $unit })
reading-component-systolic = Systolic (the higher number, mmHg)
reading-component-diastolic = Diastolic (the lower number, mmHg)
reading-component-pulse = Pulse (beats a minute)
reading-component-value = Reading
reading-optional = Optional
reading-pulse = pulse { $pulse }
reading-unit = Which unit is your reading in?
reading-unit-hint = Your meter or scales will say.
reading-unit-standard = The usual unit
reading-unit-mg-dl = mg/dL
reading-unit-st-lb = Stones and pounds
reading-stones-summary = Weigh yourself in stones and pounds?
reading-stones-hint = Choose "Stones and pounds" above, then enter your weight here. CarePact changes it to kilograms.
reading-stones = Stones
reading-pounds = Pounds
reading-symptoms = What are your symptoms?
reading-symptoms-hint = Say what you notice in your own words, for example when it started and what makes it better or worse.
reading-note = Note
reading-note-hint = Optional. Anything that helps explain the reading, for example "after a walk".
reading-when-summary = Taken earlier?
reading-when-date = Date taken
reading-when-date-hint = For example, 15 3 2026. Leave empty if you took it just now.
reading-when-time = Time taken (24-hour clock, UTC)
reading-when-time-hint = For example, 08:30
reading-save = Save reading
reading-error-missing = Enter the reading
reading-error-number = Enter the reading as a number, like 7.8
reading-error-range = Enter a reading between { $min } and { $max } { $unit }
reading-error-bp-order = The lower number (diastolic) must be less than the higher number (systolic)
reading-error-symptoms = Say what your symptoms are
reading-error-too-long = Keep the note under 2,000 characters
reading-error-date = Enter a real date, like 15 3 2026
reading-error-time = Enter the time like 08:30
reading-error-future = The date and time cannot be in the future
reading-error-too-old = The date must be within the last 10 years
reading-source-person = The person
reading-source-carer = A carer
reading-source-professional = A professional
reading-source-device = A device or app
reading-source-file = A file
reading-source-derived = Worked out by CarePact
flash-done-reading-saved = Your reading has been saved.
flash-reading-duplicate = There is already a reading at that date and time, so nothing was added.
measure-blood-pressure = Blood pressure
measure-heart-rate = Heart rate
measure-blood-glucose = Blood glucose
measure-hba1c = HbA1c (long-term blood sugar)
measure-weight = Weight
measure-height = Height
measure-bmi = Body mass index (BMI)
measure-peak-flow = Peak flow
measure-oxygen-saturation = Oxygen level (saturation)
measure-temperature = Temperature
measure-steps = Steps
measure-sleep = Sleep
measure-pain = Pain (0 to 10)
measure-mood = Mood (0 to 10)
measure-breathlessness = Breathlessness (mMRC grade 0 to 4)
measure-symptoms = Symptoms
target-between = { $what } between { $low } and { $high } { $unit }
target-below = { $what } below { $high } { $unit }
target-above = { $what } above { $low } { $unit }
chart-target = Agreed target
chart-threshold-above = Alert above { $value }
chart-threshold-below = Alert below { $value }
month-short-1 = Jan
month-short-2 = Feb
month-short-3 = Mar
month-short-4 = Apr
month-short-5 = May
month-short-6 = Jun
month-short-7 = Jul
month-short-8 = Aug
month-short-9 = Sep
month-short-10 = Oct
month-short-11 = Nov
month-short-12 = Dec
alert-title = Alert
alert-heading = Alert: { $what }
alert-urgent = Urgent
alert-non-urgent = Not urgent
alert-advice-heading-own = What to do now (as agreed in your plan)
alert-advice-heading = The advice agreed in the plan
alert-advice-questionnaire = An answer in a questionnaire needs a response from the care team today.
alert-contingency-link = See what to do if things get worse (your contingency plan)
alert-see = See the alert
alert-raised = Raised
alert-status = Status
alert-with = With
alert-status-open = Open
alert-status-snoozed = Snoozed until { $until }
alert-status-acknowledged = Acknowledged
alert-level-person = The person
alert-level-carer = Their carer
alert-level-named-contact = Their named contact
alert-level-team = Their care team
alert-readings = The readings that caused it
alert-response-link = See the questionnaire answers
alert-acknowledge = Acknowledge
alert-acknowledge-hint = Acknowledge it once you have done what the advice says.
alert-acknowledge-hint-staff = Acknowledge it once you have acted on it. It then leaves the open list and stops being passed on.
alert-snooze-for = Snooze for
alert-snooze-1 = 1 hour
alert-snooze-4 = 4 hours
alert-snooze-24 = 1 day
alert-snooze-72 = 3 days
alert-snooze = Snooze
alert-history = What has happened
alert-event-raised = Raised, for { $level }
alert-event-escalated = Nobody acknowledged it in time, so it was passed to { $level }
alert-event-snoozed = Snoozed
alert-event-snoozed-by = Snoozed by { $name }
alert-event-acknowledged = Acknowledged
alert-event-acknowledged-by = Acknowledged by { $name }
alert-event-reading-added = Another reading crossed the threshold
alert-event-reading-added-by = Another reading crossed the threshold (added by { $name })
alerts-title = Alerts to act on
alerts-intro = Alerts from the people whose named contact you are, or whose care team you are in, that nobody has acknowledged yet. Urgent ones come first.
alerts-none = There are no open alerts.
alerts-past = Earlier alerts
alerts-back = Back to alerts
alerts-col-person = Person
alerts-col-what = What
alerts-col-raised = Raised
alerts-col-with = With
flash-done-alert-acknowledged = The alert has been acknowledged.
flash-done-alert-snoozed = The alert has been snoozed.
flash-alert-not-open = That alert was already acknowledged.
notification-alert = A reading or answer needs attention
notification-kind-alert = Alerts about readings and answers
notification-questionnaire = A questionnaire is ready for you to fill in
notification-kind-questionnaire = Questionnaires to fill in
email-alert-subject = A CarePact alert needs attention
email-alert-body =
    There is an alert in CarePact that needs attention.

    To see it, sign in to CarePact:
    { $link }

    CarePact
rule-error-component = Choose which number the rule watches
rule-error-threshold = Enter a threshold within the measure's possible range
rule-error-times = Enter how many readings, from 1 to 10
rule-error-within = Enter how many days, from 1 to 90
rule-error-advice = Write the advice the person will see
plan-ranges-heading = Target ranges for readings
plan-no-ranges = No target ranges have been agreed.
plan-ranges-add = Add a target range
plan-rules-heading = When to raise an alert
plan-no-rules = No alert rules have been agreed.
plan-rules-add = Add an alert rule
plan-rule-this = this alert rule
plan-form-ranges = Change a target range
plan-form-ranges-new = Add a target range
plan-form-rules = Change an alert rule
plan-form-rules-new = Add an alert rule
plan-remove-ranges = Remove this target range
plan-remove-rules = Remove this alert rule
plan-field-component = Which reading
plan-hint-component = For blood pressure, choose the higher (systolic) or lower (diastolic) number.
plan-field-low = Lowest in range
plan-hint-low = Leave empty if there is no lower limit.
plan-field-high = Highest in range
plan-hint-high = Leave empty if there is no upper limit.
plan-field-comparison = When a reading is
plan-hint-comparison = { "" }
plan-rule-above = Above the threshold
plan-rule-below = Below the threshold
plan-field-threshold = Threshold
plan-hint-threshold = In the reading's usual unit, for example 160 for blood pressure or 92 for oxygen.
plan-field-times = How many readings
plan-hint-times = 1 raises an alert on any reading across the threshold; 2 needs two readings within the number of days below.
plan-field-within_days = Within how many days
plan-hint-within_days = Only counts when more than one reading is needed. From 1 to 90.
plan-field-tell = Who to tell first
plan-hint-tell = If they do not acknowledge the alert in time, it is passed on: the person, then their carer, then their named contact, then their care team.
plan-rule-tell-person = The person themselves
plan-rule-tell-carer = Their carer
plan-rule-tell-named-contact = Their named contact
plan-rule-tell-team = Their care team
plan-field-urgent = How urgent
plan-hint-urgent = Urgent alerts point the person to their plan for when things get worse, and come first in the care team's list.
plan-rule-urgent-no = Not urgent
plan-rule-urgent-yes = Urgent: follow the plan for when things get worse now
plan-field-advice = Advice the person sees at once
plan-hint-advice = In plain words, what to do now. The person sees this as soon as they save the reading.
plan-field-escalate_after_hours = Pass it on if not acknowledged within (hours)
plan-hint-escalate_after_hours = 0 means it is never passed on. At most 336 hours (2 weeks).
plan-field-target = Target range
plan-field-rule = Alert rule
error-plan-number = Enter a number, like 7.5
error-plan-whole-number = Enter a whole number, like 2
error-plan-range-empty = Enter the lowest, the highest, or both
error-plan-range-order = The highest must be more than the lowest
error-plan-threshold-empty = Enter the threshold
error-plan-escalate = Enter at most 336 hours
rule-words-above = If { $what } is above { $value } { $unit } { $times ->
    [one] on any reading,
   *[other] on { $times } readings within { $days } days,
}
rule-words-below = If { $what } is below { $value } { $unit } { $times ->
    [one] on any reading,
   *[other] on { $times } readings within { $days } days,
}
rule-words-tell-person = the person is shown the advice.
rule-words-tell-carer = their carer is told.
rule-words-tell-named-contact = their named contact is told.
rule-words-tell-team = their care team is told.
rule-words-urgent = Urgent.
rule-words-escalate = Passed on if not acknowledged within { $hours } hours.
rule-words-advice = Advice: “{ $advice }”

## Questionnaires
nav-my-questionnaires = Your questionnaires
questionnaires-link = Questionnaires
questionnaires-title = Questionnaires
questionnaires-intro-own = Short questionnaires help you and your care team see how you are, and how things change over time. Your answers are part of your record, shared only as you choose.
questionnaires-intro = Questionnaires the person has filled in, and those they have been asked to fill in.
questionnaires-due-heading = Asked to fill in
questionnaires-due-none = Nothing has been asked for at the moment.
questionnaires-due-now = due now
questionnaires-due-on = due on { $date }
questionnaires-once = Once only.
questionnaires-every = { $days ->
    [7] Every week.
   *[other] Every { $days } days.
}
questionnaires-asked-by = Asked by { $name }.
questionnaires-end = Stop asking
questionnaires-fill-heading = Fill in a questionnaire
questionnaires-assign-heading = Ask them to fill in a questionnaire
questionnaires-assign-which = Which questionnaire
questionnaires-assign-choose = Choose a questionnaire
questionnaires-assign-every = Repeat every how many weeks
questionnaires-assign-every-hint = Leave empty to ask once. For example, 4 asks again 4 weeks after each answer. They get a reminder when it is due.
questionnaires-assign = Ask them
questionnaires-results-heading = Results over time
questionnaires-results-none = No questionnaires have been filled in yet.
questionnaires-results-caption = Questionnaires filled in, newest first
questionnaires-col-when = Filled in
questionnaires-col-what = Questionnaire
questionnaires-col-score = Score
questionnaires-chart-summary = { $count ->
    [one] 1 answer in the last year, on { $when }: { $latest }.
   *[other] { $count } answers in the last year. The latest, on { $when }: { $latest }.
}
questionnaires-chart-none = No scores in the last year.
questionnaires-back = Back to questionnaires
questionnaire-conditional = Answer this only if it applies to you.
questionnaire-optional = Optional.
questionnaire-yes = Yes
questionnaire-no = No
questionnaire-submit = Send answers
questionnaire-result-title = Questionnaire answers
questionnaire-your-score = Your score
questionnaire-score = Score
questionnaire-answers = Answers
questionnaire-entered-by = Filled in by { $name }.
questionnaire-needs-response = Needs a response
questionnaire-score-part = { $part }: { $value } out of { $max }
questionnaire-part-total = Total
questionnaire-part-mean = Average
questionnaire-part-top-score = Top score
questionnaire-part-life-satisfaction = Life satisfaction
questionnaire-part-worthwhile = Things you do are worthwhile
questionnaire-part-happiness = Happiness yesterday
questionnaire-part-anxiety = Anxiety yesterday
questionnaire-name-phq-9 = Mood (PHQ-9)
questionnaire-name-gad-7 = Anxiety (GAD-7)
questionnaire-name-ons4 = Personal wellbeing (ONS4)
questionnaire-name-collaborate = Being involved in decisions (CollaboRATE)
questionnaire-name-semcd-6 = Confidence managing your health (SEMCD-6)
questionnaire-explain-phq-9 = PHQ-9 asks about low mood over the last 2 weeks. Scores go from 0 to 27: below 5 usually means little or no depression, 5 to 9 mild, 10 to 14 moderate, 15 to 19 moderately severe and 20 or more severe. A score is a starting point for a conversation with your care team, not a diagnosis.
questionnaire-explain-gad-7 = GAD-7 asks about worry and anxiety over the last 2 weeks. Scores go from 0 to 21: below 5 usually means little anxiety, 5 to 9 mild, 10 to 14 moderate and 15 or more severe. Talk to your care team about what would help.
questionnaire-explain-ons4 = The four wellbeing questions are looked at one by one, never added up. For the first three, higher is better; for anxiety, lower is better.
questionnaire-explain-collaborate = CollaboRATE asks how much effort was made to involve you in decisions at your last appointment. A top score means every answer was 9 out of 9.
questionnaire-explain-semcd-6 = This is the average of how confident you feel about six parts of managing your health, from 1 (not at all confident) to 10 (totally confident). Higher means more confident.
band-phq9-none-or-minimal = none or minimal
band-phq9-mild = mild
band-phq9-moderate = moderate
band-phq9-moderately-severe = moderately severe
band-phq9-severe = severe
band-gad7-minimal = minimal
band-gad7-mild = mild
band-gad7-moderate = moderate
band-gad7-severe = severe
band-ons4-low = low
band-ons4-medium = medium
band-ons4-high = high
band-ons4-very-high = very high
band-ons4-anxiety-very-low = very low
band-ons4-anxiety-low = low
band-ons4-anxiety-medium = medium
band-ons4-anxiety-high = high
band-collaborate-top-score = a top score
band-collaborate-not-top-score = not a top score
questionnaire-safety-heading-own = You said you have had thoughts of hurting yourself
questionnaire-safety-heading = Thoughts of self-harm were reported
questionnaire-safety-1 = Thank you for telling us. You do not have to cope with these thoughts on your own. If you feel you might act on them, get help now:
questionnaire-safety-999 = Call 999 or go to A&E if you are in danger or have harmed yourself.
questionnaire-safety-111 = Call 111 and choose the mental health option, any time of day or night.
questionnaire-safety-samaritans = Call Samaritans free on 116 123, any time, to talk to someone.
questionnaire-safety-told = Your named contact has been told and will get in touch today.
questionnaire-safety-staff = The person answered the question about thoughts of self-harm with more than "Not at all". An urgent alert has gone to their named contact. Contact them today.
questionnaire-error-required = Answer this question
questionnaire-error-number = Enter a number
questionnaire-error-too-low = The answer must be { $limit } or more
questionnaire-error-too-high = The answer must be { $limit } or less
questionnaire-error-option = Choose one of the answers
error-questionnaire-choose = Choose a questionnaire
error-questionnaire-every = Enter a number of weeks from 1 to 52, or leave it empty
error-questionnaire-json = Paste the questionnaire as FHIR R4 JSON: this is not JSON
error-questionnaire-invalid = This questionnaire cannot be used: see the problems listed
error-questionnaire-builtin = That address belongs to one of CarePact's own questionnaires: give yours its own URL
error-questionnaire-exists = A questionnaire with that URL and version is already loaded: give it a new version
flash-done-questionnaire-saved = Your answers have been saved.
flash-done-questionnaire-assigned = They have been asked to fill it in.
flash-done-questionnaire-ended = They will not be asked again.
flash-done-questionnaire-loaded = The questionnaire has been loaded.
org-questionnaires-title = Your organisation's questionnaires
org-questionnaires-intro = Load questionnaires your organisation uses, as FHIR R4 Questionnaire JSON. Your staff can then ask people to fill them in. CarePact's own questionnaires (PHQ-9, GAD-7, ONS4, CollaboRATE, SEMCD-6) are always there.
org-questionnaires-none = Your organisation has not loaded any questionnaires.
org-questionnaires-col-title = Title
org-questionnaires-col-url = URL
org-questionnaires-col-version = Version
org-questionnaires-load = Load a questionnaire
org-questionnaires-problems = Problems with the questionnaire
org-questionnaires-col-where = Where
org-questionnaires-col-problem = Problem
org-questionnaires-json = Questionnaire (FHIR R4 JSON)
org-questionnaires-json-hint = Paste the whole Questionnaire resource. Items can be display, choice, integer, decimal, string, text or boolean, with required and simple enableWhen conditions. Licensed questionnaires need your organisation's licence.
org-questionnaires-submit = Load questionnaire
email-questionnaire-subject = A CarePact questionnaire is ready for you
email-questionnaire-body =
    You have been asked to fill in a questionnaire in CarePact.

    To fill it in, sign in to CarePact:
    { $link }

    CarePact

## The person's copy of everything: readings and questionnaires

export-readings = { $count ->
    [0] You have no readings.
    [one] You have 1 reading. It is in the file as a FHIR Observation.
   *[other] You have { $count } readings. They are in the file as FHIR Observations.
}
export-questionnaires = Questionnaires you answered
export-responses = { $count ->
    [0] You have not answered any questionnaires.
    [one] You answered 1 questionnaire. It is in the file as a FHIR QuestionnaireResponse.
   *[other] You answered { $count } questionnaires. They are in the file as FHIR QuestionnaireResponses.
}

## Readings from a CSV file

readings-upload-title = Add readings from a file
readings-upload-intro = You can add many readings at once from a CSV file, for example one saved from a spreadsheet, or exported from the app of a blood pressure monitor, glucose meter or scales.
readings-upload-rule-csv = The file must be a CSV file saved as UTF-8 (in a spreadsheet, choose "Save as" and "CSV UTF-8"). Its first row must name the columns.
readings-upload-rule-one-measure = Each row is one reading of the same measure, with the date and time it was taken.
readings-upload-rule-twice = Readings already in CarePact (the same measure at the same date and time) are skipped, so adding the same file twice does not add anything twice.
readings-upload-rule-problems = Rows that cannot be read are listed with their line number, and every other row is still added.
readings-upload-rule-size = The file must be smaller than { $size } MB, with at most { $rows } rows.
readings-upload-example-summary = See an example file
readings-upload-example-intro = A file of blood pressure readings could look like this:
readings-upload-example-dates = Dates and times can be written like this:
readings-upload-example-utc = (read as UTC)
readings-upload-example-midnight = (a date alone is read as midnight UTC)
readings-upload-example-day-first = (day first, read as UTC)
readings-upload-measure = What do the readings in the file measure?
readings-upload-measure-hint = One file holds readings of one measure.
readings-upload-measure-choose = Choose a measure
readings-upload-unit = What unit are the readings in?
readings-upload-unit-hint = Your meter, scales or app will say. CarePact changes other units to the usual one.
readings-upload-unit-standard = The usual unit (for example mmol/L for blood glucose, kg for weight, mmHg for blood pressure)
readings-upload-unit-mg-dl = mg/dL (blood glucose only)
readings-upload-unit-lb = Pounds, lb (weight only)
readings-upload-columns = Which columns hold what
readings-upload-columns-hint = Type each column's name as it is written in the first row of the file. Capital letters and spaces at either end do not matter.
readings-upload-bp-columns = Blood pressure only
readings-upload-col-date = Date and time column
readings-upload-col-date-hint = For example 2026-03-15 08:30 or 15/03/2026 08:30. Times without a time zone are read as UTC.
readings-upload-col-value = Reading column
readings-upload-col-value-hint = For every measure except blood pressure.
readings-upload-col-systolic = Systolic column (the higher number)
readings-upload-col-diastolic = Diastolic column (the lower number)
readings-upload-col-bp-hint = For blood pressure.
readings-upload-col-pulse = Pulse column
readings-upload-col-pulse-hint = Optional. If the file has no column with this name, pulse is left out.
readings-upload-col-note = Note column
readings-upload-col-note-hint = Optional. If the file has no column with this name, the readings are added without notes.
readings-upload-file = Upload a CSV file
readings-upload-file-hint = A .csv file
readings-upload-button = Add readings
readings-upload-error-measure = Choose what the readings in the file measure
readings-upload-error-unit = Choose the unit the readings are in
readings-upload-error-unit-measure = Choose a unit that fits the measure: mg/dL is for blood glucose and pounds are for weight
readings-upload-error-col-date = Enter the name of the column that holds the date and time
readings-upload-error-col-value = Enter the name of the column that holds the readings
readings-upload-error-col-systolic = Enter the name of the column that holds the systolic (higher) number
readings-upload-error-col-diastolic = Enter the name of the column that holds the diastolic (lower) number
readings-upload-error-no-file = Select a CSV file to upload
readings-upload-error-too-large = The file is too big. Split it into smaller files and add them one at a time.
readings-upload-error-unreadable = The file did not arrive whole. Try uploading it again.
readings-upload-error-empty = The file is empty
readings-upload-error-not-csv = This is not a CSV file. In your spreadsheet, choose "Save as" and "CSV UTF-8", then upload that file.
readings-upload-error-no-rows = The file has a first row naming its columns, but no readings under it
readings-upload-error-column = The file has no column called "{ $column }". Its columns are: { $found }
readings-upload-error-column-none = The file has no column called "{ $column }"
readings-upload-problem-utf8 = The row has characters that are not UTF-8 text. Save the file as "CSV UTF-8".
readings-upload-problem-too-long = The row is too long to be a reading.
readings-upload-problem-quote = A quoted value is not closed: add the missing quote mark (").
readings-upload-problem-extra = The row has more values than the first row has columns. A value may have a comma in it without quote marks around it.
readings-upload-problem-date-missing = There is no date in the "{ $column }" column.
readings-upload-problem-date = The date and time "{ $text }" cannot be read. Write it like 2026-03-15 08:30.
readings-upload-problem-future = The date and time is in the future.
readings-upload-problem-too-old = The date is more than 10 years ago.
readings-upload-problem-missing = There is no reading in the "{ $column }" column.
readings-upload-problem-number = "{ $text }" in the "{ $column }" column is not a number.
readings-upload-problem-range = { $text } in the "{ $column }" column is not between { $min } and { $max } { $unit }.
readings-upload-problem-bp-order = The lower number (diastolic) must be less than the higher number (systolic).
readings-upload-problem-note = The note is longer than 2,000 characters.
readings-upload-problem-clash = Line { $line } has a different reading at the same date and time.
readings-uploaded-title = Your file has been read
readings-uploaded-alert = A reading in this file matches an alert agreed in the care plan.
readings-uploaded-total = Rows of readings in the file
readings-uploaded-added = Readings added
readings-uploaded-already = Already in CarePact, so skipped
readings-uploaded-repeated = Repeated in the file, so skipped
readings-uploaded-not-taken = Not added because of a problem
readings-uploaded-nothing-new = No new readings were added.
readings-uploaded-header-line = The first row naming the columns is on line { $line }. The lines above it were left out.
readings-uploaded-absent-pulse = The file has no column called "{ $column }", so no pulse readings were added.
readings-uploaded-absent-note = The file has no column called "{ $column }", so no notes were added.
readings-uploaded-beyond-heading = Only part of the file was read
readings-uploaded-beyond = { $count ->
    [one] The last row was not added, because one file can hold at most 50,000 rows. Put it in a new file and add that.
   *[other] The last { $count } rows were not added, because one file can hold at most 50,000 rows. Put them in a new file and add that.
}
readings-uploaded-problems-caption = Rows not added
readings-uploaded-col-line = Line
readings-uploaded-col-problem = Problem
readings-uploaded-problems-more = { $count ->
    [one] There is 1 more row with a problem that is not listed.
   *[other] There are { $count } more rows with problems that are not listed.
}
readings-uploaded-fix = To add these rows, fix them in the file and upload it again. The readings already added are skipped.
readings-uploaded-see = See your { $what } readings
readings-uploaded-another = Add another file
readings-uploaded-see-theirs = See their { $what } readings

## Apps connected to a person's record (SMART on FHIR)
nav-apps = Apps connected to your record
nav-admin-apps = Apps that can connect to CarePact
apps-title = Apps connected to your record
apps-intro = These apps can reach your information in CarePact because you allowed them. Disconnect an app to stop it at once.
apps-none = No apps are connected to your record.
apps-none-how = To connect an app, start from the app. It will send you to CarePact to sign in and show you what it wants to see.
apps-connected = Connected
apps-last-used = Last used
apps-never-used = Not used yet
apps-what = What it can do
apps-how-long = For how long
apps-until-disconnect = Until you disconnect it. If it is not used for 90 days, it is disconnected.
apps-one-hour = For 1 hour at a time. After that it must ask you again.
apps-can-see = It can see:
apps-can-change = It can add, change or delete:
apps-nothing = Nothing in your record. It can only check who you are.
apps-disconnect = Disconnect
apps-type-patient = your name, date of birth, NHS number and contact details
apps-type-condition = your health problems
apps-type-medication-statement = your medicines
apps-type-allergy-intolerance = your allergies
apps-type-immunization = your vaccinations
apps-type-procedure = your operations and procedures
apps-type-diagnostic-report = your test results
apps-type-document-reference = your letters and documents
apps-type-consent = who you share your record with
apps-type-audit-event = who has looked at your record
apps-type-care-plan = your care and support plan
apps-type-goal = the goals in your plan
apps-type-care-team = who is in your care team
apps-type-observation = your readings, such as blood pressure and weight
apps-type-questionnaire = the questionnaires you are asked to fill in
apps-type-questionnaire-response = your answers to questionnaires
apps-type-communication = your messages with your care team
apps-authorize-title = Connect { $app } to your record?
apps-authorize-intro = { $app } is asking to reach your information in CarePact. Check what it wants before you choose.
apps-authorize-what = What it wants
apps-authorize-offline = Until you disconnect it. You can disconnect it at any time from "Apps connected to your record" on your home page. If it is not used for 90 days, it is disconnected.
apps-authorize-online = For 1 hour. After that it must ask you again.
apps-authorize-trust = Only connect apps you trust. Once an app has your information, what it does with it is covered by the app's own privacy policy, not by CarePact.
apps-authorize-return = After you choose, you will go back to the app at { $address }.
apps-authorize-logged = Connecting and disconnecting apps is shown in "Who has looked at your record".
apps-authorize-allow = Allow
apps-authorize-deny = Do not allow
error-smart-unknown-app = The app that sent you here is not registered with CarePact, or has been switched off. Go back to the app, or contact the people who make it.
error-smart-redirect = The app that sent you here asked to send you back to an address that is not registered with CarePact, so you have not been sent there. Contact the people who make the app.
error-smart-person-only = Only a person, or a carer they share with, can connect an app to their record. Sign in with your own account.
admin-apps-intro = Apps registered here can ask people to connect them to their record. People choose whether to allow each app, and can disconnect it at any time.
admin-apps-none = No apps are registered yet.
admin-apps-caption = Registered apps
admin-apps-col-name = App
admin-apps-col-client-id = Client ID
admin-apps-col-kind = Type
admin-apps-col-redirects = Return addresses
admin-apps-col-scopes = Scopes it may ask for
admin-apps-col-status = Status
admin-apps-active = Active
admin-apps-disabled = Switched off
admin-apps-disable = Switch off
admin-apps-enable = Switch on
admin-apps-kind-public = Public
admin-apps-kind-confidential = Confidential
admin-apps-new-heading = Register an app
admin-apps-register = Register app
admin-apps-registered-title = { $app } is registered
admin-apps-registered-secret-warning = Copy the client secret now and keep it safe. It will not be shown again.
admin-apps-registered-public = This is a public app, so it has no secret. It must use PKCE (S256).
admin-apps-registered-config = Give the app's makers the client ID and this address, where apps find everything else they need: { $url }
admin-apps-back = Back to apps
label-app-name = Name of the app
hint-app-name = People see this name when the app asks to connect to their record.
label-app-redirects = Return addresses
hint-app-redirects = The exact addresses the app may send people back to, one on each line. Use https, or http only for localhost while testing. Apps on phones can use their own address, such as com.example.app:/callback.
label-app-kind = Type of app
label-app-kind-public = Public: an app on a phone or in a browser, which cannot keep a secret
label-app-kind-confidential = Confidential: an app with its own server, which keeps a secret
label-app-scopes = Scopes it may ask for
hint-app-scopes = Separated by spaces, for example launch/patient offline_access patient/Observation.rs. Only launch/patient, offline_access, openid, fhirUser and patient/ scopes can be registered.
label-app-client-id = Client ID
label-app-client-secret = Client secret
error-app-name-empty = Enter the name of the app
error-app-redirect-empty = Enter at least one return address
error-app-redirect-invalid = Enter each return address in full, starting https:// (or http://localhost while testing), with no spaces and nothing after a #
error-app-redirect-too-many = Enter no more than 10 return addresses
error-app-kind = Select the type of app
error-app-scopes = Enter only scopes CarePact understands, separated by spaces: launch/patient, offline_access, openid, fhirUser, and patient/ scopes such as patient/Observation.rs
error-app-scopes-none = Enter at least one patient/ scope, such as patient/Observation.rs
flash-done-app-disconnected = The app has been disconnected. It can no longer reach your information.
flash-done-app-disabled = The app has been switched off. Its tokens no longer work.
flash-done-app-enabled = The app has been switched on.
log-what-app-connected = You connected the app "{ $title }" to your record
log-what-app-connected-unnamed = You connected an app to your record
log-what-app-disconnected = You disconnected the app "{ $title }"
log-what-app-disconnected-unnamed = You disconnected an app from your record
log-who-through-app = { $name }, through the app “{ $app }”
log-who-through-token = { $name }, through a connected system (an API token)

## Personal API tokens (/account/tokens and /admin/tokens)
tokens-title = Your API tokens
tokens-intro = An API token lets a script or another computer system use CarePact's FHIR API as you. It can reach only what you can see on these pages: people's choices about sharing apply to it in the same way.
tokens-how-made = Tokens are made by the people who run CarePact, with the command carepact token create. Ask them if you need one. A token is shown only once, when it is made, and never on these pages.
tokens-none = You have no API tokens.
tokens-admin-title = API tokens of your staff
tokens-admin-intro = These tokens let scripts and other computer systems use CarePact's FHIR API as a member of your staff. Each token reaches only what that person can see.
tokens-admin-none = Nobody in your organisation has an API token.
tokens-revoke-intro = Revoke a token if it is no longer needed, or if someone else may have it. It stops working at once.
tokens-whose = Whose token
tokens-created = Made
tokens-expires = Works until
tokens-last-used = Last used
tokens-never-used = Not used yet
tokens-status-active = Active
tokens-status-expired = Expired
tokens-status-revoked = Revoked
tokens-revoke = Revoke
flash-done-token-revoked = The token has been revoked. It no longer works.

## Apps connected by a carer, for someone who shares their record with them (SMART on FHIR)
nav-apps-carer = Apps you have connected for others
apps-authorize-title-other = Connect { $app } to { $name }'s record?
apps-authorize-title-choose = Connect { $app } to a record?
apps-authorize-intro-other = { $app } is asking to reach { $name }'s information in CarePact. { $name } shares their record with you as their carer, so you can connect it for them. Check what it wants before you choose.
apps-authorize-intro-choose = { $app } is asking to reach information in CarePact. Choose whose record it should use, and check what it wants before you choose.
apps-authorize-whose = Whose record should the app use?
apps-authorize-whose-own = Your own record
apps-authorize-offline-other = Until you disconnect it. You can disconnect it at any time from the list of connected apps on your home page. If it is not used for 90 days, it is disconnected.
apps-authorize-logged-other = Connecting and disconnecting apps is shown in "Who has looked at your record". When you connect an app for someone you care for, it is shown in their list, with your name.
apps-authorize-carer-limits = For someone you care for, the app can only reach what they share with you, and only while they share it. They can see that you connected it, and can disconnect it.
apps-authorize-identity = The app will also be told which CarePact account allowed it, so that it can recognise you next time.
error-smart-choose-person = Select whose record the app should use
apps-connected-by = Connected by { $name }
apps-for = Whose record
apps-for-unnamed = Someone who no longer shares with you what this app can reach
apps-carer-title = Apps you have connected for others
apps-carer-intro = You connected these apps to the records of people you care for. They can only reach what each person shares with you. Disconnect an app to stop it at once.
apps-carer-none = You have not connected any apps to the records of people you care for.
flash-done-app-disconnected-carer = The app has been disconnected. It can no longer reach the record you connected it to.
log-what-app-connected-by-other = Connected the app "{ $title }" to your record
log-what-app-connected-by-other-unnamed = Connected an app to your record
log-what-app-disconnected-by-other = Disconnected the app "{ $title }" from your record
log-what-app-disconnected-by-other-unnamed = Disconnected an app from your record
apps-any-type-patient = name, date of birth, NHS number and contact details
apps-any-type-condition = health problems
apps-any-type-medication-statement = medicines
apps-any-type-allergy-intolerance = allergies
apps-any-type-immunization = vaccinations
apps-any-type-procedure = operations and procedures
apps-any-type-diagnostic-report = test results
apps-any-type-document-reference = letters and documents
apps-any-type-consent = who the record is shared with
apps-any-type-audit-event = who has looked at the record
apps-any-type-care-plan = the care and support plan
apps-any-type-goal = the goals in the plan
apps-any-type-care-team = who is in the care team
apps-any-type-observation = readings, such as blood pressure and weight
apps-any-type-questionnaire = the questionnaires they are asked to fill in
apps-any-type-questionnaire-response = answers to questionnaires
apps-any-type-communication = messages with the care team
log-what-read-smart-app-connect = Checked that they can connect an app to your record
tokens-status-account-off = Not working: the account is switched off
home-shared-count = { $total } people share their record with you, listed by family name. This is page { $page } of { $pages }.
home-shared-pages = Pages of people who share their record with you
