// lib.mjs: what the browser tests share: Debian's Chromium driven by
// Playwright (playwright-core, which tests/ui/install.sh puts in the
// cache), and checks counted as the other suites count them.
import { createRequire } from 'node:module';

const modules = process.env.PLUMB_PLAYWRIGHT;
if (!modules) throw new Error('PLUMB_PLAYWRIGHT names no node_modules (tests/ui/install.sh prints it)');
const { chromium } = createRequire(modules + '/')('playwright-core');

// Chromium as root, headless, and quiet on a machine with no network but
// loopback: no background requests that would fail and retry.
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

let passed = 0, failed = 0;

// check(name, fn): fn passes unless it throws.
export async function check(name, fn) {
  try {
    await fn();
    passed++;
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}\n  | ${String(err && err.message || err).split('\n').slice(0, 8).join('\n  | ')}`);
  }
}

export function expect(cond, what) {
  if (!cond) throw new Error(what);
}

export function report(suite) {
  console.log(`${suite}: ${passed} passed, ${failed} failed`);
}

// Signs in through the login page.
export async function signIn(page, base, user, password) {
  await page.goto(base + '/');
  await page.waitForSelector('#username');
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.click('#sign-in');
}
