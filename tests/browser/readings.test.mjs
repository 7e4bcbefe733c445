// Self-monitoring browser tests: Amina records two high blood-pressure readings within a week and is
// shown the advice agreed in her plan; Nina Clarke, her named contact, sees the alert, acknowledges it
// and it leaves her open list. A PHQ-9 answered with thoughts of self-harm shows safety advice at once
// and raises an urgent alert. The quick entry form also works without JavaScript. Every page is
// screenshotted and checked with axe-core.
//
//   cd tests/browser && npm test          (server binary from CAREPACT_BIN or target/debug/carepact)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEMO_PASSWORD, PERSON_EMAIL, TEST_TIMEOUT_MS, checkPage, clickAndWaitForPage, signIn, useServerAndBrowser } from './lib.mjs';

const SEE_TIMEOUT_MS = 5_000;
const NINA_EMAIL = 'nina.clarke@carepact.example';
const ADVICE = 'Your blood pressure has been above 160 twice this week.';
const suite = useServerAndBrowser({ logName: 'server-readings.log' });

async function see(p, text) {
  await p.getByText(text).first().waitFor({ timeout: SEE_TIMEOUT_MS });
}

async function recordBloodPressure(p, systolic, diastolic) {
  await p.goto('/');
  await clickAndWaitForPage(p, p.getByRole('link', { name: 'Your readings' }));
  await clickAndWaitForPage(p, p.getByRole('link', { name: 'Blood pressure', exact: true }).first());
  await p.getByLabel('Systolic (the higher number, mmHg)').fill(systolic);
  await p.getByLabel('Diastolic (the lower number, mmHg)').fill(diastolic);
  await clickAndWaitForPage(p, p.getByRole('button', { name: 'Save reading' }));
  await see(p, 'Your reading has been saved.');
}

test('two high blood pressure readings show the agreed advice and reach the named contact, who acknowledges', { timeout: TEST_TIMEOUT_MS }, async () => {
  await suite.page('readings-person', {}, async (p) => {
    await signIn(p, PERSON_EMAIL, DEMO_PASSWORD);
    await p.goto('/');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Your readings' }));
    await see(p, 'Latest readings');
    await checkPage(p, 'readings');

    // An implausible reading is refused, naming the range.
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Blood pressure', exact: true }).first());
    await checkPage(p, 'reading-new');
    await p.getByLabel('Systolic (the higher number, mmHg)').fill('400');
    await p.getByLabel('Diastolic (the lower number, mmHg)').fill('90');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Save reading' }));
    await see(p, 'Enter a reading between 50 and 300 mmHg');
    await checkPage(p, 'reading-new-error');

    await recordBloodPressure(p, '165', '95');
    assert.match(p.url(), /\/readings\/blood-pressure$/, 'one high reading is saved without an alert');
    await see(p, 'Agreed target:');
    assert.equal(await p.locator('svg.app-chart[role="img"]').count(), 1, 'the chart is drawn on the server');
    await checkPage(p, 'reading-chart');

    await recordBloodPressure(p, '170', '100');
    assert.match(p.url(), /\/alerts\/[0-9a-f-]+$/, 'the second goes straight to the agreed advice');
    await see(p, ADVICE);
    await see(p, '170/100 mmHg');
    await see(p, '165/95 mmHg');
    await checkPage(p, 'alert-person');
  });

  await suite.page('readings-named-contact', {}, async (p) => {
    await signIn(p, NINA_EMAIL, DEMO_PASSWORD);
    await p.goto('/');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Alerts to act on' }));
    const row = p.locator('tr', { hasText: 'Amina Khan' });
    await row.first().waitFor({ timeout: SEE_TIMEOUT_MS });
    assert.match(await row.first().innerText(), /Blood pressure/);
    await checkPage(p, 'alerts');
    await clickAndWaitForPage(p, row.first().getByRole('link', { name: 'Amina Khan' }));
    await see(p, ADVICE);
    await checkPage(p, 'alert-named-contact');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Acknowledge' }));
    await see(p, 'The alert has been acknowledged.');
    assert.equal(await p.locator('tr', { hasText: 'Amina Khan' }).count(), 0, 'gone from the open list');
  });
});

test('a PHQ-9 with thoughts of self-harm shows safety advice and raises an urgent alert', { timeout: TEST_TIMEOUT_MS }, async () => {
  await suite.page('phq9-person', {}, async (p) => {
    await signIn(p, PERSON_EMAIL, DEMO_PASSWORD);
    await p.goto('/');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Your questionnaires' }));
    await see(p, 'Results over time');
    await checkPage(p, 'questionnaires');
    await clickAndWaitForPage(p, p.getByRole('link', { name: /PHQ-9/ }).first());
    await checkPage(p, 'questionnaire-form');
    const groups = p.getByRole('group');
    const count = await groups.count();
    for (let i = 0; i < count; i += 1) {
      const g = groups.nth(i);
      const legend = (await g.locator('legend').innerText()).trim();
      if (/difficult/i.test(legend)) continue;
      const answer = /(hurting yourself|better off dead)/i.test(legend) ? 'Several days' : 'Not at all';
      await g.getByRole('radio', { name: answer, exact: true }).check();
    }
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Send answers' }));
    await see(p, 'You said you have had thoughts of hurting yourself');
    await see(p, 'Call Samaritans free on 116 123');
    await checkPage(p, 'questionnaire-result-urgent');
  });

  await suite.page('phq9-named-contact', {}, async (p) => {
    await signIn(p, NINA_EMAIL, DEMO_PASSWORD);
    await p.goto('/alerts');
    const row = p.locator('tr', { hasText: 'Mood (PHQ-9)' }).filter({ hasText: 'Amina Khan' });
    await row.first().waitFor({ timeout: SEE_TIMEOUT_MS });
    assert.match(await row.first().innerText(), /Urgent/);
  });
});

test('a reading can be added without JavaScript', { timeout: TEST_TIMEOUT_MS }, async () => {
  await suite.page('readings-no-javascript', { javaScriptEnabled: false }, async (p) => {
    await signIn(p, PERSON_EMAIL, DEMO_PASSWORD);
    await p.goto('/');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Your readings' }));
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Weight', exact: true }).first());
    // Stones and pounds, in the disclosure that opens without JavaScript.
    await p.getByRole('radio', { name: 'Stones and pounds' }).check();
    await p.locator('summary', { hasText: 'Weigh yourself in stones and pounds?' }).click();
    await p.getByLabel('Stones', { exact: true }).fill('11');
    await p.getByLabel('Pounds', { exact: true }).fill('4');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Save reading' }));
    await see(p, 'Your reading has been saved.');
    await see(p, '71.7 kg');
  });
});
