// The merchant console's shell: served by the Worker at /console with the
// checkout page's security headers, its own hashed bundle, sign-in with a
// key, the navigation, both languages, a session that ends mid-task.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { admin, env, finish, launch, open } from './lib.mjs';
import {
  accessible,
  consoleScreen,
  consoleShot,
  consoleUrl,
  keyOf,
  navEntries,
  signInWith,
  signedIn,
} from './console.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('every console address is the app, with the checkout page\'s security headers; its assets are hashed and immutable', async () => {
  const page = await fetch(`${env().worker}/c/nope`);
  for (const path of ['', '/', '/orders', '/orders/C123', '/statements', '/links/new?kind=counter', '/nope']) {
    const res = await fetch(consoleUrl(path));
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type'), /^text\/html/, path);
    assert.equal(res.headers.get('cache-control'), 'no-store', path);
    for (const h of ['x-content-type-options', 'referrer-policy', 'x-frame-options', 'strict-transport-security', 'permissions-policy']) {
      assert.equal(res.headers.get(h), page.headers.get(h), `${path} ${h}`);
    }
    const csp = res.headers.get('content-security-policy');
    // The same policy as the page's, but for the hash of its own style block.
    const noHash = (p) => p.replace(/'sha256-[^']+'/g, "'sha256'");
    assert.equal(noHash(csp), noHash(page.headers.get('content-security-policy')), path);
    assert.match(csp, /style-src 'self' 'sha256-/);
    const html = await res.text();
    assert.match(html, /\/console\/a\/[0-9a-f]{12}\/boot\.js/);
    assert.doesNotMatch(html, /https?:\/\//, 'no third-party asset');
    assert.match(res.headers.get('link'), /\/console\/a\/[0-9a-f]{12}\/merchant_console_bg\.wasm/);
  }
  const html = await (await fetch(consoleUrl())).text();
  const asset = html.match(/\/console\/a\/[0-9a-f]{12}\/merchant_console_bg\.wasm/)[0];
  const res = await fetch(`${env().worker}${asset}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  // The checkout page's first load carries nothing of the console.
  const pageHtml = await page.text();
  assert.doesNotMatch(pageHtml, /console/);
});

test('signing in with a key: Today, the role in the bar, the navigation; both languages; sign out', async () => {
  for (const [locale, signInHeading, todayHeading] of [
    ['en-US', 'Sign in', 'Today'],
    ['zh-CN', '登录', '今日'],
  ]) {
    for (const kind of ['mobile', 'desktop']) {
      const key = await keyOf('owner');
      const page = await open(browser, { kind, locale });
      await page.goto(consoleUrl());
      await consoleScreen(page, 'sign-in');
      assert.equal(await page.textContent('h1'), signInHeading);
      assert.equal(await page.getAttribute('html', 'lang'), locale === 'en-US' ? 'en' : 'zh-CN');
      await accessible(page, `sign-in ${locale} ${kind}`);
      await consoleShot(page, `sign-in-${locale}`);
      if (kind === 'mobile') {
        // A wrong key: the API's refusal next to the field, with its request id.
        await page.fill('#key', 'sk_live_nope');
        await page.click('#sign-in');
        await page.waitForSelector('#sign-in-error[data-code="UNAUTHORIZED"]');
        assert.match(await page.textContent('#sign-in-error .rid code'), /^\S{6,}$/);
        assert.equal(await page.getAttribute('#key', 'aria-invalid'), 'true');
      }
      await signInWith(page, key.key);
      await consoleScreen(page, 'today');
      assert.equal(await page.textContent('h1'), todayHeading);
      assert.equal(await page.getAttribute('#who', 'data-role'), 'owner');
      assert.deepEqual(await navEntries(page), ['today', 'orders', 'links', 'statements', 'webhooks', 'staff', 'settings']);
      await accessible(page, `today ${locale} ${kind}`);
      await consoleShot(page, `today-${locale}`);
      // The session is the key's name and role (GET /v1/session).
      const me = await page.evaluate(async () => (await fetch('/v1/session')).json());
      assert.equal(me.role, 'owner');
      assert.equal(me.type, 'session');
      await page.click('#sign-out');
      await consoleScreen(page, 'sign-in');
      assert.equal((await page.evaluate(async () => (await fetch('/v1/session')).status)), 401);
      await finish(page);
    }
  }
});

test('a session that ends mid-task returns to sign-in, then to the same screen', async () => {
  const page = await signedIn(browser, 'manager', { path: '/orders' });
  await consoleScreen(page, 'orders');
  assert.equal(new URL(page.url()).pathname, '/console/orders');
  const me = await page.evaluate(async () => (await fetch('/v1/session')).json());
  await admin('DELETE', `/v1/sessions/${me.id}`);
  // The next read (another screen) meets the 401.
  await page.click('#nav-statements');
  await consoleScreen(page, 'sign-in');
  await page.waitForSelector('#session-ended');
  assert.match(page.url(), /\/console\/sign-in\?next=%2Fconsole%2Fstatements$/);
  await signInWith(page, page.key.key);
  await consoleScreen(page, 'statements');
  assert.equal(new URL(page.url()).pathname, '/console/statements');
  await finish(page);
});
