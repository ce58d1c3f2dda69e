// fleet.mjs: the applications page at 1,000 applications, in Chromium,
// against tests/ui/fleet.c (plumb run's server and UI, with the status a
// loop would publish): the page is drawn within a second, and a status
// change reaches an open page within a second, by its event stream.
// Usage: node fleet.mjs FLEET_BINARY. Last line: "ui-fleet: N passed, N failed".
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { launch, check, expect, report, signIn } from './lib.mjs';

const N = 1000, PASSWORD = 'fleet-admin-pw';
const fleet = spawn(process.argv[2], [String(N), PASSWORD], { stdio: ['pipe', 'pipe', 'inherit'] });
const [line] = await once(fleet.stdout, 'data');
const base = 'http://127.0.0.1:' + String(line).match(/port (\d+)/)[1];
const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });

await check('the applications page shows 1000 applications within a second', async () => {
  await signIn(page, base, 'admin', PASSWORD);
  await page.waitForSelector('#apps .card');
  const start = Date.now();
  await page.goto(base + '/apps');
  await page.waitForFunction((n) => document.querySelectorAll('#apps .card').length === n, N);
  const ms = Date.now() - start;
  console.log(`  (drawn in ${ms} ms)`);
  expect(ms < 1000, `drawn in ${ms} ms`);
  expect((await page.textContent('#count')) === `${N} of ${N} applications`, 'the count says all');
});

await check('a status change reaches the open page within a second', async () => {
  const card = '#apps .card[data-app="app-00500"] .badge.health';
  expect((await page.textContent(card)) === 'Healthy', 'starts Healthy');
  const start = Date.now();
  fleet.stdin.write('app-00500 OutOfSync Degraded\n');
  await page.waitForFunction((sel) => document.querySelector(sel).textContent === 'Degraded', card, { timeout: 5000 });
  const ms = Date.now() - start;
  console.log(`  (shown in ${ms} ms)`);
  expect(ms < 1000, `shown in ${ms} ms`);
});

await check('filters narrow 1000 cards and stay in the URL', async () => {
  await page.selectOption('#filter-health', 'Degraded');
  // Every 13th from app-00003 is Degraded, and app-00500 now.
  const degraded = `${Math.floor((N - 4) / 13) + 2} of ${N} applications`;
  await page.waitForFunction((want) => document.querySelector('#count').textContent === want, degraded);
  await page.fill('#filter-name', '0050');
  await page.waitForFunction(() => document.querySelector('#count').textContent === '1 of 1000 applications');
  const url = new URL(page.url()).searchParams;
  expect(url.get('health') === 'Degraded' && url.get('name') === '0050', 'the URL keeps both: ' + page.url());
  await page.reload();
  await page.waitForFunction(() => document.querySelector('#count')?.textContent === '1 of 1000 applications');
});

// Idle connections from one address, each with half a request, as a slow
// or hostile client holds them: 2,000 of them, opened before the page.
async function holdIdle(n) {
  const port = Number(new URL(base).port), sockets = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
    s.on('error', () => {});
    s.write('GET /api/v1/apps HTTP/1.1\r\nHost: plumb\r\n');
    sockets.push(s);
  }
  await Promise.all(sockets.map((s) => (s.connecting ? once(s, 'connect') : null)));
  return sockets;
}

await check('beside 2,000 idle connections the page, its stream and the probes answer as ever', async () => {
  const idle = await holdIdle(2000);
  const start = Date.now();
  await page.goto(base + '/apps');
  await page.waitForFunction((n) => document.querySelectorAll('#apps .card').length === n, N);
  const drawn = Date.now() - start;
  const card = '#apps .card[data-app="app-00700"] .badge.sync';
  const flipped = Date.now();
  fleet.stdin.write('app-00700 OutOfSync Healthy\n');
  await page.waitForFunction((sel) => document.querySelector(sel).textContent === 'OutOfSync', card, { timeout: 5000 });
  const shown = Date.now() - flipped;
  const probe = Date.now();
  const healthz = await fetch(base + '/healthz');
  const probed = Date.now() - probe;
  const open = idle.filter((s) => !s.destroyed).length;
  for (const s of idle) s.destroy();
  console.log(`  (${open} idle: drawn in ${drawn} ms, change shown in ${shown} ms, /healthz in ${probed} ms)`);
  expect(open === 2000, `${open} of 2000 idle connections held`);
  expect(drawn < 1000 && shown < 1000 && healthz.status === 200 && probed < 500, 'all within their times');
});

await browser.close();
fleet.stdin.end();
const [code] = await once(fleet, 'exit');
await check('the server stops cleanly', async () => expect(code === 0, `exit ${code}`));
report('ui-fleet');
