// Care team and messages browser tests: David writes to his named contact (who usually replies
// within 2 working days), the message reaches her inbox and a real SMTP server; with the mail
// server down, the email waits in CarePact's outbox and is sent once the server is back; she
// replies and David sees it. Every page is screenshotted and checked with axe-core.
//
//   cd tests/browser && npm test          (server binary from CAREPACT_BIN or target/debug/carepact)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEMO_PASSWORD,
  TEST_TIMEOUT_MS,
  checkPage,
  clickAndWaitForPage,
  signIn,
  useServerAndBrowser,
} from './lib.mjs';
import { startMailSink } from './mail.mjs';

const SEE_TIMEOUT_MS = 5_000;
/** The outbox retries a failed delivery after 30 seconds: wait a little longer than that. */
const RETRY_WAIT_MS = 75_000;
const DAVID_EMAIL = 'david@carepact.example';
const NINA_EMAIL = 'nina.clarke@carepact.example';
const suite = useServerAndBrowser({ logName: 'server-messages.log', startMail: startMailSink });

async function see(p, text) {
  await p.getByText(text).first().waitFor({ timeout: SEE_TIMEOUT_MS });
}

async function send(p, subject, body) {
  await p.goto('/');
  await clickAndWaitForPage(p, p.getByRole('link', { name: 'Your messages' }));
  await clickAndWaitForPage(p, p.getByRole('link', { name: 'Send a new message' }));
  await see(p, 'Usually replies within 2 working days.');
  await p.getByLabel('Subject').fill(subject);
  await p.getByLabel('Your message').fill(body);
  await clickAndWaitForPage(p, p.getByRole('button', { name: 'Send' }));
  await see(p, 'Your message has been sent.');
}

test('a message reaches the named contact by email, even when the mail server was down', { timeout: TEST_TIMEOUT_MS + RETRY_WAIT_MS }, async () => {
  await suite.page('messages-person', {}, async (p) => {
    await signIn(p, DAVID_EMAIL, DEMO_PASSWORD);
    await p.goto('/');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Your care team' }));
    await see(p, 'Nina Clarke');
    await see(p, 'Named contact');
    await checkPage(p, 'team');
    await p.goto('/');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Your messages' }));
    await see(p, 'Rescue pack');
    await checkPage(p, 'messages');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Send a new message' }));
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Send' }));
    await see(p, 'Enter a subject');
    await checkPage(p, 'message-new-errors');

    await send(p, 'New inhaler', 'The new inhaler makes my mouth sore. Should I keep using it?');
    await checkPage(p, 'message-thread');
    const email = await suite.mail.waitFor((m) => m.to.includes(NINA_EMAIL));
    assert.equal(email.subject, 'You have a new message in CarePact');
    assert.match(email.text, /https?:\/\/[^\s/]+\/records\/[0-9a-f-]+\/messages/, 'the email links to the messages');
    assert.doesNotMatch(email.text, /inhaler|mouth/, 'the email says nothing of what the message says');

    // The mail server goes down: the next email waits in the outbox and goes once it is back.
    const port = suite.mail.port;
    await suite.mail.stop();
    await send(p, 'Sore mouth', 'It is worse today.');
    await new Promise((r) => setTimeout(r, 3_000)); // the worker's next round fails against the closed port
    suite.mail = await startMailSink({ port });
    const late = await suite.mail.waitFor((m) => m.to.includes(NINA_EMAIL), RETRY_WAIT_MS);
    assert.equal(late.subject, 'You have a new message in CarePact');
  });

  await suite.page('messages-named-contact', {}, async (p) => {
    await signIn(p, NINA_EMAIL, DEMO_PASSWORD);
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Messages from people you look after' }));
    await see(p, 'David Evans');
    await see(p, /conversations? with new messages/);
    await checkPage(p, 'inbox');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'David Evans' }));
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'New inhaler' }));
    await see(p, 'The new inhaler makes my mouth sore.');
    await p.getByLabel('Reply').fill('Rinse your mouth with water after each use. I will call you on Thursday.');
    await clickAndWaitForPage(p, p.getByRole('button', { name: 'Send' }));
    await see(p, 'Your message has been sent.');
    await p.goto('/notifications');
    await see(p, 'You have a new message');
    await checkPage(p, 'notifications');
  });

  await suite.page('messages-person-reads-reply', {}, async (p) => {
    await signIn(p, DAVID_EMAIL, DEMO_PASSWORD);
    await p.goto('/');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'Your messages' }));
    await see(p, '1 new');
    await clickAndWaitForPage(p, p.getByRole('link', { name: 'New inhaler' }));
    await see(p, 'Rinse your mouth with water after each use.');
  });
});
