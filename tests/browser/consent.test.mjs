// Consent browser tests: a person shares their record and stops sharing, and sees who looked at
// it; a professional sees only what is shared with them; emergency (break-glass) access; requests
// for access. Every page and state a test visits is screenshotted and checked with axe-core.
//
// The server sends its email (break-glass notices, access requests) to a real SMTP server,
// aiosmtpd, storing it in a maildir (mail.mjs).
//
//   cd tests/browser && npm test          (server binary from CAREPACT_BIN or target/debug/carepact)

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import {
  DEMO_PASSWORD,
  PERSON_EMAIL,
  PROFESSIONAL_EMAIL,
  TEST_TIMEOUT_MS,
  checkPage,
  clickAndWaitForPage,
  pathOf,
  signIn,
  useServerAndBrowser,
} from './lib.mjs';
import { startMailSink } from './mail.mjs';

// Pages are rendered on the server: once loaded, what should be there is there.
const SEE_TIMEOUT_MS = 5_000;

const DAVID_EMAIL = 'david@carepact.example';
const NURSE_EMAIL = 'jo.adeyemi@carepact.example';
const ORG_ADMIN_EMAIL = 'linda.brown@carepact.example';
// Only the no-JavaScript test shares with this professional.
const NO_JS_GRANTEE_EMAIL = 'tom.hughes@carepact.example';

const AMINA = { name: 'Amina Khan', nhs: '943 476 5919' };
const DAVID = { name: 'David Evans', nhs: '999 000 0026' };
const GP = { name: 'Dr Sarah Patel', organisation: 'Riverside Medical Practice' };

// Without our own server (CAREPACT_BASE_URL), emails go wherever that server sends them.
const suite = useServerAndBrowser({ logName: 'server-consent.log', startMail: startMailSink });

const noMail = Boolean(process.env.CAREPACT_BASE_URL);

// ---------------------------------------------------------------------------------------------
// Helpers (as in journeys.test.mjs)

/**
 * Watches a page for browser errors: script errors and failed loads of assets. Pages answer
 * 404 on purpose, so documents with an error status are not problems (Chromium logs each as a
 * console error "Failed to load resource", which is left out for that reason).
 */
function watch(p) {
  const failedLoads = [];
  p.on('response', (r) => {
    if (r.request().resourceType() !== 'document' && r.status() >= 400) failedLoads.push(`${r.status()} ${r.url()}`);
  });
  p.on('requestfailed', (r) => {
    // ERR_ABORTED: the test moved on to the next page before this one finished loading.
    const error = r.failure()?.errorText ?? 'failed';
    if (!error.includes('ERR_ABORTED')) failedLoads.push(`${error} ${r.url()}`);
  });
  return () => [...p.problems.filter((m) => !m.startsWith('console error: Failed to load resource')), ...failedLoads];
}

/**
 * Runs a test body as one user on a fresh browser context. `fn(p, check, alsoAs)`: `check(page,
 * shot)` screenshots and axe-checks a page, collecting violations so that one test reports every
 * page's; `alsoAs(name, fn)` opens a second, separate context (another person at another
 * computer) while this one stays open. Violations and browser errors on any of the contexts fail
 * the test at the end.
 */
async function journey(name, options, fn) {
  const violations = [];
  const problems = [];
  const check = async (p, shot) => {
    try {
      await checkPage(p, shot);
    } catch (err) {
      if (!String(err.message).startsWith('accessibility violations')) throw err;
      violations.push(err.message);
    }
  };
  const alsoAs = (otherName, otherFn) =>
    suite.page(otherName, {}, async (s) => {
      const problemsOf = watch(s);
      await otherFn(s);
      problems.push(...problemsOf().map((m) => `${otherName}: ${m}`));
    });
  try {
    await suite.page(name, options, async (p) => {
      const problemsOf = watch(p);
      await fn(p, check, alsoAs);
      problems.unshift(...problemsOf().map((m) => `${name}: ${m}`));
    });
  } catch (err) {
    if (violations.length && err && typeof err.message === 'string') {
      err.message += `\n  and before that:\n${violations.join('\n')}`;
    }
    throw err;
  }
  if (violations.length) throw new Error(violations.join('\n'));
  assert.deepEqual(problems, [], 'the browser should report no errors');
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

/** The text of the notification banner (success or important). */
async function banner(p) {
  const heading = p.locator('.nhsuk-notification-banner .nhsuk-notification-banner__heading');
  await heading.waitFor({ timeout: SEE_TIMEOUT_MS });
  return (await heading.innerText()).trim();
}

/** The text of the success notification banner. */
async function successBanner(p) {
  const b = p.getByRole('alert', { name: 'Success' });
  await b.waitFor({ timeout: SEE_TIMEOUT_MS });
  return (await b.locator('.nhsuk-notification-banner__heading').innerText()).trim();
}

/** Clicks a link by its exact name and waits for the page it leads to. */
async function follow(p, name) {
  await clickAndWaitForPage(p, p.getByRole('link', { name, exact: true }));
}

async function press(p, name) {
  await clickAndWaitForPage(p, p.getByRole('button', { name, exact: true }));
}

/**
 * Checks the error summary: its title, that its links are exactly `expected` (text and href),
 * and that every link's target is an element on the page. Returns the summary.
 */
async function assertErrorSummary(p, expected) {
  const summary = p.locator('.nhsuk-error-summary');
  await summary.waitFor({ state: 'attached', timeout: SEE_TIMEOUT_MS });
  await summary.getByRole('heading', { name: 'There is a problem' }).waitFor({ timeout: SEE_TIMEOUT_MS });
  const links = await summary
    .getByRole('link')
    .evaluateAll((els) => els.map((a) => [a.textContent.trim(), a.getAttribute('href')]));
  assert.deepEqual(links, expected, `error summary links on ${pathOf(p)}`);
  for (const [text, href] of links) {
    assert.ok(href.startsWith('#'), `error link "${text}" should point into the page (href ${href})`);
    assert.equal(await p.locator(href).count(), 1, `error link "${text}": its target ${href} should exist`);
  }
  return summary;
}

/** The rows of a table named by its caption, each as the text of its cells joined by " | ". */
async function tableRows(p, caption) {
  const table = p.getByRole('table', { name: caption });
  await table.waitFor({ timeout: SEE_TIMEOUT_MS });
  return table
    .locator('tbody tr')
    .evaluateAll((trs) =>
      trs.map((tr) => [...tr.children].map((cell) => cell.innerText.replace(/\s+/g, ' ').trim()).join(' | ')),
    );
}

/** The rows of the "Who you share with" table; none if there is no table (sharing with no one). */
async function sharingRows(p) {
  await p.getByRole('heading', { name: 'Share your record', level: 2 }).waitFor({ timeout: SEE_TIMEOUT_MS });
  if ((await p.getByRole('table', { name: 'Who you share with' }).count()) === 0) {
    await see(p, 'You are not sharing your record with anyone.');
    return [];
  }
  return tableRows(p, 'Who you share with');
}

/** The one row of the "Who you share with" table that names `who`. */
async function sharingRow(p, who) {
  const rows = (await tableRows(p, 'Who you share with')).filter((r) => r.includes(who));
  assert.equal(rows.length, 1, `one sharing row for ${who}, got: ${JSON.stringify(rows)}`);
  return rows[0];
}

/** The sharing form, filled in: `who` is 'professional', 'organisation' or 'carer'. */
async function fillShareForm(p, { who, email, organisation, sections, labels, access, until }) {
  const whoLabel = {
    professional: 'A named professional',
    organisation: 'A whole organisation (its clinical staff)',
    carer: 'A carer who acts for you',
  }[who];
  await p.getByRole('group', { name: 'Who do you want to share with?' }).getByRole('radio', { name: whoLabel, exact: true }).check();
  if (who === 'professional') await p.getByLabel("The professional's email address", { exact: true }).fill(email);
  if (who === 'carer') await p.getByLabel("Your carer's email address", { exact: true }).fill(email);
  if (who === 'organisation') await p.getByLabel('The organisation', { exact: true }).selectOption({ label: organisation });
  const sectionGroup = p.getByRole('group', { name: 'Which parts of your record?' });
  for (const s of sections) await sectionGroup.getByRole('checkbox', { name: s, exact: true }).check();
  const labelGroup = p.getByRole('group', { name: 'Which kinds of information?' });
  for (const l of labels) await labelGroup.getByRole('checkbox', { name: l, exact: true }).check();
  await p.getByRole('group', { name: 'What can they do?' }).getByRole('radio', { name: access, exact: true }).check();
  if (until) {
    const date = p.getByRole('group', { name: 'Until when? (optional)' });
    await date.getByLabel('Day', { exact: true }).fill(String(until.day));
    await date.getByLabel('Month', { exact: true }).fill(String(until.month));
    await date.getByLabel('Year', { exact: true }).fill(String(until.year));
  }
}

/** The 404 page for `path`: its status, title and the text of <main>. */
async function notFound(p, path) {
  const response = await p.goto(path);
  assert.ok(response, `expected a response for ${path}`);
  return {
    status: response.status(),
    title: await p.title(),
    h1: await h1Text(p),
    main: (await p.locator('main').innerText()).trim(),
  };
}

// ---------------------------------------------------------------------------------------------
// Sharing with an organisation, and stopping

test('a person shares with a GP practice, the GP sees the record, the person stops, the GP cannot', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('consent-share-and-stop', {}, async (p, check, alsoAs) => {
    // Amina shares her health record with her GP practice.
    await signInAs(p, PERSON_EMAIL);
    await follow(p, 'Who can see your record');
    assert.equal(pathOf(p), '/sharing');
    await assertH1(p, 'Who can see your record');
    // She already shares with Nina Clarke, her named contact, and not with the practice as a whole.
    assert.match(await sharingRow(p, 'Nina Clarke'), /Sharing/);
    assert.equal(await p.getByRole('button', { name: `Stop sharing with ${GP.organisation}`, exact: true }).count(), 0);
    const select = p.getByLabel('The organisation', { exact: true });
    assert.equal((await select.locator('option').first().innerText()).trim(), 'Choose an organisation');
    await check(p, 'sharing-named-contact');

    await fillShareForm(p, {
      who: 'organisation',
      organisation: GP.organisation,
      sections: ['Health record'],
      labels: ['General health information'],
      access: 'See only',
    });
    await press(p, 'Share');
    assert.equal(pathOf(p), '/sharing', 'sharing should return to the sharing page');
    assert.equal(await successBanner(p), 'You are now sharing your record.');
    const shared = await sharingRow(p, GP.organisation);
    assert.match(shared, /A whole organisation \(its clinical staff\)/);
    assert.match(shared, /Health record/);
    assert.match(shared, /General health information/);
    assert.match(shared, /See only/);
    assert.match(shared, /Sharing/);
    await check(p, 'sharing-active');

    await alsoAs('consent-share-and-stop-gp', async (s) => {
      // Dr Sarah Patel, at the practice, now sees Amina and opens her record.
      await signInAs(s, PROFESSIONAL_EMAIL);
      const link = s.getByRole('link', { name: AMINA.name, exact: true });
      await link.waitFor({ timeout: SEE_TIMEOUT_MS });
      const recordPath = await link.getAttribute('href');
      assert.match(recordPath, /^\/records\/[^/]+$/);
      await check(s, 'professional-home-shared');

      await follow(s, AMINA.name);
      assert.equal(pathOf(s), recordPath);
      await assertH1(s, AMINA.name);
      const nhs = s.locator('.nhsuk-summary-list__row').filter({ hasText: 'NHS number' });
      assert.match(await nhs.innerText(), new RegExp(AMINA.nhs));
      assert.equal(await s.locator('.nhsuk-card--warning').count(), 0, 'no emergency warning under consent');
      await check(s, 'record-shared');

      // Amina stops sharing…
      await clickAndWaitForPage(p, p.getByRole('button', { name: `Stop sharing with ${GP.organisation}`, exact: true }));
      assert.equal(pathOf(p), '/sharing');
      assert.equal(await successBanner(p), 'You have stopped sharing. It took effect straight away.');
      const stopped = await sharingRow(p, GP.organisation);
      assert.match(stopped, /Stopped/);
      assert.doesNotMatch(stopped, /Sharing|Stop sharing/, 'a stopped row has no Sharing tag and no Stop sharing button');
      assert.equal(await p.getByRole('button', { name: `Stop sharing with ${GP.organisation}`, exact: true }).count(), 0);
      assert.match(await sharingRow(p, 'Nina Clarke'), /Sharing/, 'sharing with her named contact goes on');
      await check(p, 'sharing-stopped');

      // …and at once the record is gone for Sarah: the same answer as for a record that does not exist.
      const revoked = await notFound(s, recordPath);
      assert.equal(revoked.status, 404, 'the record should be 404 once sharing stopped');
      assert.equal(revoked.h1, 'Page not found');
      await check(s, 'record-not-shared');
      const random = await notFound(s, `/records/${randomUUID()}`);
      assert.deepEqual(revoked, random, 'a record no longer shared should look exactly like one that does not exist');

      await s.goto('/');
      assert.equal(await s.getByRole('link', { name: AMINA.name }).count(), 0, 'Amina should no longer be listed');
      await see(s, 'No one has shared their record with you yet.');
    });

    // Amina sees every look, and the refusal, in her access log.
    await p.goto('/');
    await follow(p, 'Who has looked at your record');
    assert.equal(pathOf(p), '/access-log');
    await assertH1(p, 'Who has looked at your record');
    assert.equal(await p.locator('.nhsuk-card--warning').count(), 0, 'no emergency card without emergency access');
    const log = await tableRows(p, 'Access to your record, newest first');
    const bySarah = log.filter((r) => r.includes(GP.name));
    const allowed = bySarah.filter((r) => !/Refused/.test(r));
    const refused = bySarah.filter((r) => /Refused/.test(r));
    const context = `access log:\n  ${log.join('\n  ')}`;
    assert.ok(allowed.length >= 2, `at least two looks by ${GP.name} (her home list and the record), ${context}`);
    assert.ok(refused.length >= 1, `the refused look after sharing stopped, ${context}`);
    for (const row of bySarah) {
      assert.match(row, new RegExp(GP.organisation), `the organisation is named: ${row}`);
      assert.match(row, /Looked at (your health record|the summary of your health record)/, `what: ${row}`);
      // Each access by someone in an organisation can be questioned ("I don't recognise this").
      assert.match(row, /\| Your care I don't recognise this \(.+\)$/, `why, and the query link: ${row}`);
    }
    const started = log.findIndex((r) => r.includes('You started sharing your record'));
    const stopped = log.findIndex((r) => r.includes('You stopped sharing your record'));
    assert.ok(started >= 0, `"You started sharing your record", ${context}`);
    assert.ok(stopped >= 0, `"You stopped sharing your record", ${context}`);
    // Newest first: the refusal came after the stop, which came after the looks and the start.
    assert.ok(log.indexOf(refused[0]) < stopped, `the refusal is above the stop, ${context}`);
    assert.ok(stopped < log.indexOf(allowed[0]), `the stop is above the looks, ${context}`);
    assert.ok(log.indexOf(allowed.at(-1)) < started, `the looks are above the start, ${context}`);
    await p.getByRole('table').locator('.nhsuk-tag', { hasText: 'Refused' }).first().waitFor({ timeout: SEE_TIMEOUT_MS });
    await check(p, 'access-log');
  });
});

test('the sharing form says what is missing', { timeout: TEST_TIMEOUT_MS }, async () => {
  await journey('consent-share-errors', {}, async (p, check) => {
    await signInAs(p, PERSON_EMAIL);
    await p.goto('/sharing');
    // Other tests may have shared already.
    const before = await sharingRows(p);

    // Nothing chosen.
    const response = p.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/sharing');
    await press(p, 'Share');
    assert.equal((await response).status(), 400);
    assert.equal(pathOf(p), '/sharing');
    await assertErrorSummary(p, [
      ['Select who you want to share with', '#grantee'],
      ['Select at least one part of your record', '#sections'],
      ['Select at least one kind of information', '#labels'],
      ['Select what they can do', '#access'],
    ]);
    assert.match(await p.title(), /^Error: /, 'the title should say there is an error');
    for (const id of ['grantee', 'sections', 'labels', 'access']) {
      await p.locator(`#${id}-error`).waitFor({ timeout: SEE_TIMEOUT_MS });
    }
    await check(p, 'sharing-error');

    // An organisation left unchosen, and an end date in the past.
    await fillShareForm(p, {
      who: 'organisation',
      organisation: 'Choose an organisation',
      sections: ['Care plan'],
      labels: ['Mental health'],
      access: 'See and add or change',
      until: { day: 1, month: 1, year: 2020 },
    });
    await press(p, 'Share');
    assert.equal(pathOf(p), '/sharing');
    await assertErrorSummary(p, [
      ['Choose an organisation', '#organisation'],
      ['The end date must be a real date after today', '#end_day'],
    ]);
    // What was chosen is kept.
    assert.ok(await p.getByRole('radio', { name: 'A whole organisation (its clinical staff)' }).isChecked());
    assert.ok(await p.getByRole('checkbox', { name: 'Care plan', exact: true }).isChecked());
    assert.ok(await p.getByRole('checkbox', { name: 'Mental health', exact: true }).isChecked());
    assert.ok(await p.getByRole('radio', { name: 'See and add or change', exact: true }).isChecked());
    assert.equal(await p.getByRole('group', { name: 'Until when? (optional)' }).getByLabel('Year').inputValue(), '2020');
    await check(p, 'sharing-error-organisation-date');

    // A professional's address with no professional behind it.
    await fillShareForm(p, {
      who: 'professional',
      email: 'nobody@example.org',
      sections: [],
      labels: [],
      access: 'See only',
    });
    await p.getByRole('group', { name: 'Until when? (optional)' }).getByLabel('Year').fill('');
    await p.getByRole('group', { name: 'Until when? (optional)' }).getByLabel('Month').fill('');
    await p.getByRole('group', { name: 'Until when? (optional)' }).getByLabel('Day').fill('');
    await press(p, 'Share');
    await assertErrorSummary(p, [['We could not find a professional with that email address', '#professional_email']]);
    assert.equal(await p.getByLabel("The professional's email address", { exact: true }).inputValue(), 'nobody@example.org');

    // Nothing was shared.
    assert.deepEqual(await sharingRows(p), before, 'the sharing table should not have changed');
  });
});

// The NHS date-input pattern: a date's error links to its first box, so every error link lands in a field.
test(
  'each error link on the sharing form moves focus to a field',
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    await journey('consent-share-error-focus', {}, async (p) => {
      await signInAs(p, PERSON_EMAIL);
      await p.goto('/sharing');
      await p.getByRole('group', { name: 'Until when? (optional)' }).getByLabel('Year').fill('2020');
      await press(p, 'Share');
      const hrefs = await p.locator('.nhsuk-error-summary a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      assert.ok(hrefs.includes('#end_day'), `an end date error is expected, got ${hrefs.join(', ')}`);
      const unfocused = [];
      for (const href of hrefs) {
        await p.locator(`.nhsuk-error-summary a[href="${href}"]`).click();
        const focused = await p.evaluate(() => document.activeElement?.tagName);
        if (!['INPUT', 'SELECT', 'TEXTAREA'].includes(focused)) unfocused.push(`${href} (focus on ${focused})`);
      }
      assert.deepEqual(unfocused, [], 'error links that leave focus outside the form');
    });
  },
);

// ---------------------------------------------------------------------------------------------
// Emergency (break-glass) access

test('a GP opens a record in an emergency; the person is told and the organisation sees it', { timeout: TEST_TIMEOUT_MS }, async () => {
  const reason = 'Brought to surgery unconscious; need his medicines and allergies now.';
  await journey('consent-emergency', {}, async (p, check, alsoAs) => {
    await signInAs(p, PROFESSIONAL_EMAIL);
    await follow(p, 'Emergency access to a record');
    assert.equal(pathOf(p), '/emergency-access');
    await assertH1(p, 'Emergency access to a record');
    await see(p, 'Only in an emergency');
    await check(p, 'emergency-access');

    await press(p, 'Open the record');
    assert.equal(pathOf(p), '/emergency-access');
    await assertErrorSummary(p, [
      ['Enter an NHS number', '#nhs_number'],
      ['Enter the reason you need the record', '#reason'],
      ['Confirm that you understand this is recorded and reviewed', '#confirm'],
    ]);
    await check(p, 'emergency-access-error');

    await p.getByLabel('NHS number', { exact: true }).fill(DAVID.nhs);
    await p.getByLabel('Reason', { exact: true }).fill(reason);
    await p
      .getByRole('checkbox', { name: 'I understand that this is recorded, the person is told and my organisation reviews it', exact: true })
      .check();
    await press(p, 'Open the record');
    assert.match(pathOf(p), /^\/records\/[^/]+$/, 'opening should lead to the record');
    assert.equal(await banner(p), 'Emergency access is open for up to 24 hours. The person has been told.');
    await assertH1(p, DAVID.name);
    const card = p.locator('.nhsuk-card--warning');
    await card.getByRole('heading', { name: 'Emergency access', exact: true }).waitFor({ timeout: SEE_TIMEOUT_MS });
    await see(p, DAVID.nhs);
    await check(p, 'record-emergency');

    // David is emailed…
    if (!noMail) {
      const email = await suite.mail.waitFor((m) => m.to.includes(DAVID_EMAIL));
      assert.equal(email.subject, 'Your CarePact record was opened in an emergency');
      assert.match(email.text, /https?:\/\/[^\s/]+\/access-log/, 'the email links to the access log');
    }

    // …and sees who and why at the top of his access log.
    await alsoAs('consent-emergency-person', async (d) => {
      await signInAs(d, DAVID_EMAIL);
      await follow(d, 'Who has looked at your record');
      await assertH1(d, 'Who has looked at your record');
      const warning = d.locator('.nhsuk-card--warning');
      await warning.getByRole('heading', { name: 'Your record was opened in an emergency' }).waitFor({ timeout: SEE_TIMEOUT_MS });
      const rows = await tableRows(d, 'Emergency access');
      assert.equal(rows.length, 1, `one emergency access: ${JSON.stringify(rows)}`);
      assert.match(rows[0], new RegExp(`^${GP.name} ${GP.organisation} \\|`));
      assert.ok(rows[0].endsWith(`| ${reason}`), `the reason is shown: ${rows[0]}`);
      // The emergency card and table come before the log.
      const order = await d.locator('main').evaluate((main) => {
        const card = main.querySelector('.nhsuk-card--warning');
        const log = [...main.querySelectorAll('table')].find((t) => t.caption?.textContent.includes('newest first'));
        return card && log ? Boolean(card.compareDocumentPosition(log) & Node.DOCUMENT_POSITION_FOLLOWING) : null;
      });
      assert.equal(order, true, 'the emergency card should be above the access log');
      const log = await tableRows(d, 'Access to your record, newest first');
      assert.ok(
        log.some((r) => r.includes(GP.name) && r.includes('Opened your record in an emergency')),
        `the log records the emergency access:\n  ${log.join('\n  ')}`,
      );
      await check(d, 'access-log-emergency');
    });

    // Linda, Riverside's organisation admin, reviews it without learning whose record it was.
    await alsoAs('consent-emergency-report', async (a) => {
      await signInAs(a, ORG_ADMIN_EMAIL);
      await follow(a, 'Manage staff');
      await assertH1(a, GP.organisation);
      await follow(a, 'Emergency access by your staff');
      assert.match(pathOf(a), /^\/organisations\/[^/]+\/emergency-access$/);
      await assertH1(a, 'Emergency access by your staff');
      const rows = await tableRows(a, 'Emergency access');
      assert.equal(rows.length, 1, `one emergency access: ${JSON.stringify(rows)}`);
      assert.match(rows[0], new RegExp(`^${GP.name}`));
      assert.ok(rows[0].endsWith(`| ${reason}`), `the reason is shown: ${rows[0]}`);
      const main = await a.locator('main').innerText();
      for (const secret of ['David', 'Evans', 'Dave', DAVID.nhs, DAVID.nhs.replace(/ /g, '')]) {
        assert.ok(!main.includes(secret), `the report should not name the person (found "${secret}")`);
      }
      await check(a, 'emergency-report');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Asking for access

test('a nurse asks to see a record and the person shares it', { timeout: TEST_TIMEOUT_MS }, async () => {
  const reason = 'I am your new community mental health nurse and will visit next week.';
  await journey('consent-request', {}, async (p, check, alsoAs) => {
    await signInAs(p, NURSE_EMAIL);
    await follow(p, 'Ask to see a record');
    assert.equal(pathOf(p), '/access-requests');
    await assertH1(p, 'Ask to see a record');
    await check(p, 'access-requests');

    await press(p, 'Send request');
    await assertErrorSummary(p, [
      ['Enter an NHS number', '#nhs_number'],
      ['Select at least one part of the record', '#sections'],
      ['Say why you are asking', '#reason'],
    ]);
    await check(p, 'access-requests-error');

    await p.getByLabel('NHS number', { exact: true }).fill(DAVID.nhs);
    const sections = p.getByRole('group', { name: 'Which parts of their record?' });
    await sections.getByRole('checkbox', { name: 'Health record', exact: true }).check();
    await sections.getByRole('checkbox', { name: 'Questionnaires', exact: true }).check();
    await p.getByLabel('Why you are asking', { exact: true }).fill(reason);
    await press(p, 'Send request');
    assert.equal(pathOf(p), '/access-requests');
    assert.equal(await successBanner(p), 'Your request has been sent. If the person uses CarePact, they will be asked.');
    let rows = await tableRows(p, 'Your requests');
    assert.equal(rows.length, 1, `one request: ${JSON.stringify(rows)}`);
    assert.match(rows[0], new RegExp(`^${DAVID.nhs} \\|.*\\| Waiting$`));
    await check(p, 'access-requests-waiting');

    if (!noMail) {
      const email = await suite.mail.waitFor((m) => m.to.includes(DAVID_EMAIL) && /asked to see/.test(m.subject));
      assert.equal(email.subject, 'Someone has asked to see your CarePact record');
      assert.match(email.text, /https?:\/\/[^\s/]+\/sharing/, 'the email links to the sharing page');
    }

    await alsoAs('consent-request-person', async (d) => {
      await signInAs(d, DAVID_EMAIL);
      await follow(d, 'Who can see your record');
      await d.getByRole('heading', { name: 'Requests to see your record', level: 2 }).waitFor({ timeout: SEE_TIMEOUT_MS });
      const card = d.locator('.nhsuk-card').filter({ has: d.getByRole('heading', { name: /^Jo Adeyemi/ }) });
      await card.waitFor({ timeout: SEE_TIMEOUT_MS });
      const text = (await card.innerText()).replace(/\s+/g, ' ');
      assert.match(text, /Jo Adeyemi, Northfield Community Mental Health Team/);
      assert.match(text, /Asks to see: Health record, Questionnaires\./);
      assert.ok(text.includes(reason), `the reason is shown: ${text}`);
      await card.getByRole('button', { name: /^Decline/ }).waitFor({ timeout: SEE_TIMEOUT_MS });
      await check(d, 'sharing-request');

      await clickAndWaitForPage(d, card.getByRole('button', { name: /^Share\b/ }));
      assert.equal(pathOf(d), '/sharing');
      assert.equal(await successBanner(d), 'You are now sharing your record with them. You can stop at any time.');
      assert.equal(await d.getByRole('heading', { name: 'Requests to see your record' }).count(), 0, 'no request left');
      const row = await sharingRow(d, 'Jo Adeyemi');
      assert.match(row, /A named professional/);
      assert.match(row, /Health record, Questionnaires/);
      assert.match(row, /Sharing/);
      await check(d, 'sharing-request-approved');
    });

    await p.goto('/access-requests');
    rows = await tableRows(p, 'Your requests');
    assert.match(rows[0], new RegExp(`^${DAVID.nhs} \\|.*\\| Shared with you$`));
    await check(p, 'access-requests-shared');
    await p.goto('/');
    await p.getByRole('link', { name: DAVID.name, exact: true }).waitFor({ timeout: SEE_TIMEOUT_MS });
  });
});

// ---------------------------------------------------------------------------------------------
// Without JavaScript

test('sharing and stopping work without JavaScript', { timeout: TEST_TIMEOUT_MS }, async () => {
  const year = new Date().getUTCFullYear() + 1;
  await journey('consent-no-javascript', { javaScriptEnabled: false }, async (p) => {
    await signInAs(p, PERSON_EMAIL);
    await follow(p, 'Who can see your record');
    await fillShareForm(p, {
      who: 'professional',
      email: NO_JS_GRANTEE_EMAIL,
      sections: ['Health record', 'Care plan'],
      labels: ['General health information', 'Social care'],
      access: 'See and add or change',
      until: { day: 31, month: 12, year },
    });
    await press(p, 'Share');
    assert.equal(pathOf(p), '/sharing');
    assert.equal(await successBanner(p), 'You are now sharing your record.');
    const row = await sharingRow(p, 'Tom Hughes');
    assert.match(row, /A named professional/);
    assert.match(row, /Health record, Care plan/);
    assert.match(row, /General health information, Social care/);
    assert.match(row, /See and add or change/);
    assert.match(row, new RegExp(`Until 31 December ${year}\\.`));
    assert.match(row, /Sharing/);

    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Stop sharing with Tom Hughes', exact: true }));
    assert.equal(pathOf(p), '/sharing');
    assert.equal(await successBanner(p), 'You have stopped sharing. It took effect straight away.');
    assert.match(await sharingRow(p, 'Tom Hughes'), /Stopped/);
    assert.equal(await p.getByRole('button', { name: 'Stop sharing with Tom Hughes' }).count(), 0);
  });
});
