// sso.mjs: single sign-on in Chromium, through a real OpenID Connect
// provider (Dex, tests/oidc), to plumb run's server and UI (tests/ui/fleet.c
// with an auth file whose grants name the provider's groups).
// tests/oidc/ui.sh starts both. Last line: "sso: N passed, N failed".
import { launch, check, expect, report } from './lib.mjs';

const base = process.env.PLUMB_URL;
const browser = await launch();

// Dex's own login form: its TLS certificate is the test's own.
async function ssoLogin(ctx, email, password) {
  const page = await ctx.newPage();
  await page.goto(base + '/login');
  await page.waitForSelector('#sign-in-sso');
  expect((await page.textContent('#sign-in-sso')) === 'Sign in with Dex', 'the button names the provider');
  await page.click('#sign-in-sso');
  await page.waitForSelector('input[name="login"]');
  await page.fill('input[name="login"]', email);
  await page.fill('input[name="password"]', password);
  await page.press('input[name="password"]', 'Enter');
  await page.waitForURL(base + '/apps', { timeout: 30000 });
  await page.waitForSelector('#apps .card');
  return page;
}

const syncAllowed = async (page, app) => {
  await page.goto(`${base}/apps/${app}`);
  await page.waitForSelector('#sync');
  return !(await page.isDisabled('#sync'));
};

await check('alice signs in through the provider; her group may sync project shop only', async () => {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ssoLogin(ctx, 'alice@example.com', 'alice-password');
  expect((await page.textContent('#who')) === 'alice@example.com', 'the bar names her');
  const who = await page.evaluate(async () => (await fetch('/api/v1/session')).json());
  expect(who.sso === true && who.groups.includes('authors'), 'her groups came from the ID token: ' + JSON.stringify(who));
  expect(await syncAllowed(page, 'app-00001'), 'Sync is enabled in project shop');
  expect(!(await syncAllowed(page, 'app-00000')), 'and disabled in project web');
  await ctx.close();
});

await check('bob, of another group, may only look', async () => {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ssoLogin(ctx, 'bob@example.com', 'bob-password');
  expect(!(await syncAllowed(page, 'app-00001')), 'Sync is disabled');
  await ctx.close();
});

await check('a callback this browser did not start is refused', async () => {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await page.goto(base + '/auth/callback?state=forged&code=stolen');
  await page.waitForSelector('.login .error');
  const error = await page.textContent('.login .error');
  expect(error === 'this sign-in was not started here: start again', 'the login page says why: ' + error);
  const status = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
  expect(status === 401, 'nobody is signed in');
  await ctx.close();
});

await browser.close();
report('sso');
