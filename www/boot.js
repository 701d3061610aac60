// Starts the wasm app. A separate file because the page's
// Content-Security-Policy allows no inline script.
// Relative: the build puts both in one content-hashed folder.
import init from './checkout_page.js';

init().catch((err) => {
  const boot = document.getElementById('boot');
  if (boot) {
    const p = document.createElement('p');
    p.className = 'alert';
    p.setAttribute('role', 'alert');
    p.textContent = '页面加载失败，请刷新重试。 The page failed to load — please reload. (' + err + ')';
    boot.replaceChildren(p);
  }
});
