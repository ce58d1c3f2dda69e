// screenshots.mjs: the pictures of docs/ui.md, taken in Chromium from
// tests/ui/fleet.c (a fleet of made-up applications, so that no picture
// shows a machine's paths). `make ui-screenshots` runs it.
// Usage: node screenshots.mjs FLEET_BINARY OUT_DIR
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { launch, signIn } from './lib.mjs';

const [bin, out] = process.argv.slice(2);
const fleet = spawn(bin, ['24', 'screenshots-pw'], { stdio: ['pipe', 'pipe', 'inherit'] });
const [line] = await once(fleet.stdout, 'data');
const base = 'http://127.0.0.1:' + String(line).match(/port (\d+)/)[1];
const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
const shot = (name) => page.screenshot({ path: `${out}/${name}.png` });

await page.goto(base + '/login');
await page.waitForSelector('#username');
await shot('login');
await signIn(page, base, 'admin', 'screenshots-pw');
await page.waitForSelector('#apps .card');
await shot('applications');
await page.selectOption('#filter-health', 'Degraded');
await shot('applications-filtered');
await page.goto(base + '/apps/app-00003');
await page.waitForSelector('.tree .node');
await shot('application');
await page.goto(base + '/apps/app-00003?tab=history');
await page.waitForSelector('table.history');
await page.click('table.history button.rollback');
await page.waitForSelector('dialog.confirm[open]');
await shot('rollback');
await page.keyboard.press('Escape');
await page.goto(base + '/new');
await page.waitForSelector('#app-name');
await shot('new-app');
await page.click('#theme');
await page.goto(base + '/apps');
await page.waitForSelector('#apps .card');
await shot('applications-dark');
await page.click('#theme');
await browser.close();
fleet.stdin.end();
await once(fleet, 'exit');
