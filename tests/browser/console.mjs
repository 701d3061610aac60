// Helpers of the merchant console's browser tests (console*.test.mjs): staff
// keys made with the merchant API, signing in through the console's own
// form, axe-core on every screen, screenshots under
// artifacts/screenshots/console/.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { admin, env, open, screen, shot } from './lib.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The console's address of a screen (`/console`, `/console/orders`…). */
export function consoleUrl(path = '') {
  return `${env().worker}/console${path}`;
}

/** A new API key of `role`; returns the key's answer ({id, key, role…}). */
export async function keyOf(role, name = `console test ${role}`) {
  return admin('POST', '/v1/keys', { name, role });
}

/**
 * A browser page signed in to the console as `role` (a key made for it,
 * typed once into the sign-in form); `path`: where to go first (the
 * sign-in returns there). Returns the page (its `key` the key's answer).
 */
export async function signedIn(browser, role, { kind = 'mobile', locale = 'en-US', path = '' } = {}) {
  const key = await keyOf(role);
  const page = await open(browser, { kind, locale });
  await page.goto(consoleUrl(path));
  await screen(page, 'sign-in');
  await signInWith(page, key.key);
  page.key = key;
  return page;
}

/** Types `key` into the sign-in form and waits until the app has left it. */
export async function signInWith(page, key) {
  await page.fill('#key', key);
  await page.click('#sign-in');
  await page.waitForSelector('#who', { timeout: 30_000 });
  await page.waitForSelector('.screen:not([data-screen="sign-in"]):not([data-screen="loading"])');
}

/**
 * axe-core on the page as it is: fails on any serious or critical
 * violation. Evaluated over the DevTools protocol, which the page's CSP
 * does not apply to (an injected `<script>` would be refused).
 */
export async function accessible(page, what) {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  assert.deepEqual(violations, [], `axe on ${what}`);
}

/** Screenshot into artifacts/screenshots/console/{name}-{mobile|desktop}.png. */
export async function consoleShot(page, name) {
  await shot(page, `console/${name}`);
}

/** Waits for a console screen (`data-screen`). */
export async function consoleScreen(page, name) {
  return screen(page, name, undefined, 30_000);
}

/** The navigation entries the page shows, by screen name. */
export async function navEntries(page) {
  return page.$$eval('nav.nav a', (as) => as.map((a) => a.id.replace(/^nav-/, '')));
}
