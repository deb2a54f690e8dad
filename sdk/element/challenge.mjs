// The 3-D Secure dialog's page, on Paygate's origin, inside the dialog `handleNextAction` opens on the shop's page.
// It frames the processor's authentication page (`url`); the processor sends the browser back to Paygate's return
// URL, which loads in that same frame, on this origin: so this page can read the outcome the return page carries
// (`data-paygate-authentication`) and tell the shop's page, and only that page. It reads nothing else, and the
// outcome is only what the backend learned from the processor: the shop's server still reads the charge (or its
// webhook) before it ships anything.
//
// Plain JavaScript, not the elements' WebAssembly: it relays one message, which does not need 100 KB of code.
const params = new URLSearchParams(location.hash.slice(1));
const origin = params.get('origin') ?? '';
const id = params.get('id') ?? '';
const url = params.get('url') ?? '';
const ancestors = location.ancestorOrigins;
const framed = window.parent !== window;
const valid =
  framed &&
  /^[0-9a-z]{1,64}$/i.test(id) &&
  /^https?:\/\/[^/]+$/.test(origin) &&
  origin !== location.origin &&
  /^https?:\/\//.test(url) &&
  // Chromium and WebKit say who embeds us: answer only that page.
  (!ancestors || ancestors[0] === origin);

if (!valid) {
  console.error('Paygate: the authentication dialog was opened with a wrong origin, id or url');
  // Says only that it failed, so any origin may receive it: the page's origin is exactly what is in doubt.
  if (framed) window.parent.postMessage({ paygate: 1, id, type: 'loaderror' }, '*');
} else {
  const send = (message) => window.parent.postMessage({ paygate: 1, id, ...message }, origin);
  const frame = document.createElement('iframe');
  frame.title = params.get('title') ?? 'Card authentication';
  frame.setAttribute('allow', 'payment');
  frame.addEventListener('load', () => {
    let root;
    try {
      root = frame.contentDocument?.documentElement;
    } catch {
      return; // the processor's page, on its own origin: not ours to read
    }
    const status = root?.dataset.paygateAuthentication;
    if (status) send({ type: 'authentication_result', status, failure_code: root.dataset.failureCode || null });
  });
  frame.src = url;
  document.body.append(frame);
  send({ type: 'ready' });
}
