// "My record" browser tests: the person reads the summary of their GP record (imported by the
// demo), filters the timeline, opens an item, adds a note and tells the practice something is
// wrong; a GP without consent cannot open the item. Every page is screenshotted and checked with
// axe-core.
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
  pathOf,
  signIn,
  useServerAndBrowser,
} from './lib.mjs';

const SEE_TIMEOUT_MS = 5_000;
const suite = useServerAndBrowser({ logName: 'server-record.log' });

async function see(p, text) {
  await p.getByText(text).first().waitFor({ timeout: SEE_TIMEOUT_MS });
}

test('a person reads their record, adds a note and asks for a correction', { timeout: TEST_TIMEOUT_MS }, async () => {
  let itemUrl = '';
  await suite.page('record-person', {}, async (p) => {
    await signIn(p, PERSON_EMAIL, DEMO_PASSWORD);
    assert.equal(pathOf(p), '/');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Your health record' }));
    await see(p, 'Current problems');
    await see(p, 'Current medicines');
    await see(p, /Metformin/);
    await checkPage(p, 'record-summary');

    await clickAndWaitForPage(p, p.getByRole('link', { name: /See everything in the record/ }));
    await checkPage(p, 'record-timeline');
    await p.getByLabel('Type of record').selectOption({ label: 'Medicine' });
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Show records' }));
    await see(p, /Metformin/);
    assert.equal(await p.getByText(/HbA1c/).count(), 0, 'only medicines are listed');
    await checkPage(p, 'record-timeline-medicines');

    await p.getByLabel('From date').fill('31 March');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Show records' }));
    await see(p, 'There is a problem');
    await checkPage(p, 'record-timeline-bad-date');
    await p.getByLabel('From date').fill('');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Show records' }));

    await clickAndWaitForPage(p, p.getByRole('link', { name: /Metformin/ }).first());
    itemUrl = p.url();
    await see(p, 'Riverside Medical Practice');
    await checkPage(p, 'record-item');

    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Send to the organisation' }));
    await see(p, 'Say what is wrong or missing');
    await checkPage(p, 'record-item-correction-error');

    await p.getByLabel('Add a note').fill('I take this with my breakfast.');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Add note' }));
    await see(p, 'Your note has been added.');
    await see(p, 'I take this with my breakfast.');

    await p.getByLabel('Is something wrong or missing?').fill('My dose went up to two tablets in March.');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Send to the organisation' }));
    await see(p, /has been sent to the organisation/);
    await see(p, 'Waiting for a reply');
    await checkPage(p, 'record-item-after-note-and-correction');

    await p.goto(itemUrl.replace(/\/items\/.*$/, ''));
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Get a copy of everything CarePact holds about you' }));
    await see(p, 'I take this with my breakfast.');
    await checkPage(p, 'record-export');

    await p.goto('/access-log/0190c9a0-0000-7000-8000-000000000000/query');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Send' }));
    await see(p, 'There is a problem');
    await checkPage(p, 'access-query-error');
  });

  await suite.page('record-practice-work-list', {}, async (p) => {
    await signIn(p, 'linda.brown@carepact.example', DEMO_PASSWORD);
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Requests from people' }));
    await see(p, 'My dose went up to two tablets in March.');
    await checkPage(p, 'work-list');
    await p.getByLabel('Your reply to the person').first().fill('Thank you: we have updated your record.');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Send reply' }).first());
    await see(p, 'Your reply has been sent.');
    await see(p, 'There are no requests waiting.');
  });

  await suite.page('record-gp-without-consent', {}, async (p) => {
    await signIn(p, PROFESSIONAL_EMAIL, DEMO_PASSWORD);
    const response = await p.goto(itemUrl);
    assert.equal(response.status(), 404, 'without consent the item is not found');
  });
});

test('a person adds a file to their record, and is shown what is wrong with a broken one', { timeout: TEST_TIMEOUT_MS }, async () => {
  const fhirFile = (name) => new URL(`../fhir/${name}`, import.meta.url).pathname;
  await suite.page('record-upload', {}, async (p) => {
    await signIn(p, PERSON_EMAIL, DEMO_PASSWORD);
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Your health record' }));
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Add health records from a file' }));
    await checkPage(p, 'record-upload');

    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Add to record' }));
    await see(p, 'There is a problem');
    await see(p, 'Select a file to upload');
    await checkPage(p, 'record-upload-no-file');

    await p.getByLabel('Upload a file').setInputFiles(fhirFile('broken-entries.json'));
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Add to record' }));
    await see(p, 'Nothing from the file has been added');
    await see(p, /problems in the file/);
    await see(p, 'entry[1].resource');
    await checkPage(p, 'record-upload-problems');

    await p.getByLabel('Upload a file').setInputFiles(fhirFile('gp-record-transaction.json'));
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Add to record' }));
    await see(p, 'The file has been added to the record');
    await checkPage(p, 'record-upload-done');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Go back to the record' }));
    await see(p, 'Current problems');

    // The access log shows the upload, and can be filtered to what changed.
    await p.goto('/access-log');
    await p.getByLabel('What happened').selectOption({ label: 'Someone added or changed something' });
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Show entries' }));
    await see(p, 'Added records to your health record from a file');
    assert.equal(await p.getByText('You looked at who has looked at your record').count(), 0, 'only changes are listed');
    await checkPage(p, 'access-log-filtered');
    await p.getByLabel('From date').fill('yesterday');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Show entries' }));
    await see(p, 'There is a problem');
    await checkPage(p, 'access-log-bad-date');
  });
});
