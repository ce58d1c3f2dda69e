// walk.mjs: the GitOps walk-through in Chromium, against plumb run on the
// test control plane (tests/kube/ui.sh starts both and gives the
// environment below): sign in, the cards turn Synced, the app's objects,
// a commit of replicas 1 -> 2 arrives, a rollback from the history
// restores 1; a read-only user may not sync; hostile text stays text; the
// CSRF token is required; no Secret's value reaches the browser.
// Last line: "ui: N passed, N failed".
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { launch, check, expect, report, signIn } from './lib.mjs';

const base = process.env.PLUMB_URL, repo = process.env.REPO, secret = process.env.SECRET_VALUE;
const kubectl = (...args) =>
  execFileSync('kubectl', ['--context', 'admin', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const git = (...args) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
const replicas = () => kubectl('-n', 'ui-web', 'get', 'deployment', 'nginx-deployment', '-o', 'jsonpath={.spec.replicas}');
const until = async (what, fn, ms = 60000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('timed out waiting for ' + what);
};

const browser = await launch();
const admin = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await admin.newPage();
// Every answer the browser gets, to look for the Secret's value in.
const bodies = [];
const record = (p) => p.on('response', async (r) => { try { bodies.push(await r.text()); } catch (_) { /* a stream */ } });
record(page);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
const shots = process.env.SCREENSHOTS;
const shot = async (p, name) => { if (shots) await p.screenshot({ path: `${shots}/${name}.png` }); };
// Only the part of the page that shows no path of this machine (docs/ui.md's tree).
const part = async (p, selector, name) => { if (shots) await p.locator(selector).screenshot({ path: `${shots}/${name}.png` }); };

await check('a wrong password is refused on the login page', async () => {
  await signIn(page, base, 'admin', 'not-the-password');
  await page.waitForFunction(() => document.querySelector('.login .error').textContent.length > 0);
  expect((await page.textContent('.login .error')) === 'wrong user name or password', 'the error says why');
  expect(new URL(page.url()).pathname === '/login', 'still on the login page');
  await shot(page, 'login');
});

await check('admin signs in, and the config repository\'s application turns Synced', async () => {
  await signIn(page, base, 'admin', process.env.ADMIN_PASSWORD);
  await page.waitForSelector('#apps .card[data-app="cfg"] .badge.sync-synced', { timeout: 60000 });
  expect((await page.textContent('#who')) === 'admin', 'the bar names who is signed in');
});

await check('New app: the form makes an Application object, whose card turns Synced', async () => {
  await page.click('#new-app');
  await page.waitForSelector('#app-name');
  await shot(page, 'new-app');
  // A mistake first: the form shows the runtime's words, naming the field.
  await page.fill('#app-name', 'web');
  await page.fill('#app-repo', 'file://' + repo);
  await page.fill('#app-path', '../outside');
  await page.click('#app-save');
  await page.waitForFunction(() => document.querySelector('#form-error').textContent.length > 0);
  const error = await page.textContent('#form-error');
  expect(error.includes('path'), 'the error names the path: ' + error);
  await page.fill('#app-path', 'envs/dev');
  await page.fill('#app-project', 'p');
  await page.check('#app-automated');
  await page.click('#app-save');
  await page.waitForURL(base + '/apps/web');
  expect(kubectl('get', 'applications.plumb.dev', 'web', '-o', 'jsonpath={.spec.source.path}') === 'envs/dev',
    'the object is in the cluster');
  expect(kubectl('get', 'applications.plumb.dev', 'web', '-o', 'jsonpath={.spec.source.directory}') === '',
    'with no plain-YAML options, which the form sends only when set');
  await page.goto(base + '/apps');
  await page.waitForSelector('#apps .card[data-app="web"] .badge.sync-synced', { timeout: 60000 });
  // The object's status is written after the pass, a moment after the page hears of it.
  await until('kubectl get shows what the page shows', () => / Synced /.test(kubectl('get', 'applications.plumb.dev', 'web')), 30000);
});

await check('a commit message and a value with markup are shown as text', async () => {
  const text = await page.textContent('#apps .card[data-app="cfg"]');
  expect(text.includes('<img src=x onerror=window.__xss=1>'), 'the commit message is there, as text: ' + text);
  expect((await page.$$('#apps .card img')).length === 0, 'no element was made of it');
  expect(await page.evaluate(() => window.__xss === undefined), 'no script ran');
  await shot(page, 'applications');
});

await check('the name filter narrows the cards and stays in the URL', async () => {
  await page.fill('#filter-name', 'we');
  await page.waitForFunction(() => document.querySelector('#count').textContent === '1 of 2 applications');
  expect(new URL(page.url()).searchParams.get('name') === 'we', 'the URL keeps it');
  await page.reload();
  await page.waitForFunction(() => document.querySelector('#count')?.textContent === '1 of 2 applications');
  expect((await page.inputValue('#filter-name')) === 'we', 'and the page reads it back');
  await page.fill('#filter-name', '');
});

// The kinds of the nodes under the node of kind/name, as the tree nests them.
const under = (p, kind, name) => p.evaluate(([k, n]) => {
  const row = document.querySelector(`.tree .node[data-kind="${k}"][data-name="${n}"]`);
  return row ? [...row.parentElement.querySelectorAll(':scope > ul .node')].map((e) => e.dataset.kind) : null;
}, [kind, name]);

await check('the application page draws its objects as a tree: Deployment, ReplicaSet, Pod', async () => {
  await page.click('#apps .card[data-app="web"]');
  await page.waitForSelector('.tree .node[data-kind="Deployment"]');
  await until('the Pod under the ReplicaSet', async () => {
    await page.click('.tabs a:has-text("Tree")');
    await page.waitForSelector('.tree .node[data-kind="Deployment"]');
    const kinds = await under(page, 'Deployment', 'nginx-deployment');
    return kinds && kinds.includes('ReplicaSet') && kinds.includes('Pod');
  }, 30000);
  const service = await under(page, 'Service', 'nginx-service');
  expect(service && service.includes('EndpointSlice'), 'the Service has its EndpointSlice: ' + service);
  await page.click('.tree .node[data-kind="Deployment"]');
  await page.waitForSelector('#live-manifest');
  await part(page, '.tree-view', 'tree');
  const live = await page.textContent('#live-manifest');
  expect(live.includes('kind: Deployment') && live.includes('replicas: 1'), 'the live manifest: ' + live.slice(0, 200));
  expect(!live.includes('managedFields'), 'without the server\'s bookkeeping');
  await page.click('.node-panel button[data-view="desired"]');
  expect((await page.textContent('#desired-manifest')).includes('plumb.dev/app: web'), 'the desired manifest');
  await page.click('.node-panel button[data-view="events"]');
  await page.waitForSelector('.node-panel table.events');
  expect((await page.textContent('.node-panel table.events')).includes('ScalingReplicaSet'), 'its events');
  await part(page, '.tree-view', 'tree-events');
  await shot(page, 'application');
});

// The Pod runs on the cluster's kwok node, whose "kubelet" serves every
// Pod's log from one file (tests/cluster): a line written there is a line
// of the Pod's log.
const logLine = (text) => appendFileSync(process.env.POD_LOG, `${new Date().toISOString()} stdout F ${text}\n`);
const podLog = () => page.evaluate(() => document.querySelector('#pod-logs')?.textContent || '');

await check("a Pod's log shows in its panel, and a line written to it arrives while it is open", async () => {
  await until('the Pod runs and its log shows', async () => {
    await page.click('.tree .node[data-kind="Pod"]');
    await page.click('.node-panel button[data-view="logs"]');
    try {
      await page.waitForFunction(() => (document.querySelector('#pod-logs')?.textContent || '').includes('plumb test pod started'), null, { timeout: 3000 });
      return true;
    } catch (_) {
      return false;
    }
  }, 60000);
  const line = `written at ${Date.now()} <b>not bold</b>`;
  const t0 = Date.now();
  logLine(line);
  await page.waitForFunction((l) => document.querySelector('#pod-logs').textContent.includes(l), line, { timeout: 10000 });
  console.log(`ui timing: a log line reached the open page in ${Date.now() - t0} ms`);
  expect((await page.$$('#pod-logs b')).length === 0, 'the log is text');
  expect(await page.isChecked('#log-follow'), 'it is followed');
  expect(await page.evaluate(() => [...document.querySelector('#node-panel').childNodes].every((c) => c.nodeType === 1)),
    'the panel holds no stray text (a Pod without a message once showed "null")');
  // What docs/ui.md shows: lines as nginx writes them.
  const access = '10.244.0.1 - - [07/Dec/2026:08:00:00 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.1.2"';
  for (const l of ['/docker-entrypoint.sh: Configuration complete; ready for start up', access, access]) logLine(l);
  await page.waitForFunction((l) => document.querySelector('#pod-logs').textContent.endsWith(l + '\n'), access);
  await part(page, '.tree-view', 'pod-logs');
  // Unfollowed, the log is read once, and lines written later do not come.
  await page.uncheck('#log-follow');
  await page.waitForSelector('#pod-logs[data-state="ended"]');
  expect((await podLog()).includes(line), 'the log read again holds the line');
  const later = `written after the unfollow at ${Date.now()}`;
  logLine(later);
  await new Promise((r) => setTimeout(r, 1500));
  expect(!(await podLog()).includes(later), 'a read log does not grow');
  const asked = await page.evaluate(async () => {
    const pod = document.querySelector('.tree .node[data-kind="Pod"]').dataset.name;
    const r = await fetch(`/api/v1/apps/web/logs?namespace=ui-web&name=${pod}&tailLines=1`);
    const wrong = await fetch(`/api/v1/apps/web/logs?namespace=ui-web&name=${pod}&container=nope`);
    const outside = await fetch('/api/v1/apps/web/logs?namespace=kube-system&name=kube-apiserver');
    return { type: r.headers.get('Content-Type'), text: await r.text(), wrong: wrong.status, outside: outside.status };
  });
  expect(asked.type === 'text/plain; charset=utf-8', 'the API answers text: ' + asked.type);
  expect(asked.text === later + '\n', 'tailLines=1 gives the last line: ' + JSON.stringify(asked.text));
  expect(asked.wrong === 400, `a container the Pod lacks: ${asked.wrong}`);
  expect(asked.outside === 404, `a Pod outside the tree: ${asked.outside}`);
});

await check("an object outside the application's tree is not read for anyone", async () => {
  const status = await page.evaluate(async () =>
    (await fetch('/api/v1/apps/web/object?kind=Secret&namespace=default&name=plumb-initial-admin-secret')).status);
  expect(status === 404, `status ${status}`);
});

const historyData = (key) => kubectl('get', 'configmap', 'plumb-history-web', '-o', `jsonpath={.data.${key}}`);

await check('auto-sync is suspended and resumed from the page, and a restart would keep it', async () => {
  await page.click('#suspend');
  await page.waitForSelector('#suspended', { timeout: 30000 });
  expect(historyData('suspended') === 'true', 'the history keeps it');
  await page.click('#resume');
  await page.waitForSelector('#suspend', { timeout: 30000 });
  expect(historyData('suspended') === '', 'and forgets it');
});

await check("a Pod deleted from the tree is made anew by its ReplicaSet", async () => {
  await page.click('.tabs a:has-text("Tree")');
  const pod = await page.getAttribute('.tree .node[data-kind="Pod"]', 'data-name');
  await page.click(`.tree .node[data-kind="Pod"][data-name="${pod}"]`);
  await page.click('#delete-object');
  await page.waitForSelector('dialog.confirm[open]');
  await page.click('#dialog-ok');
  await until('another Pod in its place', () => {
    const pods = kubectl('-n', 'ui-web', 'get', 'pods', '-o', 'jsonpath={.items[*].metadata.name}').split(' ');
    return !pods.includes(pod) && pods.length === 1 && pods[0] !== '';
  }, 30000);
});

await check('a dry run compares and records nothing', async () => {
  const before = JSON.parse(historyData('history')).length;
  await page.click('#sync');
  await page.waitForSelector('dialog.confirm[open]');
  await page.check('#sync-dry-run');
  await page.click('#dialog-ok');
  // The toast of the delete before may still show: wait for this one's words.
  await page.waitForFunction(() => document.querySelector('.toast.show')?.textContent.startsWith('Dry run of web queued'),
    null, { timeout: 5000 }).catch(() => {});
  expect((await page.textContent('.toast')).startsWith('Dry run of web queued'), 'the page says so');
  await new Promise((r) => setTimeout(r, 1500));
  expect(JSON.parse(historyData('history')).length === before, 'no sync was recorded');
});

let first, second;
await check('a commit of replicas 1 -> 2 shows up in the open page', async () => {
  first = git('rev-parse', 'HEAD');
  expect(replicas() === '1', 'one replica at first');
  const file = `${repo}/envs/dev/main.plumb`;
  writeFileSync(file, readFileSync(file, 'utf8').replace('replicas: 1', 'replicas: 2'));
  git('commit', '-qam', 'two replicas');
  second = git('rev-parse', 'HEAD');
  await page.click('#sync');
  await page.waitForSelector('dialog.confirm[open]');
  await page.click('#dialog-ok');
  // The page is not reloaded: the commit comes by the event stream.
  await page.waitForFunction((c) => document.querySelector('#commit')?.textContent.startsWith(c),
    second.slice(0, 7), { timeout: 60000 });
  await until('two replicas', () => replicas() === '2');
  await page.click('.tabs a:has-text("Tree")');
  await until('two Pods in the tree', async () => {
    await page.reload();
    await page.waitForSelector('.tree .node[data-kind="Deployment"]');
    return (await page.$$('.tree .node[data-kind="Pod"]')).length >= 2;
  }, 30000);
});

await check('a rollback from the history page restores one replica', async () => {
  await page.click('.tabs a:has-text("History")');
  await page.waitForSelector('table.history');
  const newest = await page.textContent('table.history tbody tr:first-child');
  for (const want of ['two replicas', 'test', 'admin'])
    expect(newest.includes(want), `the sync's entry says ${want}: ${newest}`);
  await shot(page, 'history');
  await page.click(`table.history tr:has(td[title="${first}"]) button.rollback`);
  await page.waitForSelector('dialog.confirm[open]');
  await shot(page, 'rollback');
  await page.click('#dialog-ok');
  await until('one replica again', () => replicas() === '1');
  await page.waitForSelector('.app-head .tag.warn', { timeout: 30000 });
  expect((await page.textContent('.app-head .tag.warn')).includes(first.slice(0, 7)), 'the page says what it rolled back to');
});

await check('a state-changing request without the CSRF token is refused', async () => {
  const status = await page.evaluate(async () =>
    (await fetch('/api/v1/apps/web/sync', { method: 'POST', credentials: 'same-origin' })).status);
  expect(status === 403, `status ${status}`);
});

await check('a read-only user sees Sync disabled, and the API refuses it', async () => {
  const ctx = await browser.newContext();
  const viewer = await ctx.newPage();
  record(viewer);
  await signIn(viewer, base, 'viewer', process.env.VIEWER_PASSWORD);
  await viewer.waitForSelector('#apps .card[data-app="web"]');
  expect(!(await viewer.$('#new-app')), 'no New app for a role that may not create');
  await viewer.goto(base + '/apps/web');
  await viewer.waitForSelector('#sync');
  expect(await viewer.isDisabled('#sync'), 'the Sync button is disabled');
  for (const id of ['#refresh']) expect(!(await viewer.isDisabled(id)), 'Refresh is anyone\'s who sees it');
  expect(await viewer.isDisabled('#suspend'), 'Suspend is disabled');
  await viewer.click('.tree .node[data-kind="Deployment"]');
  await viewer.waitForSelector('#delete-object');
  expect(await viewer.isDisabled('#delete-object'), 'Delete is disabled');
  const deleted = await viewer.evaluate(async () => {
    const who = await (await fetch('/api/v1/session')).json();
    const q = 'kind=Deployment&namespace=ui-web&name=nginx-deployment';
    return (await fetch('/api/v1/apps/web/object?' + q, { method: 'DELETE', headers: { 'X-CSRF-Token': who.csrf } })).status;
  });
  expect(deleted === 403, `the API answered ${deleted} to a delete`);
  const pod = await viewer.getAttribute('.tree .node[data-kind="Pod"]', 'data-name');
  const logs = await viewer.evaluate(async (p) => (await fetch(`/api/v1/apps/web/logs?namespace=ui-web&name=${p}`)).status, pod);
  expect(logs === 200, `readonly reads logs, as Argo CD's: ${logs}`);
  await viewer.goto(base + '/apps/web?tab=history');
  await viewer.waitForSelector('table.history');
  for (const b of await viewer.$$('button.rollback')) expect(await b.isDisabled(), 'rollback is disabled');
  const status = await viewer.evaluate(async () => {
    const who = await (await fetch('/api/v1/session')).json();
    const r = await fetch('/api/v1/apps/web/sync', { method: 'POST', headers: { 'X-CSRF-Token': who.csrf } });
    return r.status;
  });
  expect(status === 403, `the API answered ${status}`);
  await ctx.close();
});

await check('a manifest holding markup shows it as text', async () => {
  await page.goto(base + '/apps/cfg');
  await page.click('.tree .node[data-kind="ConfigMap"]');
  await page.waitForSelector('#live-manifest');
  const live = await page.textContent('#live-manifest');
  expect(live.includes('<script>window.__xss = 1</script>'), 'the banner is there, as text: ' + live.slice(0, 300));
  expect((await page.$$('#live-manifest script')).length === 0, 'no element was made of it');
  expect(await page.evaluate(() => window.__xss === undefined), 'no script ran');
});

await check("no answer to the browser holds the Secret's value", async () => {
  await page.goto(base + '/apps/cfg');
  await page.click('.tree .node[data-kind="Secret"]');
  await page.waitForSelector('#live-manifest');
  const masked = /token: "\+{8}"/;
  expect(masked.test(await page.textContent('#live-manifest')), 'the live Secret is masked');
  await page.click('.node-panel button[data-view="desired"]');
  expect(masked.test(await page.textContent('#desired-manifest')), 'and so is the desired one');
  await page.goto(base + '/apps/cfg?tab=diff');
  await page.waitForSelector('.app-body > *');
  const b64 = Buffer.from(secret).toString('base64');
  const leaks = bodies.filter((b) => b.includes(secret) || b.includes(b64));
  expect(bodies.length > 10, 'answers were recorded');
  expect(leaks.length === 0, `${leaks.length} answers hold it`);
});

await check('Delete removes the Application object, and the application with it; its objects stay', async () => {
  await page.goto(base + '/apps/web');
  await page.waitForSelector('#edit-app');
  await page.click('#delete-app');
  await page.waitForSelector('dialog.confirm[open]');
  await page.click('#dialog-ok');
  await page.waitForURL(base + '/apps');
  await page.waitForFunction(() => !document.querySelector('#apps .card[data-app="web"]'), null, { timeout: 30000 });
  let gone = false;
  try { kubectl('get', 'applications.plumb.dev', 'web'); } catch (_) { gone = true; }
  expect(gone, 'the object is gone');
  expect(replicas() === '1', 'the Deployment stays');
});

await check('the page raised no script error', async () => expect(pageErrors.length === 0, pageErrors.join('\n')));

await browser.close();
report('ui');
