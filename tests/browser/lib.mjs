// Helpers for CarePact's browser tests: start the server, drive Debian's Chromium through
// playwright-core, screenshot pages and check them with axe-core.
//
// Environment:
//   CAREPACT_BIN       server binary (default <repo>/target/debug/carepact)
//   CAREPACT_BASE_URL  test an already running server instead of starting one
//   CAREPACT_CHROMIUM  browser binary (default /usr/bin/chromium)
//
// Output goes to <repo>/test-output/browser/: server.log (or the logName given to startServer),
// screenshots/NAME.png and, for a failed test, failures/NAME.png.

import { spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const outputDir = join(repoRoot, 'test-output', 'browser');
export const screenshotDir = join(outputDir, 'screenshots');
export const failureDir = join(outputDir, 'failures');
export const serverLogPath = join(outputDir, 'server.log');

export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

// Demo accounts created by `carepact serve --demo`.
export const DEMO_PASSWORD = 'demo-carepact-2026';
export const PERSON_EMAIL = 'amina@carepact.example';
export const PROFESSIONAL_EMAIL = 'sarah.patel@carepact.example';

/** Timeout for one test (a debug build is slow to hash passwords; a journey visits many pages). */
export const TEST_TIMEOUT_MS = 120_000;

const READY_TIMEOUT_MS = 60_000;
// Generous: a debug build hashes passwords slowly on 2 cores.
const ACTION_TIMEOUT_MS = 30_000;

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tail(path, lines = 40) {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts `CAREPACT_BIN serve --demo` on a free loopback port with a fresh SQLite database,
 * and waits until GET /readyz answers 200. Returns { baseURL, stop() }.
 *
 * Options: `extraArgs` are appended to the serve command line (e.g. ['--smtp-url', url]);
 * `logName` names the log file in test-output/browser/ (default server.log), so that several
 * test files do not overwrite each other's logs.
 */
export async function startServer({ extraArgs = [], logName = 'server.log' } = {}) {
  mkdirSync(outputDir, { recursive: true });
  const logPath = join(outputDir, logName);

  if (process.env.CAREPACT_BASE_URL) {
    const baseURL = process.env.CAREPACT_BASE_URL.replace(/\/+$/, '');
    await waitForReady(baseURL, null);
    return { baseURL, stop: async () => {} };
  }

  const bin = process.env.CAREPACT_BIN || join(repoRoot, 'target', 'debug', 'carepact');
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(
      `CarePact server binary not found or not executable: ${bin}\n` +
        `Build it first (cargo build -p <server crate>), or set CAREPACT_BIN to its path.`,
    );
  }

  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'carepact-browser-'));
  const baseURL = `http://127.0.0.1:${port}`;
  const args = [
    'serve',
    '--demo',
    '--addr',
    `127.0.0.1:${port}`,
    '--database-url',
    `sqlite://${join(dataDir, 'carepact.db')}`,
    ...extraArgs,
  ];

  const log = createWriteStream(logPath, { flags: 'w' });
  log.write(`$ ${bin} ${args.join(' ')}\n`);
  const child = spawn(bin, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });

  let exited = null;
  const exitPromise = new Promise((r) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      r(exited);
    });
  });
  child.on('error', (err) => {
    exited = { code: null, signal: null, error: err };
  });
  // If the test process dies, do not leave the server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const stop = async () => {
    process.off('exit', killOnExit);
    if (!exited) {
      child.kill('SIGTERM');
      let timer;
      const timeout = new Promise((r) => {
        timer = setTimeout(() => r(null), 10_000);
      });
      const done = await Promise.race([exitPromise, timeout]);
      clearTimeout(timer); // a pending timer would keep node (and the test run) alive
      if (!done) {
        child.kill('SIGKILL');
        await exitPromise;
      }
    }
    await new Promise((r) => log.end(r));
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    await waitForReady(baseURL, () => exited);
  } catch (err) {
    await stop();
    throw new Error(`${err.message}\nLast lines of ${logPath}:\n${tail(logPath)}`);
  }
  return { baseURL, stop };
}

async function waitForReady(baseURL, hasExited) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const gone = hasExited && hasExited();
    if (gone) {
      throw new Error(
        `CarePact server exited before it was ready (code ${gone.code}, signal ${gone.signal}` +
          `${gone.error ? `, ${gone.error.message}` : ''})`,
      );
    }
    try {
      const res = await fetch(`${baseURL}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code || err.message;
    }
    await sleep(200);
  }
  throw new Error(`CarePact server at ${baseURL} was not ready within ${READY_TIMEOUT_MS / 1000} s (last: ${last})`);
}

/**
 * Registers node:test hooks for a test file: before its tests, start a CarePact server (as
 * startServer) and Chromium; after them, stop both. Returns an object whose `server` and
 * `browser` the before hook fills in, with `page(name, options, fn)`: withPage on that server.
 *
 * Options: `logName` as for startServer. `startMail`: a function that starts a mail sink (e.g.
 * startMailSink from mail.mjs); the sink is started first, the server sends its email to
 * `sink.url`, and the sink is on the returned object as `mail`. It is not started with
 * CAREPACT_BASE_URL: that server sends its email wherever it was told to.
 */
export function useServerAndBrowser({ logName, startMail } = {}) {
  const suite = {
    server: null,
    browser: null,
    mail: null,
    page: (name, options, fn) => withPage(suite.browser, suite.server.baseURL, name, options, fn),
  };
  before(
    async () => {
      if (startMail && !process.env.CAREPACT_BASE_URL) suite.mail = await startMail();
      suite.server = await startServer({
        extraArgs: suite.mail ? ['--smtp-url', suite.mail.url] : [],
        logName,
      });
      suite.browser = await launchBrowser();
    },
    { timeout: 120_000 },
  );
  after(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
    await suite.mail?.stop();
  });
  return suite;
}

/** Launches Debian's Chromium headless. */
export async function launchBrowser() {
  const executablePath = process.env.CAREPACT_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}: run scripts/install-test-deps (Debian package chromium)`);
  }
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

/**
 * A fresh browser context (own cookies) and page on the server. `options` go to
 * browser.newContext (e.g. { javaScriptEnabled: false }). Console errors and page errors are
 * collected on page.problems.
 */
export async function openPage(browser, baseURL, options = {}) {
  const context = await browser.newContext({ baseURL, ...options });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') page.problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => page.problems.push(`page error: ${err.message}`));
  return { context, page };
}

/**
 * Runs `fn(page, context)` on a fresh page and closes its context afterwards. On failure, saves
 * test-output/browser/failures/NAME.png and adds the page's URL and collected browser errors to
 * the error message.
 */
export async function withPage(browser, baseURL, name, options, fn) {
  const { context, page } = await openPage(browser, baseURL, options);
  const failureShot = join(failureDir, `${safeName(name)}.png`);
  try {
    await fn(page, context);
    rmSync(failureShot, { force: true }); // a stale one from an earlier failed run
  } catch (err) {
    let extra = `\n  page: ${page.url()}`;
    try {
      mkdirSync(failureDir, { recursive: true });
      await page.screenshot({ path: failureShot, fullPage: true, timeout: 10_000 });
      extra += `\n  screenshot: ${failureShot}`;
    } catch {
      // the page may be gone
    }
    if (page.problems.length) extra += `\n  browser: ${page.problems.join('\n           ')}`;
    if (err && typeof err.message === 'string') err.message += extra;
    throw err;
  } finally {
    await context.close().catch(() => {});
  }
}

function safeName(name) {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-');
}

/**
 * Saves a full-page screenshot to test-output/browser/screenshots/NAME.png and checks the page
 * with axe-core (WCAG 2.2 AA tags). Throws with a readable list of violations.
 */
export async function checkPage(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${safeName(name)}.png`), fullPage: true });
  const results = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
  if (results.violations.length > 0) {
    throw new Error(`accessibility violations on "${name}" (${page.url()}):\n${formatViolations(results.violations)}`);
  }
  return results;
}

export function formatViolations(violations) {
  return violations
    .map((v) => {
      const targets = v.nodes.map((n) => `      at ${n.target.map((t) => (Array.isArray(t) ? t.join(' >>> ') : t)).join(' ')}`);
      return [`  - ${v.id} (${v.impact}): ${v.help}`, `      ${v.helpUrl}`, ...targets].join('\n');
    })
    .join('\n');
}

/**
 * Waits for the navigation a click (or other action) starts, e.g. a form POST followed by a
 * redirect, then for the new page to load.
 */
export async function clickAndWaitForPage(page, locator) {
  const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() });
  await locator.click();
  await navigated;
  await page.waitForLoadState('load');
}

/** Goes to /sign-in and signs in. Does not check the outcome. */
export async function signIn(page, email, password) {
  await page.goto('/sign-in');
  await fillSignIn(page, email, password);
}

/** Fills in and submits the sign-in form on the current page. */
export async function fillSignIn(page, email, password) {
  await page.getByLabel('Email address', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await clickAndWaitForPage(page, page.getByRole('button', { name: 'Sign in', exact: true }));
}

/** The path of the page's current URL, e.g. "/sign-in". */
export function pathOf(page) {
  return new URL(page.url()).pathname;
}
