// Foundation browser tests: signing in and out, the home pages, errors, and pages without
// JavaScript. Every page a test visits is screenshotted and checked with axe-core.
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

const { page } = useServerAndBrowser();

test('a person signs in and sees their home page', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page('person-home', {}, async (p) => {
    await p.goto('/sign-in');
    await checkPage(p, 'sign-in');

    await fillSignIn(p, PERSON_EMAIL, DEMO_PASSWORD);
    assert.equal(pathOf(p), '/');
    const h1 = p.getByRole('heading', { level: 1 });
    await h1.waitFor();
    assert.match(await h1.innerText(), /Amina Khan/);
    await p.getByText('Nina Clarke').first().waitFor(); // her named contact
    await p.getByText('943 476 5919').first().waitFor();
    await checkPage(p, 'person-home');
  });
});

test('a wrong password shows the error summary', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page('sign-in-error', {}, async (p) => {
    await signIn(p, PERSON_EMAIL, 'not-the-password');
    assert.equal(pathOf(p), '/sign-in');

    const summary = p.locator('.nhsuk-error-summary');
    await summary.waitFor({ state: 'attached' });
    const visible = await summary.isVisible();
    const focused = await summary.evaluate((el) => el === document.activeElement || el.contains(document.activeElement));
    assert.ok(visible || focused, 'the error summary should be visible or focused');

    await summary.getByRole('heading', { name: 'There is a problem' }).waitFor();
    const link = summary.getByRole('link', { name: 'Enter a correct email address and password' });
    await link.waitFor();
    assert.equal(await link.getAttribute('href'), '#email');
    await checkPage(p, 'sign-in-error');
  });
});

test('signing out ends the session', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page('signed-out', {}, async (p) => {
    await signIn(p, PERSON_EMAIL, DEMO_PASSWORD);
    assert.equal(pathOf(p), '/', 'signing in should land on the home page');

    await clickAndWaitForPage(p, p.locator('header').getByRole('button', { name: 'Sign out', exact: true }));
    assert.equal(pathOf(p), '/sign-in');
    await p.getByText('You have signed out').first().waitFor();
    await checkPage(p, 'signed-out');

    await p.goto('/');
    assert.equal(pathOf(p), '/sign-in', 'the home page should need signing in again');
  });
});

test('a professional sees their organisation', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page('professional-home', {}, async (p) => {
    await signIn(p, PROFESSIONAL_EMAIL, DEMO_PASSWORD);
    assert.notEqual(pathOf(p), '/sign-in', 'the professional should be signed in');
    await p.getByText('Riverside Medical Practice').first().waitFor();
    await p.getByText('No one has shared their record with you yet').first().waitFor();
    await checkPage(p, 'professional-home');
  });
});

test('the not-found page is helpful', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page('not-found', {}, async (p) => {
    const response = await p.goto('/no-such-page');
    assert.ok(response, 'expected a response');
    assert.equal(response.status(), 404);
    const h1 = p.getByRole('heading', { level: 1 });
    await h1.waitFor();
    assert.equal((await h1.innerText()).trim(), 'Page not found');
    await checkPage(p, 'not-found');
  });
});

test('pages work without JavaScript', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page('no-javascript', { javaScriptEnabled: false }, async (p) => {
    await signIn(p, PERSON_EMAIL, DEMO_PASSWORD);
    assert.equal(pathOf(p), '/');
    const h1 = p.getByRole('heading', { level: 1 });
    await h1.waitFor();
    assert.match(await h1.innerText(), /Amina Khan/);
  });
});
