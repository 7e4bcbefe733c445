//! Secure messages: the person's threads with their care team, a new message (to the named contact by default,
//! with their usual reply time), a thread with its replies, and passing a thread to a colleague. A professional's
//! inbox lists the people whose threads they answer. Every page asks the choke point for the messages section;
//! every new message tells the other side in the app and, if they want it, by an email with no clinical detail.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::consent::{Action, Request, Section, Sensitivity};
use carepact_domain::identity::{PersonId, UserId};
use carepact_store::access::Grant;
use carepact_store::care_team::{self, Member};
use carepact_store::messages::{self, MAX_BODY, MAX_SUBJECT, Notice};
use carepact_store::users::User;
use uuid::Uuid;

use crate::access::acting_role;
use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::mail;
use crate::pages::layout::{Chrome, render};
use crate::session::Session;
use crate::state::AppState;

use crate::pages::person_id;

async fn grant(
    state: &AppState,
    user: &User,
    person: PersonId,
    action: Action,
    entity: &str,
) -> Result<Grant, AppError> {
    crate::pages::section_grant(state, user, person, Section::Messages, action, entity).await
}

use crate::pages::person_name;

fn author_role(grant: &Grant, user: &User) -> &'static str {
    if grant.is_owner() { "person" } else { acting_role(user) }
}

/// "Usually replies within 2 working days", and who covers when they are away.
fn reply_note(c: &Chrome<'_>, m: &Member) -> String {
    let mut note = match m.reply_within_days {
        Some(days) => c.t_with("messages-reply-within", &[("days", days.to_string().as_str())]),
        None => String::new(),
    };
    if m.away == Some(true) {
        let away = match &m.cover_name {
            Some(cover) => c.t_with("messages-away-cover", &[("cover", cover.as_str())]),
            None => c.t("messages-away"),
        };
        note = format!("{note} {away}").trim().to_owned();
    }
    note
}

/// Who to tell about a new message in a thread about `person`: the professional answering it when the person's
/// side writes, the person when a professional does. Links only, never the message.
async fn notices_for(
    state: &AppState,
    c: &Chrome<'_>,
    grant: &Grant,
    writer: &User,
    assigned: UserId,
    link: &str,
) -> Result<Vec<Notice>, AppError> {
    let mut to = Vec::new();
    if grant.is_owner() || !writer.has_role(carepact_domain::identity::Role::Professional) {
        to.push(assigned);
    } else if let Some(user) = carepact_store::people::summary(&state.db, grant)
        .await?
        .and_then(|p| p.user_id)
    {
        to.push(user);
    }
    let url = format!("{}{link}", state.config.public_url.trim_end_matches('/'));
    let (subject, body) = mail::compose(c.tr, "email-new-message", &url);
    Ok(to
        .into_iter()
        .filter(|u| *u != writer.id)
        .map(|user| Notice {
            user,
            kind: "message",
            link: link.to_owned(),
            email_subject: subject.clone(),
            email_body: body.clone(),
        })
        .collect())
}

// ---- the person's threads ----

struct ThreadView {
    id: Uuid,
    subject: String,
    with: String,
    when: String,
    unread: i64,
}

#[derive(Template)]
#[template(path = "messages.html")]
struct ThreadsPage<'a> {
    c: Chrome<'a>,
    base: String,
    name: String,
    own: bool,
    threads: Vec<ThreadView>,
    can_write: bool,
}

pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let person = person_id(&id)?;
    let grant = grant(&state, &user, person, Action::Read, "message-threads").await?;
    let threads = messages::threads(&state.db, &grant, user.id)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let name = person_name(&state, &grant).await?;
    let base = format!("/records/{id}");
    let c = Chrome::new(&session)
        .await?
        .link(&base, name.clone())
        .crumb(&format!("{base}/messages"), "messages-title");
    let threads = threads
        .iter()
        .map(|t| ThreadView {
            id: t.id,
            subject: t.subject.clone(),
            with: t.assigned_name.clone(),
            when: c.date(&t.updated_at.0.date()),
            unread: t.unread,
        })
        .collect();
    Ok(render(&ThreadsPage {
        c,
        base,
        name,
        own: grant.is_owner(),
        threads,
        can_write: grant.may_write(),
    })?
    .into_response())
}

// ---- a new message ----

#[derive(Template)]
#[template(path = "message_new.html")]
struct NewPage<'a> {
    c: Chrome<'a>,
    base: String,
    /// (user id, "name — role, organisation", reply note, chosen)
    team: Vec<(Uuid, String, String, bool)>,
    subject: String,
    body: String,
    errors: Errors,
}

async fn new_page(
    state: &AppState,
    session: &Session,
    id: &str,
    grant: &Grant,
    form: &Fields,
    errors: Errors,
) -> Result<Response, AppError> {
    let members = care_team::members(&state.db, grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let (c, base) = crate::pages::person_chrome(state, session, grant, id).await?;
    let c = c
        .crumb(&format!("{base}/messages"), "messages-title")
        .crumb(&format!("{base}/messages/new"), "messages-new")
        .with_errors(&errors);
    let chosen = form.get("to");
    let team = members
        .iter()
        .filter(|m| m.status == "active")
        .map(|m| {
            let mut label = format!("{} — {}", m.name, m.role_text);
            if let Some(org) = &m.organisation {
                label = format!("{label}, {org}");
            }
            if m.is_named_contact {
                label = format!("{label} ({})", c.t("team-named-contact").to_lowercase());
            }
            let selected = if chosen.is_empty() {
                m.is_named_contact
            } else {
                chosen == m.user_id.to_string()
            };
            (m.user_id, label, reply_note(&c, m), selected)
        })
        .collect();
    let status = errors.status();
    let page = NewPage {
        c,
        base,
        team,
        subject: form.get("subject").to_owned(),
        body: form.get("body").to_owned(),
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn new_form(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let grant = grant(&state, &user, person_id(&id)?, Action::Write, "message-new").await?;
    new_page(&state, &session, &id, &grant, &Fields::default(), Errors::default()).await
}

fn check_text(form: &Fields, field: &str, max: usize, errors: &mut Errors, tr: crate::i18n::Tr<'_>) -> String {
    let text = form.get(field).trim().to_owned();
    if text.is_empty() {
        errors.add(tr, field, &format!("error-message-{field}-empty"));
    } else if text.chars().count() > max {
        errors.add(tr, field, &format!("error-message-{field}-long"));
    }
    text
}

pub async fn send(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let grant = grant(&state, &user, person_id(&id)?, Action::Write, "message-new").await?;
    let tr = session.tr();
    let mut errors = Errors::default();
    let members = care_team::members(&state.db, &grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let to = members
        .iter()
        .filter(|m| m.status == "active")
        .find(|m| m.user_id.to_string() == form.get("to"))
        .map(|m| UserId(m.user_id));
    if to.is_none() {
        errors.add(tr, "to", "error-message-to");
    }
    let subject = check_text(&form, "subject", MAX_SUBJECT, &mut errors, tr);
    let body = check_text(&form, "body", MAX_BODY, &mut errors, tr);
    let Some(to) = to.filter(|_| errors.is_empty()) else {
        return new_page(&state, &session, &id, &grant, &form, errors).await;
    };
    // The thread's id is made by the store; notices link to the person's threads until it exists.
    let c = Chrome::bare(tr);
    let link = format!("/records/{id}/messages");
    let notices = notices_for(&state, &c, &grant, &user, to, &link).await?;
    let thread = messages::start(
        &state.db,
        &grant,
        to,
        &subject,
        &body,
        author_role(&grant, &user),
        &notices,
        state.now(),
    )
    .await?
    .map_err(|_| AppError::NotFound)?;
    session.set_flash("flash-done-message-sent").await?;
    Ok(Redirect::to(&format!("/records/{id}/messages/{thread}")).into_response())
}

// ---- a thread ----

struct MessageView {
    who: String,
    when: String,
    body: String,
    note: bool,
}

#[derive(Template)]
#[template(path = "message_thread.html")]
struct ThreadPage<'a> {
    c: Chrome<'a>,
    base: String,
    thread: Uuid,
    subject: String,
    with: String,
    reply_note: String,
    messages: Vec<MessageView>,
    can_write: bool,
    /// Colleagues the thread can be passed to (professionals of the viewer's organisation).
    colleagues: Vec<(Uuid, String)>,
    body: String,
    errors: Errors,
}

#[allow(clippy::too_many_arguments)]
async fn thread_page(
    state: &AppState,
    session: &Session,
    user: &User,
    id: &str,
    grant: &Grant,
    thread: Uuid,
    body: String,
    errors: Errors,
) -> Result<Response, AppError> {
    let (row, list) = messages::open(&state.db, grant, thread, user.id, state.now())
        .await?
        .map_err(|_| AppError::NotFound)?
        .ok_or(AppError::NotFound)?;
    let (c, base) = crate::pages::person_chrome(state, session, grant, id).await?;
    let c = c
        .crumb(&format!("{base}/messages"), "messages-title")
        .link(&format!("{base}/messages/{thread}"), row.subject.clone())
        .with_errors(&errors);
    let members = care_team::members(&state.db, grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let reply_note = members
        .iter()
        .find(|m| m.user_id == row.assigned_user_id && m.status == "active")
        .map(|m| reply_note(&c, m))
        .unwrap_or_default();
    let colleagues = colleagues(state, user, grant).await?;
    let status = errors.status();
    let page = ThreadPage {
        thread,
        subject: row.subject.clone(),
        with: row.assigned_name.clone(),
        reply_note,
        messages: list
            .iter()
            .map(|m| MessageView {
                who: m.author_name.clone().unwrap_or_default(),
                when: c.when(m.created_at.0),
                body: m.body.clone(),
                note: m.author_role == "system",
            })
            .collect(),
        can_write: grant.may_write(),
        colleagues,
        body,
        errors,
        base,
        c,
    };
    Ok((status, render(&page)?).into_response())
}

/// Professionals of the viewer's organisation whom the person's sharing lets read and answer their messages: the
/// people a conversation can be passed to.
async fn colleagues(state: &AppState, user: &User, grant: &Grant) -> Result<Vec<(Uuid, String)>, AppError> {
    let Some(org) = user
        .organisation_id
        .filter(|_| !grant.is_owner() && user.has_role(carepact_domain::identity::Role::Professional))
    else {
        return Ok(Vec::new());
    };
    let request = Request {
        section: Section::Messages,
        label: Sensitivity::General,
        action: Action::Write,
    };
    let mut out = Vec::new();
    for u in carepact_store::users::list_staff(&state.db, org).await? {
        if u.id == user.id || !u.active || !u.has_role(carepact_domain::identity::Role::Professional) {
            continue;
        }
        let actor = crate::access::actor(&u);
        if carepact_store::access::would_permit(&state.db, grant, &actor, request, state.now()).await? {
            out.push((u.id.0, u.display_name));
        }
    }
    Ok(out)
}

/// The signed-in user, the thread's id and their grant on the person's messages for it.
async fn thread_grant(
    state: &AppState,
    session: &Session,
    id: &str,
    thread: &str,
    action: Action,
) -> Result<(User, Uuid, Grant), AppError> {
    let user = session.require_user()?.clone();
    let thread = Uuid::parse_str(thread).map_err(|_| AppError::NotFound)?;
    let entity = format!("message-thread:{thread}");
    let grant = grant(state, &user, person_id(id)?, action, &entity).await?;
    Ok((user, thread, grant))
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path((id, thread)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (user, thread, grant) = thread_grant(&state, &session, &id, &thread, Action::Read).await?;
    thread_page(
        &state,
        &session,
        &user,
        &id,
        &grant,
        thread,
        String::new(),
        Errors::default(),
    )
    .await
}

pub async fn reply(
    State(state): State<AppState>,
    session: Session,
    Path((id, thread)): Path<(String, String)>,
    form: Fields,
) -> Result<Response, AppError> {
    let (user, thread, grant) = thread_grant(&state, &session, &id, &thread, Action::Write).await?;
    let tr = session.tr();
    let mut errors = Errors::default();
    let body = check_text(&form, "body", MAX_BODY, &mut errors, tr);
    if !errors.is_empty() {
        return thread_page(&state, &session, &user, &id, &grant, thread, body, errors).await;
    }
    let (row, _) = messages::open(&state.db, &grant, thread, user.id, state.now())
        .await?
        .map_err(|_| AppError::NotFound)?
        .ok_or(AppError::NotFound)?;
    let link = format!("/records/{id}/messages/{thread}");
    let notices = notices_for(
        &state,
        &Chrome::bare(tr),
        &grant,
        &user,
        UserId(row.assigned_user_id),
        &link,
    )
    .await?;
    let done = messages::reply(
        &state.db,
        &grant,
        thread,
        &body,
        author_role(&grant, &user),
        &notices,
        state.now(),
    )
    .await?
    .map_err(|_| AppError::NotFound)?;
    if !done {
        return Err(AppError::NotFound);
    }
    session.set_flash("flash-done-message-sent").await?;
    Ok(Redirect::to(&link).into_response())
}

pub async fn pass(
    State(state): State<AppState>,
    session: Session,
    Path((id, thread)): Path<(String, String)>,
    form: Fields,
) -> Result<Response, AppError> {
    let (user, thread, grant) = thread_grant(&state, &session, &id, &thread, Action::Write).await?;
    let (colleague_id, colleague_name) = colleagues(&state, &user, &grant)
        .await?
        .into_iter()
        .find(|(id, _)| id.to_string() == form.get("colleague"))
        .ok_or(AppError::BadRequest("error-message-colleague"))?;
    let tr = session.tr();
    let note = tr.t_with(
        "messages-passed-note",
        &[("from", user.display_name.as_str()), ("to", colleague_name.as_str())],
    );
    let link = format!("/records/{id}/messages/{thread}");
    let url = format!("{}{link}", state.config.public_url.trim_end_matches('/'));
    let (subject, body) = mail::compose(tr, "email-message-passed", &url);
    let notices = [Notice {
        user: UserId(colleague_id),
        kind: "message-passed",
        link: link.clone(),
        email_subject: subject,
        email_body: body,
    }];
    let done = messages::pass(
        &state.db,
        &grant,
        thread,
        UserId(colleague_id),
        &note,
        &notices,
        state.now(),
    )
    .await?
    .map_err(|_| AppError::NotFound)?;
    if !done {
        return Err(AppError::NotFound);
    }
    session.set_flash("flash-done-message-passed").await?;
    Ok(Redirect::to(&link).into_response())
}

// ---- a professional's inbox ----

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage<'a> {
    c: Chrome<'a>,
    /// (person id, name, threads with unread messages)
    people: Vec<(Uuid, String, i64)>,
}

pub async fn inbox(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    if let Some(own) = carepact_store::people::id_for_user(&state.db, user.id).await? {
        return Ok(Redirect::to(&format!("/records/{own}/messages")).into_response());
    }
    let mut people = Vec::new();
    for (person, unread) in messages::assigned_to(&state.db, user.id).await? {
        // Each person passes the choke point; one who no longer shares their messages drops out of the list.
        match grant(&state, &user, PersonId(person), Action::Read, "message-inbox").await {
            Ok(g) => people.push((person, person_name(&state, &g).await?, unread)),
            Err(AppError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    let c = Chrome::new(&session).await?.crumb("/messages", "messages-inbox-title");
    Ok(render(&InboxPage { c, people })?.into_response())
}
