// What the wallet sign-in adds to "pay button ready" on Slow-4G: a report,
// never a test. For WeChat and Alipay user agents, N runs each of
//   direct:  /c/{token}?openid=… (an id already on the link, no sign-in)
//   sign-in: /c/{token} → the sandbox's authorize page (clicked at once, as
//            the real snsapi_base / auth_base are silent) → /oauth/… → page
// from navigation start to `#pay` showing the wallet's button, under CDP
// throttling (150 ms RTT, 1.6 Mbps down, 750 kbps up, CPU 4×), fresh
// context (cold cache) per run. Prints medians and the difference.
//
//   node tests/bench/signin.mjs [runs=5]     (with the E2E_* env of `cargo xtask stack`)
import * as t from '../browser/lib.mjs';

const RUNS = Number(process.argv[2] || 5);
const SLOW_4G = {
  offline: false,
  latency: 150,
  downloadThroughput: (1.6 * 1024 * 1024) / 8,
  uploadThroughput: (750 * 1024) / 8,
};

async function once(browser, wallet, signIn) {
  const link = await t.createLink({ amount: '1.00', subject: 'bench' });
  const page = await t.open(browser, {
    kind: 'mobile',
    ua: wallet === 'wechat' ? t.UA.wechat : t.UA.alipay,
    init: wallet === 'wechat' ? t.fakeWechat : t.fakeAlipay,
    initArg: { answers: [] },
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', SLOW_4G);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  const query = signIn ? {} : { [wallet === 'wechat' ? 'openid' : 'buyer_id']: await t.sandbox.shopper(wallet) };
  const label = wallet === 'wechat' ? '微信支付' : '支付宝支付';
  const started = Date.now();
  await page.goto(t.pageUrl(link.token, query), { waitUntil: 'commit' });
  if (signIn) {
    await page.waitForSelector('#allow', { timeout: 60_000 });
    await page.click('#allow');
  }
  await page.waitForFunction((l) => document.querySelector('#pay')?.textContent.trim() === l, label, {
    timeout: 90_000,
  });
  const ms = Date.now() - started;
  await page.context().close();
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const browser = await t.launch();
try {
  console.log(`pay button ready, Slow-4G (150 ms RTT, 1.6/0.75 Mbps, CPU 4x), median of ${RUNS}, ms`);
  for (const wallet of (process.argv[3] || 'wechat,alipay').split(',')) {
    const direct = [];
    const signed = [];
    for (let i = 0; i < RUNS; i++) {
      direct.push(await once(browser, wallet, false));
      signed.push(await once(browser, wallet, true));
    }
    const [d, s] = [median(direct), median(signed)];
    console.log(`${wallet.padEnd(7)} direct ${String(d).padStart(6)}  sign-in ${String(s).padStart(6)}  added ${String(s - d).padStart(6)}   (direct ${direct.join(' ')}; sign-in ${signed.join(' ')})`);
  }
} finally {
  await browser.close();
}
