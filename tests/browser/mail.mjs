// A real SMTP server for the browser tests: aiosmtpd (PyPI), which scripts/install-test-deps
// installs into <repo>/.venv/, run on a free loopback port and storing every message it receives
// in a fresh maildir. The tests read the maildir to follow the links CarePact emails
// (invitations, password resets). Start CarePact with `--smtp-url <sink.url>`.
//
// Environment:
//   CAREPACT_TEST_PYTHON  Python with aiosmtpd installed (default <repo>/.venv/bin/python)

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot } from './lib.mjs';

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const POLL_MS = 100;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts aiosmtpd. Returns { url, messages, waitFor(predicate, timeoutMs), stop() }. Each message
 * is { from, to: [addresses], headers: {lower-case name: value}, subject, text } with the body
 * decoded (quoted-printable or base64). `messages` holds what the maildir had when it was last
 * read: waitFor reads it again. `port` restarts a sink where an earlier one listened (to test
 * CarePact catching up after the mail server was down); by default a free port is chosen.
 */
export async function startMailSink({ port: wanted } = {}) {
  const python = process.env.CAREPACT_TEST_PYTHON || join(repoRoot, '.venv', 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(`${python} is missing: run scripts/install-test-deps (it installs aiosmtpd)`);
  }

  const port = wanted ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'carepact-mail-'));
  const maildir = join(dir, 'mail');
  const args = ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir];
  const child = spawn(python, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-4_000);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);

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
  // If the test process dies, do not leave aiosmtpd behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const messages = [];
  const seen = new Set();
  const waiters = new Set();
  let stopped = false;

  /** Reads messages that arrived since the last call into `messages`, oldest first. */
  function readNew() {
    const newDir = join(maildir, 'new');
    let names;
    try {
      names = readdirSync(newDir);
    } catch {
      return; // no message yet (aiosmtpd creates the maildir on start)
    }
    // Maildir names start with the delivery time in seconds, then microseconds.
    for (const name of names.filter((n) => !seen.has(n) && !n.startsWith('.')).sort()) {
      seen.add(name);
      messages.push(parseMessage(readFileSync(join(newDir, name))));
    }
  }

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const w of waiters) w.cancel();
    process.off('exit', killOnExit);
    if (!exited) {
      child.kill('SIGTERM'); // exit code 143: normal
      let timer;
      const timeout = new Promise((r) => {
        timer = setTimeout(() => r(null), STOP_TIMEOUT_MS);
      });
      const done = await Promise.race([exitPromise, timeout]);
      clearTimeout(timer); // a pending timer would keep node (and the test run) alive
      if (!done) {
        child.kill('SIGKILL');
        await exitPromise;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitForPort(port, () => exited);
  } catch (err) {
    await stop();
    throw new Error(`${err.message}\n$ ${python} ${args.join(' ')}\n${output.trim() || '(no output)'}`);
  }

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    /** The first message (already received or still to come) for which predicate(message) is true. */
    waitFor(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        let timer = null;
        const w = {
          cancel() {
            clearTimeout(timer);
            waiters.delete(w);
            reject(new Error('the mail sink was stopped while waiting for an email'));
          },
        };
        const poll = () => {
          timer = null;
          try {
            readNew();
            const found = messages.find(predicate);
            if (found) {
              waiters.delete(w);
              resolve(found);
            } else if (exited) {
              waiters.delete(w);
              reject(new Error(`aiosmtpd exited (code ${exited.code}, signal ${exited.signal}): ${output.trim()}`));
            } else if (Date.now() >= deadline) {
              waiters.delete(w);
              const got = messages.map((m) => `${m.to.join(',')}: ${m.subject}`).join('; ') || 'none';
              reject(new Error(`no matching email within ${timeoutMs / 1000} s (received: ${got})`));
            } else {
              timer = setTimeout(poll, POLL_MS);
            }
          } catch (err) {
            waiters.delete(w);
            reject(err);
          }
        };
        if (stopped) {
          reject(new Error('the mail sink is stopped'));
          return;
        }
        waiters.add(w);
        poll();
      });
    },
    stop,
  };
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
async function waitForPort(port, hasExited) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const gone = hasExited();
    if (gone) {
      throw new Error(
        `aiosmtpd exited before it was ready (code ${gone.code}, signal ${gone.signal}` +
          `${gone.error ? `, ${gone.error.message}` : ''})`,
      );
    }
    const error = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(null);
      });
      socket.once('error', (err) => {
        socket.destroy();
        resolve(err);
      });
    });
    if (!error) return;
    last = error.code || error.message;
    await sleep(50);
  }
  throw new Error(`aiosmtpd did not accept connections on 127.0.0.1:${port} within ${START_TIMEOUT_MS / 1000} s (last: ${last})`);
}

/**
 * Parses a maildir file written by aiosmtpd's Mailbox handler: the message as received, plus the
 * envelope in X-MailFrom and X-RcptTo headers.
 */
function parseMessage(bytes) {
  // Bytes in, bytes out: the body is decoded properly below.
  const raw = bytes.toString('latin1').replace(/\r\n/g, '\n');
  const split = raw.indexOf('\n\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split + 2);
  const headers = {};
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const encoding = (headers['content-transfer-encoding'] || '7bit').toLowerCase();
  let decoded;
  if (encoding === 'base64') {
    decoded = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  } else if (encoding === 'quoted-printable') {
    const soft = body.replace(/=[ \t]*\n/g, '');
    decoded = Buffer.from(
      soft.replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))),
      'latin1',
    );
  } else {
    decoded = Buffer.from(body, 'latin1');
  }
  const address = (a) => a.replace(/^.*<([^>]*)>.*$/, '$1').trim().toLowerCase();
  return {
    from: headers['x-mailfrom'] ? address(headers['x-mailfrom']) : null,
    to: (headers['x-rcptto'] || '').split(',').map(address).filter(Boolean),
    headers,
    subject: decodeWords(headers.subject || ''),
    text: decoded.toString('utf8').replace(/\r\n/g, '\n'),
  };
}

// RFC 2047 encoded words, e.g. =?utf-8?b?...?= in a subject. Whitespace between two encoded
// words is dropped; whitespace next to plain text is kept.
function decodeWords(value) {
  const word = /=\?[^?]+\?[bBqQ]\?[^?]*\?=/.source;
  const joined = value.replace(new RegExp(`(${word})\\s+(?=${word})`, 'g'), '$1');
  return joined.replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, _charset, kind, text) => {
    if (kind.toLowerCase() === 'b') return Buffer.from(text, 'base64').toString('utf8');
    const qp = text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(qp, 'latin1').toString('utf8');
  });
}

/** The first CarePact link (https?://…/invitation/TOKEN or /password-reset/TOKEN) in a message, as a path. */
export function linkPathIn(message, kind) {
  const re = new RegExp(`https?://[^\\s/]+(/${kind}/[0-9A-Za-z_-]+)`);
  const m = re.exec(message.text);
  if (!m) throw new Error(`no /${kind}/ link in the email "${message.subject}" to ${message.to}:\n${message.text}`);
  return m[1];
}
