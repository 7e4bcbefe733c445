// Journey browser tests: every page of CarePact, as every kind of user, screenshotted and checked
// with axe-core, plus the journeys people take through them: resetting a password, keeping your
// details up to date, registering a person, adding an organisation and inviting its staff, and
// accepting the invitations CarePact emails.
//
// The server sends its email to a real SMTP server, aiosmtpd, storing it in a maildir (mail.mjs),
// so the tests can follow the links in invitations and password resets.
//
//   cd tests/browser && npm test          (server binary from CAREPACT_BIN or target/debug/carepact)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEMO_PASSWORD,
  PERSON_EMAIL,
  PROFESSIONAL_EMAIL,
  TEST_TIMEOUT_MS,
  checkPage,
  clickAndWaitForPage,
  fillSignIn,
  pathOf,
  signIn,
  useServerAndBrowser,
} from './lib.mjs';
import { linkPathIn, startMailSink } from './mail.mjs';

// Pages are rendered on the server: once loaded, what should be there is there.
const SEE_TIMEOUT_MS = 5_000;

const ADMIN_EMAIL = 'admin@carepact.example';
const ORG_ADMIN_EMAIL = 'linda.brown@carepact.example';
const CARER_EMAIL = 'peter@carepact.example';
const COMMISSIONER_EMAIL = 'priya.shah@carepact.example';
// Only the password reset journey uses this account (it changes the password).
const RESET_EMAIL = 'margaret@carepact.example';
// Only the no-JavaScript test uses this account.
const NO_JS_EMAIL = 'david@carepact.example';
const NEW_PASSWORD = 'correct horse battery staple';

// Without our own server (CAREPACT_BASE_URL), emails go wherever that server sends them.
const suite = useServerAndBrowser({ logName: 'server-journeys.log', startMail: startMailSink });

const needsMail = process.env.CAREPACT_BASE_URL ? 'emails are not captured with CAREPACT_BASE_URL' : false;

/**
 * Runs a test body on a fresh browser context. Accessibility violations found by `check` are
 * collected rather than thrown, so one test reports every page's violations, and fail the test
 * at the end, as do errors the browser reported (script errors, failed requests).
 */
async function journey(name, options, fn) {
  const violations = [];
  const failedLoads = [];
  let page;
  const check = async (p, shot) => {
    try {
      await checkPage(p, shot);
    } catch (err) {
      if (!String(err.message).startsWith('accessibility violations')) throw err;
      violations.push(err.message);
    }
  };
  try {
    await suite.page(name, options, async (p, context) => {
      page = p;
      p.on('response', (r) => {
        // Pages answer 400/401/403/404 on purpose; what they load (assets) must not fail.
        if (r.request().resourceType() !== 'document' && r.status() >= 400) {
          failedLoads.push(`${r.status()} ${r.url()}`);
        }
      });
      p.on('requestfailed', (r) => {
        // ERR_ABORTED: the test moved on to the next page before this one finished loading.
        const error = r.failure()?.errorText ?? 'failed';
        if (!error.includes('ERR_ABORTED')) failedLoads.push(`${error} ${r.url()}`);
      });
      await fn(p, check, context);
    });
  } catch (err) {
    if (violations.length && err && typeof err.message === 'string') {
      err.message += `\n  and before that:\n${violations.join('\n')}`;
    }
    throw err;
  }
  if (violations.length) throw new Error(violations.join('\n'));
  // Script errors and failed requests (e.g. a missing asset) on any page of the journey. Chromium
  // logs every non-2xx page as a console error, so those come from the responses instead.
  const problems = page.problems.filter((m) => !m.startsWith('console error: Failed to load resource'));
  assert.deepEqual([...problems, ...failedLoads], [], 'the browser should report no errors');
}

/** A second, separate browser context inside a test (another person at another computer). */
function alsoAs(name, fn) {
  return suite.page(name, {}, fn);
}

async function signInAs(p, email, password = DEMO_PASSWORD) {
  await signIn(p, email, password);
  assert.equal(pathOf(p), '/', `${email} should be signed in and on the home page`);
}

async function h1Text(p) {
  const h1 = p.getByRole('heading', { level: 1 });
  await h1.waitFor({ timeout: SEE_TIMEOUT_MS });
  return (await h1.innerText()).trim();
}

async function assertH1(p, expected) {
  assert.equal(await h1Text(p), expected, `h1 on ${pathOf(p)}`);
}

/** Waits until `text` (string: exact match of a whole element's text; RegExp: a match) is on the page. */
async function see(p, text, scope = p) {
  await scope
    .getByText(text, { exact: typeof text === 'string' })
    .first()
    .waitFor({ timeout: SEE_TIMEOUT_MS });
}

/** The text of the success notification banner. */
async function successBanner(p) {
  const banner = p.getByRole('alert', { name: 'Success' });
  await banner.waitFor({ timeout: SEE_TIMEOUT_MS });
  return (await banner.innerText()).trim();
}

/** Checks the error summary: its title, and that it has a link `linkName` to `href`. */
async function assertErrorSummary(p, links) {
  const summary = p.locator('.nhsuk-error-summary');
  await summary.waitFor({ state: 'attached', timeout: SEE_TIMEOUT_MS });
  await summary.getByRole('heading', { name: 'There is a problem' }).waitFor({ timeout: SEE_TIMEOUT_MS });
  for (const [linkName, href] of links) {
    const link = summary.getByRole('link', { name: linkName, exact: true });
    await link.waitFor({ timeout: SEE_TIMEOUT_MS });
    if (href) assert.equal(await link.getAttribute('href'), href, `error summary link "${linkName}"`);
  }
  return summary;
}

/**
 * Follows a link in an email to a set-password page and chooses a password; ends on /sign-in.
 * `shot` names the screenshots and axe checks of the form and its error state; without it (the
 * same template already checked elsewhere) the pages are not checked again, to save time.
 */
async function choosePassword(p, check, linkPath, heading, shot) {
  const response = await p.goto(linkPath);
  assert.equal(response.status(), 200, `${linkPath} should open the set-password form`);
  await assertH1(p, heading);
  if (shot) await check(p, shot);

  // Two different passwords first: the form should say so.
  await p.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await p.getByLabel('Type the new password again', { exact: true }).fill('something else entirely');
  await clickAndWaitForPage(p, p.getByRole('button', { name: 'Save password', exact: true }));
  await assertErrorSummary(p, []);
  if (shot) await check(p, `${shot}-error`);

  await p.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await p.getByLabel('Type the new password again', { exact: true }).fill(NEW_PASSWORD);
  await clickAndWaitForPage(p, p.getByRole('button', { name: 'Save password', exact: true }));
  assert.equal(pathOf(p), '/sign-in', 'saving the password should lead to the sign-in page');
}

// ---------------------------------------------------------------------------------------------
// Signing in: keyboard and session cookie

test('the first Tab on the sign-in page focuses the skip link', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('keyboard-skip-link', {}, async (p) => {
    await p.goto('/sign-in');
    await p.keyboard.press('Tab');
    const focused = await p.evaluate(() => {
      const el = document.activeElement;
      return { tag: el?.tagName, text: el?.textContent?.trim(), href: el?.getAttribute('href') };
    });
    assert.equal(focused.tag, 'A', 'the skip link should be focused');
    assert.equal(focused.text, 'Skip to main content');
    assert.ok(focused.href?.startsWith('#'), `the skip link should point into the page (href ${focused.href})`);
    const target = await p.locator(focused.href).count();
    assert.equal(target, 1, `the skip link's target ${focused.href} should exist`);
    const skip = p.getByRole('link', { name: 'Skip to main content' });
    assert.ok(await skip.isVisible(), 'the focused skip link should be visible');
  });
});

test('the session cookie is HttpOnly and SameSite=Lax, and changes on sign-in', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('session-cookie', {}, async (p, _check, context) => {
    await p.goto('/sign-in');
    const before = (await context.cookies()).find((c) => c.name === 'carepact_session');
    await fillSignIn(p, PERSON_EMAIL, DEMO_PASSWORD);
    assert.equal(pathOf(p), '/');
    const cookie = (await context.cookies()).find((c) => c.name === 'carepact_session');
    assert.ok(cookie, 'a carepact_session cookie should be set after signing in');
    assert.equal(cookie.httpOnly, true, 'carepact_session should be HttpOnly');
    assert.equal(cookie.sameSite, 'Lax', 'carepact_session should be SameSite=Lax');
    assert.equal(cookie.path, '/', 'carepact_session should cover the whole site');
    if (before) assert.notEqual(cookie.value, before.value, 'signing in should issue a new session id');
  });
});

// ---------------------------------------------------------------------------------------------
// Password reset

test('asking for a password reset gives the same answer for any address', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('password-reset-request', {}, async (p, check) => {
    await p.goto('/sign-in');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Forgotten your password?' }));
    assert.equal(pathOf(p), '/password-reset');
    await assertH1(p, 'Reset your password');
    await check(p, 'password-reset');

    // Nothing entered.
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Send me a link', exact: true }));
    await assertErrorSummary(p, [['Enter an email address', '#email']]);
    await check(p, 'password-reset-error');

    // An address with no account.
    await p.getByLabel('Email address', { exact: true }).fill('nobody@example.org');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Send me a link', exact: true }));
    await assertH1(p, 'Check your email');
    const unknownBody = (await p.locator('main').innerText()).replace('nobody@example.org', 'ADDRESS');
    await check(p, 'password-reset-sent');

    // An address with an account: the same page.
    await p.goto('/password-reset');
    await p.getByLabel('Email address', { exact: true }).fill(PROFESSIONAL_EMAIL);
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Send me a link', exact: true }));
    await assertH1(p, 'Check your email');
    const knownBody = (await p.locator('main').innerText()).replace(PROFESSIONAL_EMAIL, 'ADDRESS');
    assert.equal(knownBody, unknownBody, 'the answer should not reveal whether the address has an account');
  });
});

test('a link that does not exist shows the expired-link page', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('link-invalid', {}, async (p, check) => {
    const token = 'f'.repeat(64);
    let response = await p.goto(`/password-reset/${token}`);
    assert.equal(response.status(), 404);
    await assertH1(p, 'This link has expired or has already been used');
    await check(p, 'password-reset-link-invalid');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Ask for a new password reset link' }));
    assert.equal(pathOf(p), '/password-reset');

    response = await p.goto(`/invitation/${token}`);
    assert.equal(response.status(), 404);
    await assertH1(p, 'This link has expired or has already been used');
  });
});

test('a person resets their password with the emailed link', { timeout: TEST_TIMEOUT_MS, skip: needsMail }, async () => {
  await journey('password-reset-journey', {}, async (p, check) => {
    await p.goto('/password-reset');
    await p.getByLabel('Email address', { exact: true }).fill(RESET_EMAIL);
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Send me a link', exact: true }));
    await assertH1(p, 'Check your email');

    const email = await suite.mail.waitFor((m) => m.to.includes(RESET_EMAIL) && /password-reset\//.test(m.text));
    assert.equal(email.subject, 'Reset your CarePact password');
    const link = linkPathIn(email, 'password-reset');

    await choosePassword(p, check, link, 'Choose a new password', 'password-reset-form');
    await see(p, /Your password has been changed/);

    // The old password no longer works, the new one does.
    await fillSignIn(p, RESET_EMAIL, DEMO_PASSWORD);
    assert.equal(pathOf(p), '/sign-in', 'the old password should be refused');
    await fillSignIn(p, RESET_EMAIL, NEW_PASSWORD);
    assert.equal(pathOf(p), '/', 'the new password should work');
    await assertH1(p, 'Margaret Wilson');

    // The link works once.
    const again = await p.goto(link);
    assert.equal(again.status(), 404, 'a used reset link should not work again');
    await assertH1(p, 'This link has expired or has already been used');
  });
});

// ---------------------------------------------------------------------------------------------
// Your account

test('a person keeps their contact details and language up to date', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('account-person', {}, async (p, check) => {
    await signInAs(p, PERSON_EMAIL);
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Your details and communication needs' }));
    assert.equal(pathOf(p), '/account');
    await assertH1(p, 'Your account');

    const summary = p.locator('.nhsuk-summary-list');
    for (const [key, value] of [
      ['Name', 'Amina Khan'],
      ['Email address', PERSON_EMAIL],
      ['Roles', 'Person'],
    ]) {
      const row = summary.locator('.nhsuk-summary-list__row', { has: p.getByRole('term').getByText(key, { exact: true }) });
      assert.equal((await row.getByRole('definition').innerText()).trim(), value, `summary list: ${key}`);
    }
    await p.getByRole('heading', { name: 'Your contact details', level: 2 }).waitFor({ timeout: SEE_TIMEOUT_MS });
    await check(p, 'account-person');

    await p.getByLabel('Preferred name', { exact: true }).fill('Ami');
    await p.getByLabel('Phone number', { exact: true }).fill('07700 900123');
    await p.getByLabel('Communication needs', { exact: true }).fill('Large print, please.');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Save details', exact: true }));
    assert.equal(pathOf(p), '/account', 'saving details should return to /account');
    assert.match(await successBanner(p), /Your details have been saved\./);
    assert.equal(await p.getByLabel('Preferred name', { exact: true }).inputValue(), 'Ami');
    assert.equal(await p.getByLabel('Phone number', { exact: true }).inputValue(), '07700 900123');
    assert.equal(await p.getByLabel('Communication needs', { exact: true }).inputValue(), 'Large print, please.');

    // The preferred name shows on the home page.
    await p.goto('/');
    await see(p, 'Ami');

    await p.goto('/account');
    const language = p.getByRole('group', { name: 'Language' });
    await language.getByRole('radio', { name: 'English', exact: true }).check();
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Save language', exact: true }));
    assert.equal(pathOf(p), '/account');
    assert.match(await successBanner(p), /Your language setting has been saved\./);
    assert.ok(
      await p.getByRole('group', { name: 'Language' }).getByRole('radio', { name: 'English', exact: true }).isChecked(),
      'English should now be chosen',
    );
  });
});

test('staff see their account without the personal details form', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('account-professional', {}, async (p, check) => {
    await signInAs(p, PROFESSIONAL_EMAIL);
    await p.goto('/account');
    await assertH1(p, 'Your account');
    await see(p, 'Dr Sarah Patel');
    await see(p, 'Riverside Medical Practice');
    assert.equal(await p.getByRole('button', { name: 'Save details' }).count(), 0);
    await p.getByRole('button', { name: 'Save language', exact: true }).waitFor({ timeout: SEE_TIMEOUT_MS });
    await check(p, 'account-professional');
  });
});

test('forms work without JavaScript', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('account-no-javascript', { javaScriptEnabled: false }, async (p) => {
    await signInAs(p, NO_JS_EMAIL);
    await p.goto('/account');
    await p.getByLabel('Communication needs', { exact: true }).fill('Please phone after 10am.');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Save details', exact: true }));
    assert.equal(pathOf(p), '/account');
    assert.match(await successBanner(p), /Your details have been saved\./);
    assert.equal(await p.getByLabel('Communication needs', { exact: true }).inputValue(), 'Please phone after 10am.');
  });
});

// ---------------------------------------------------------------------------------------------
// Registering a person

test('a GP registers a person, who sets up their account from the invitation', { timeout: TEST_TIMEOUT_MS }, async () => {
  const newEmail = 'new.person@example.org';
  await journey('register-person', {}, async (p, check) => {
    await signInAs(p, PROFESSIONAL_EMAIL);
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Register a person', exact: true }));
    assert.equal(pathOf(p), '/people/new');
    await assertH1(p, 'Register a person');
    for (const label of ['NHS number', 'First name', 'Last name', 'Preferred name', 'Email address', 'Phone number', 'Communication needs']) {
      await p.getByLabel(label, { exact: true }).waitFor({ timeout: SEE_TIMEOUT_MS });
    }
    const dob = p.getByRole('group', { name: 'Date of birth' });
    for (const label of ['Day', 'Month', 'Year']) {
      await dob.getByLabel(label, { exact: true }).waitFor({ timeout: SEE_TIMEOUT_MS });
    }
    await check(p, 'register-person');

    // A mistyped NHS number (wrong check digit), everything else empty.
    await p.getByLabel('NHS number', { exact: true }).fill('943 476 5918');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Register and send invitation', exact: true }));
    assert.equal(pathOf(p), '/people/new');
    await assertErrorSummary(p, [['Enter a valid NHS number: check it has been typed correctly', '#nhs_number']]);
    const nhsInput = p.getByLabel('NHS number', { exact: true });
    assert.equal(await nhsInput.getAttribute('id'), 'nhs_number', 'the error link target should be the NHS number input');
    assert.equal(await nhsInput.inputValue(), '943 476 5918', 'what was typed should be kept');
    await check(p, 'register-person-error');

    // A valid new person.
    await p.getByLabel('NHS number', { exact: true }).fill('999 000 0050');
    await p.getByLabel('First name', { exact: true }).fill('Nia');
    await p.getByLabel('Last name', { exact: true }).fill('Roberts');
    await dob.getByLabel('Day', { exact: true }).fill('1');
    await dob.getByLabel('Month', { exact: true }).fill('2');
    await dob.getByLabel('Year', { exact: true }).fill('1970');
    await p.getByLabel('Email address', { exact: true }).fill(newEmail);
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Register and send invitation', exact: true }));
    assert.equal(pathOf(p), '/', 'registering should return to the home page');
    assert.match(await successBanner(p), /If this person did not already have a CarePact account/);
    await check(p, 'register-person-done');
  });

  if (needsMail) return;
  await journey('register-person-invitation', {}, async (p, check) => {
    const email = await suite.mail.waitFor((m) => m.to.includes(newEmail));
    assert.equal(email.subject, 'Your CarePact account is ready to set up');
    const link = linkPathIn(email, 'invitation');
    await choosePassword(p, check, link, 'Set up your CarePact account', 'invitation-person');
    await see(p, /Your account is ready/);
    await fillSignIn(p, newEmail, NEW_PASSWORD);
    assert.equal(pathOf(p), '/', 'the new person should be able to sign in');
    await assertH1(p, 'Nia Roberts');
    await see(p, '999 000 0050');
    await see(p, '1 February 1970');
  });
});

// ---------------------------------------------------------------------------------------------
// Running CarePact: organisations, staff, emails

test('an admin adds an organisation and invites its first member of staff', { timeout: TEST_TIMEOUT_MS }, async () => {
  const staffEmail = 'alex.morgan@hillside.example';
  await journey('admin-organisations', {}, async (p, check) => {
    await signInAs(p, ADMIN_EMAIL);
    await see(p, 'Running CarePact');
    await check(p, 'admin-home');

    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Organisations', exact: true }));
    assert.equal(pathOf(p), '/admin/organisations');
    await assertH1(p, 'Organisations');
    const table = p.getByRole('table', { name: 'Organisations using CarePact' });
    await table.getByRole('link', { name: 'Riverside Medical Practice' }).waitFor({ timeout: SEE_TIMEOUT_MS });
    await check(p, 'admin-organisations');

    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Add an organisation', exact: true }));
    assert.equal(pathOf(p), '/admin/organisations/new');
    await assertH1(p, 'Add an organisation');
    await p.getByLabel('Organisation name', { exact: true }).waitFor({ timeout: SEE_TIMEOUT_MS });
    await p.getByRole('group', { name: 'Type of organisation' }).getByRole('radio', { name: 'GP practice' }).waitFor({ timeout: SEE_TIMEOUT_MS });
    await check(p, 'admin-organisation-new');

    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Add organisation', exact: true }));
    assert.equal(pathOf(p), '/admin/organisations/new');
    const summary = await assertErrorSummary(p, []);
    const errorLinks = await summary.getByRole('link').evaluateAll((els) => els.map((a) => `${a.textContent.trim()} -> ${a.getAttribute('href')}`));
    assert.equal(errorLinks.length, 2, `expected errors for the name and the type, got: ${errorLinks.join('; ')}`);
    for (const link of errorLinks) {
      const href = link.split(' -> ')[1];
      assert.equal(await p.locator(href).count(), 1, `error link target ${href} should exist`);
    }
    await check(p, 'admin-organisation-new-error');

    await p.getByLabel('Organisation name', { exact: true }).fill('Hillside Surgery');
    await p.getByRole('group', { name: 'Type of organisation' }).getByRole('radio', { name: 'GP practice', exact: true }).check();
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Add organisation', exact: true }));
    assert.match(pathOf(p), /^\/organisations\/[^/]+$/, 'adding should lead to the organisation page');
    const orgPath = pathOf(p);
    await assertH1(p, 'Hillside Surgery');
    assert.match(await successBanner(p), /The organisation has been added/);
    await check(p, 'organisation-new-empty');

    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Invite a member of staff', exact: true }));
    assert.equal(pathOf(p), `${orgPath}/invite`);
    await assertH1(p, 'Invite a member of staff');
    const roles = p.getByRole('group', { name: 'Roles' });
    for (const role of ['Professional', 'Link worker', 'Commissioner', 'Organisation admin']) {
      await roles.getByRole('checkbox', { name: role, exact: true }).waitFor({ timeout: SEE_TIMEOUT_MS });
    }
    await check(p, 'invite-staff');

    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Send invitation', exact: true }));
    assert.equal(pathOf(p), `${orgPath}/invite`);
    await assertErrorSummary(p, []);
    await check(p, 'invite-staff-error');

    await p.getByLabel('Full name', { exact: true }).fill('Dr Alex Morgan');
    await p.getByLabel('Email address', { exact: true }).fill(staffEmail);
    await roles.getByRole('checkbox', { name: 'Professional', exact: true }).check();
    await roles.getByRole('checkbox', { name: 'Organisation admin', exact: true }).check();
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Send invitation', exact: true }));
    assert.equal(pathOf(p), orgPath, 'inviting should return to the organisation page');
    assert.match(await successBanner(p), /The invitation has been sent/);
    const row = p.getByRole('table', { name: 'Staff' }).getByRole('row', { name: /Dr Alex Morgan/ });
    await row.waitFor({ timeout: SEE_TIMEOUT_MS });
    const rowText = await row.innerText();
    assert.match(rowText, /alex\.morgan@hillside\.example/);
    assert.match(rowText, /Professional, Organisation admin/);
    assert.match(rowText, /Invited/);
    await check(p, 'organisation-staff-invited');

    if (needsMail) return;
    // The new member of staff accepts the invitation…
    await alsoAs('admin-organisations-staff', async (s) => {
      const email = await suite.mail.waitFor((m) => m.to.includes(staffEmail));
      assert.equal(email.subject, 'You have been invited to CarePact');
      await choosePassword(s, check, linkPathIn(email, 'invitation'), 'Set up your CarePact account');
      await fillSignIn(s, staffEmail, NEW_PASSWORD);
      assert.equal(pathOf(s), '/', 'the invited member of staff should be able to sign in');
      await assertH1(s, 'Dr Alex Morgan');
      await see(s, 'Hillside Surgery');
      await s.getByRole('link', { name: 'Manage staff' }).waitFor({ timeout: SEE_TIMEOUT_MS });
    });
    // …and shows as active.
    await p.goto(orgPath);
    const activeRow = p.getByRole('table', { name: 'Staff' }).getByRole('row', { name: /Dr Alex Morgan/ });
    assert.match(await activeRow.innerText(), /Active/);
  });
});

test('an admin sees the emails that could not be delivered', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('admin-emails', {}, async (p, check) => {
    await signInAs(p, ADMIN_EMAIL);
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Emails not delivered', exact: true }));
    assert.equal(pathOf(p), '/admin/emails');
    await assertH1(p, 'Emails not delivered');
    await see(p, /Emails waiting to be sent: \d+/);
    await check(p, 'admin-emails');
  });
});

test('an organisation admin manages their staff but not CarePact', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('organisation-admin', {}, async (p, check) => {
    await signInAs(p, ORG_ADMIN_EMAIL);
    await assertH1(p, 'Linda Brown');
    await check(p, 'organisation-admin-home');

    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Manage staff', exact: true }));
    assert.match(pathOf(p), /^\/organisations\/[^/]+$/);
    const ownOrgPath = pathOf(p);
    await assertH1(p, 'Riverside Medical Practice');
    const staff = p.getByRole('table', { name: 'Staff' });
    for (const name of ['Dr Sarah Patel', 'Tom Hughes', 'Linda Brown']) {
      await staff.getByRole('rowheader', { name, exact: true }).waitFor({ timeout: SEE_TIMEOUT_MS });
    }
    // The organisation page itself is checked in the admin's journey.

    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Invite a member of staff', exact: true }));
    assert.equal(pathOf(p), `${ownOrgPath}/invite`);
    await assertH1(p, 'Invite a member of staff');

    for (const path of ['/admin/organisations', '/admin/organisations/new', '/admin/emails']) {
      const response = await p.goto(path);
      assert.equal(response.status(), 403, `${path} should be forbidden to an organisation admin`);
      await assertH1(p, 'You cannot do that');
    }
    await check(p, 'forbidden');

    // Another organisation's staff page is not hers either.
    let otherOrgPath;
    await alsoAs('organisation-admin-admin', async (a) => {
      await signInAs(a, ADMIN_EMAIL);
      await a.goto('/admin/organisations');
      otherOrgPath = await a.getByRole('link', { name: 'Northfield Adult Social Care' }).getAttribute('href');
    });
    for (const path of [otherOrgPath, `${otherOrgPath}/invite`]) {
      const response = await p.goto(path);
      assert.equal(response.status(), 403, `${path} (another organisation) should be forbidden to Linda`);
      await assertH1(p, 'You cannot do that');
    }
  });
});

test('people who are not admins cannot reach admin pages', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('forbidden-person', {}, async (p) => {
    await signInAs(p, PERSON_EMAIL);
    for (const path of ['/people/new', '/admin/organisations', '/admin/emails']) {
      const response = await p.goto(path);
      assert.equal(response.status(), 403, `${path} should be forbidden to a person`);
      await assertH1(p, 'You cannot do that');
    }
  });
});

test('signed-out visitors are sent to sign in', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('signed-out-redirects', {}, async (p) => {
    for (const path of ['/', '/account', '/people/new', '/admin/organisations', '/admin/emails']) {
      await p.goto(path);
      assert.equal(pathOf(p), '/sign-in', `${path} should need signing in`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Home pages for the other kinds of user

test('a carer sees the people they care for', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('carer-home', {}, async (p, check) => {
    await signInAs(p, CARER_EMAIL);
    await assertH1(p, 'Peter Wilson');
    await p.getByRole('heading', { name: 'People you care for' }).waitFor({ timeout: SEE_TIMEOUT_MS });
    await check(p, 'carer-home');
  });
});

test('a commissioner sees their integrated care board', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('commissioner-home', {}, async (p, check) => {
    await signInAs(p, COMMISSIONER_EMAIL);
    await assertH1(p, 'Priya Shah');
    await see(p, 'NHS Northfield Integrated Care Board');
    await check(p, 'commissioner-home');
  });
});

test('a link worker sees their organisation', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('link-worker-home', {}, async (p, check) => {
    await signInAs(p, 'sam.taylor@carepact.example');
    await assertH1(p, 'Sam Taylor');
    await see(p, 'Northfield Community Connections');
    await check(p, 'link-worker-home');
  });
});
