// Care and support plan browser tests: the person changes the plan she agreed with her named contact,
// writing what matters and a goal in her own words, and shares it with her practice; the GP adds an
// action and a contingency plan, both agree the same version, a later edit shows as changed since
// agreed, and the comparison highlights it. Every page is screenshotted and checked with axe-core.
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
  signIn,
  useServerAndBrowser,
} from './lib.mjs';

const SEE_TIMEOUT_MS = 5_000;
const suite = useServerAndBrowser({ logName: 'server-care-plan.log' });

async function see(p, text) {
  await p.getByText(text).first().waitFor({ timeout: SEE_TIMEOUT_MS });
}

async function save(p) {
  await clickAndWaitForPage(p, p.getByRole('button', { name: 'Save', exact: true }));
}

test('the person and their GP write the plan together and agree it', { timeout: TEST_TIMEOUT_MS }, async () => {
  let planUrl = '';
  await suite.page('plan-person-writes', {}, async (p) => {
    await signIn(p, PERSON_EMAIL, DEMO_PASSWORD);
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Your care and support plan' }));
    planUrl = p.url();
    // Amina and Nina Clarke, her named contact, agreed her plan a month ago.
    await see(p, 'Walk to the shop and back instead of taking the car');
    assert.equal(await p.locator('.nhsuk-tag', { hasText: /^Agreed$/ }).count(), 1, 'the demo plan starts agreed');
    await checkPage(p, 'plan-demo-agreed');

    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Change About me' }));
    await p.getByLabel('What matters to me').fill('Seeing my grandchildren every Sunday.');
    await checkPage(p, 'plan-form-about');
    await save(p);
    await see(p, 'Your change has been saved as a new version of the plan.');
    await see(p, 'Changed since it was agreed');

    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Add a goal' }));
    await save(p);
    await see(p, 'There is a problem');
    await checkPage(p, 'plan-form-goal-error');
    await p.getByLabel('Goal', { exact: true }).fill('Walk to the park and back without stopping');
    await save(p);
    await see(p, 'Walk to the park and back without stopping');

    // Share the plan with the practice, to see and change.
    await p.goto('/sharing');
    await p.getByRole('group', { name: 'Who do you want to share with?' }).getByRole('radio', { name: 'A whole organisation (its clinical staff)', exact: true }).check();
    await p.getByLabel('The organisation', { exact: true }).selectOption({ label: 'Riverside Medical Practice' });
    await p.getByRole('group', { name: 'Which parts of your record?' }).getByRole('checkbox', { name: 'Care plan', exact: true }).check();
    await p.getByRole('group', { name: 'Which kinds of information?' }).getByRole('checkbox', { name: 'General health information', exact: true }).check();
    await p.getByRole('group', { name: 'What can they do?' }).getByRole('radio', { name: 'See and add or change', exact: true }).check();
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Share' }));
  });

  await suite.page('plan-gp-adds', {}, async (p) => {
    await signIn(p, PROFESSIONAL_EMAIL, DEMO_PASSWORD);
    await p.goto(planUrl);
    await see(p, 'Walk to the park and back without stopping');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Add an action' }));
    await p.getByLabel('What', { exact: true }).fill('Check blood pressure at the practice');
    await p.getByLabel('Who does it').selectOption({ label: 'A professional' });
    await p.getByLabel('Name of the person or service').fill('Dr Sarah Patel');
    await p.getByLabel('Which goal it is for').selectOption({ label: 'Walk to the park and back without stopping' });
    await checkPage(p, 'plan-form-action');
    await save(p);
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Change If things get worse' }));
    await p.getByLabel('Signs that things are getting worse').fill('Chest pain, or breathless when resting');
    await p.getByLabel('Who to call').fill('Riverside Medical Practice, 0121 496 0000');
    await p.getByLabel('Out of hours').fill('Call 111, or 999 in an emergency');
    await save(p);
    await see(p, 'Call 111, or 999 in an emergency');
    await clickAndWaitForPage(p, p.getByRole('button', { name: /^Agree version/ }));
    await see(p, 'It is agreed when the other side agrees it too.');
    await see(p, 'Changed since it was agreed');
    await checkPage(p, 'plan-gp-agreed');
  });

  await suite.page('plan-person-agrees-and-edits', {}, async (p) => {
    await signIn(p, PERSON_EMAIL, DEMO_PASSWORD);
    await p.goto(planUrl);
    await see(p, 'Check blood pressure at the practice');
    await clickAndWaitForPage(p, p.getByRole('button', { name: /^Agree version/ }));
    await see(p, 'The plan is agreed by both of you.');
    assert.equal(await p.locator('.nhsuk-tag', { hasText: /^Agreed$/ }).count(), 1, 'the plan shows as agreed');
    await checkPage(p, 'plan-agreed');

    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Change Walk to the park and back without stopping' }));
    await p.getByLabel('Goal', { exact: true }).fill('Walk to the big park and back without stopping');
    await save(p);
    await see(p, 'Changed since it was agreed');
    await checkPage(p, 'plan-changed-since-agreed');

    await clickAndWaitForPage(p, p.getByRole('link', { name: 'See every version and compare them' }));
    await checkPage(p, 'plan-versions');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Compare versions' }));
    await see(p, '1 part changed.');
    assert.equal(await p.locator('ins', { hasText: 'big' }).count(), 1, 'the added word is marked');
    await checkPage(p, 'plan-compare');

    await p.goto(`${planUrl}/print`);
    await checkPage(p, 'plan-print');
  });
});
