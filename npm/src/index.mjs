// @paygate/js: the loader a shop page imports. It puts the card form, served by the Paygate edge, in an
// iframe and talks to it over postMessage; card data stays in the iframe, out of the shop's reach (PCI SAQ A).
// Importing this module does nothing (no global is read or written before loadPaygate() runs), so it is
// safe during server-side rendering and bundlers may drop it when unused ("sideEffects": false). It is one
// file on purpose: a Subresource Integrity hash on the CDN copy then covers all of it.

// As on the edge (core::api_key): 32 to 128 base62 characters after the prefix.
const PUBLISHABLE_KEY = /^pk_(test|live)_[0-9A-Za-z]{32,128}$/;
// Room for a slow network and the edge's own timeouts, yet no spinner forever.
const TOKENIZE_TIMEOUT_MS = 30_000;
const EVENTS = ['ready', 'change', 'focus', 'blur', 'submit', 'loaderror'];
// Without `ready` by then the form is not coming (the edge unreachable, say): `loaderror` lets the shop say so.
const LOAD_TIMEOUT_MS = 15_000;
const LOCALES = ['en', 'ar', 'auto'];
const THEME_KEYS = 'colorText colorBackground colorBorder colorPrimary colorDanger colorPlaceholder fontFamily fontSize borderRadius spacing'.split(' ');

const fail = (message) => {
  throw new TypeError(`Paygate: ${message}`);
};
const oneOf = (value, allowed, name) =>
  allowed.includes(value) ? value : fail(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);

/// Async, so a bad key or option is a rejection like any other failure. Checked before the browser test,
/// so a wrong key also shows during server-side rendering.
export async function loadPaygate(publishableKey, options = {}) {
  if (!PUBLISHABLE_KEY.test(typeof publishableKey === 'string' ? publishableKey : '')) {
    // The value is never echoed: it may be another secret pasted by mistake.
    fail(/^sk_/.test(publishableKey)
      ? 'this is a secret key (sk_…). Never put a secret key in a browser, where anyone can read it: use your publishable key (pk_test_… or pk_live_…) and revoke this one if it was published.'
      : 'expected a publishable key (pk_test_… or pk_live_…)');
  }
  const { apiBase = 'https://api.paygate.dev', locale = 'auto' } = options;
  let url;
  try {
    url = new URL(apiBase);
  } catch {}
  if (!/^https?:$/.test(url?.protocol) || url.search || url.hash) fail(`apiBase must be an http(s) URL, got ${apiBase}`);
  // Plain http is for local development; live card data must never cross it.
  if (url.protocol === 'http:' && publishableKey.startsWith('pk_live_')) fail('a live key needs an https apiBase');
  const api = { pk: publishableKey, base: url.href.replace(/\/+$/, ''), origin: url.origin, locale: oneOf(locale, LOCALES, 'locale') };
  if (typeof window === 'undefined' || typeof document === 'undefined') return null; // server-side rendering
  // Same-origin, the page's scripts could reach into the form: the origin boundary is the protection.
  if (api.origin === window.location.origin) fail('apiBase must be another origin than this page');
  return { mount: (target, elementOptions) => mountCard(api, target, elementOptions) };
}

/// Options as `update` messages carry them (the URL spells postal '1'/'0' and style as JSON): locale
/// resolved, since 'auto' means this page's language, and postalCode named postal. Only the options
/// given come back, so an update leaves the others alone.
function frameSettings({ locale, layout, postalCode, style, disabled } = {}) {
  const settings = {};
  if (locale !== undefined) {
    const lang = oneOf(locale, LOCALES, 'locale') === 'auto' ? document.documentElement.lang || navigator.language : locale;
    settings.locale = /^ar/i.test(lang) ? 'ar' : 'en';
  }
  if (layout !== undefined) settings.layout = oneOf(layout, ['row', 'split'], 'layout');
  if (postalCode !== undefined) settings.postal = oneOf(postalCode, [true, false], 'postalCode');
  if (style !== undefined) {
    if (typeof style !== 'object' || style === null) fail('style must be an object');
    for (const [key, value] of Object.entries(style)) {
      // Refused rather than dropped, so a typo ("colour…") shows at once.
      if (!THEME_KEYS.includes(key) || typeof value !== 'string') fail(`style.${key} is not a theme variable with a string value`);
    }
    settings.style = { ...style }; // a copy: later changes to the object must not reach a queued message
  }
  if (disabled !== undefined) settings.disabled = oneOf(disabled, [true, false], 'disabled');
  return settings;
}

function mountCard(api, target, options) {
  const host = typeof target === 'string' ? document.querySelector(target) : target;
  if (host?.nodeType !== 1) throw new Error(`Paygate: mount target ${typeof target === 'string' ? `"${target}" matches no element` : 'is not an element'}`);
  if (options?.type !== 'card') {
    throw new Error(options?.type === 'apple_pay'
      ? 'Paygate: apple_pay is not supported yet by this version of @paygate/js'
      : `Paygate: mount() needs options.type 'card', got ${JSON.stringify(options?.type)}`);
  }
  const { locale, layout = 'row', postal = true, style, disabled } = frameSettings({ ...options, locale: options.locale ?? api.locale });
  const id = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
  // Everything rides in the fragment, which browsers never send to a server: the key and the shop stay out
  // of logs, and every shop loads the same cached page.
  const params = { pk: api.pk, origin: window.location.origin, id, locale, layout, postal: postal ? '1' : '0' };
  if (style) params.style = JSON.stringify(style);
  const frame = document.createElement('iframe');
  const attributes = {
    src: `${api.base}/elements/v1/card.html#${new URLSearchParams(params)}`,
    title: options.title ?? 'Secure card payment form',
    allow: 'payment',
    allowtransparency: 'true',
    scrolling: 'no',
  };
  for (const [name, value] of Object.entries(attributes)) frame.setAttribute(name, value);
  // Height 0 until the form reports its own, so no empty box shows while it loads. Set through the CSSOM,
  // which a strict style-src allows, where a style attribute would be blocked.
  frame.style.cssText = 'border:0;width:100%;display:block;height:0;overflow:hidden';

  const handlers = new Map(EVENTS.map((event) => [event, new Set()]));
  const pending = new Map(); // tokenize request number -> {resolve, timer}
  let queue = []; // until `ready` nobody in the iframe listens yet; null afterwards
  let changed = {}; // every setting changed since mount: a reloaded iframe knows only its URL's
  let loadFailed = null; // the loaderror detail, once the form could not start
  let loadTimer = null;
  let requests = 0;
  let destroyed = false;

  // Never '*': only our edge's page may read what we send.
  const send = (data) => frame.contentWindow?.postMessage(data, api.origin);
  const post = (message) => {
    if (destroyed) return;
    const data = { paygate: 1, id, ...message };
    if (queue) queue.push(data);
    else send(data);
  };
  const settle = (request, result) => {
    const waiting = pending.get(request);
    if (!waiting) return; // timed out or destroyed already: a late answer changes nothing
    pending.delete(request);
    clearTimeout(waiting.timer);
    waiting.resolve(result);
  };
  const listeners = (event) => handlers.get(event) ?? fail(`unknown event ${JSON.stringify(event)}; use ${EVENTS}`);
  const destroyedError = () => ({ error: { code: 'element_destroyed', message: 'The card element was destroyed' } });

  const onMessage = ({ origin, source, data }) => {
    // Any window may post to the shop page: believe only this element's iframe, on the API origin.
    if (origin !== api.origin || source == null || source !== frame.contentWindow || data?.paygate !== 1 || data.id !== id) return;
    const { paygate, id: _, type, ...rest } = data;
    let detail = rest;
    if (type === 'ready') {
      clearTimeout(loadTimer);
      loadFailed = null; // late, but here: the form works after all
    }
    if (type === 'loaderror') {
      detail = loadFailure('load_failed', 'The card form could not start; see the console of its frame');
      if (!detail) return;
    }
    if ((type === 'ready' || type === 'resize') && Number.isFinite(detail.height) && detail.height >= 0) {
      frame.style.height = `${detail.height}px`;
    }
    if (type === 'ready' && queue) {
      queue.forEach(send);
      queue = null;
    } else if (type === 'ready') {
      // The iframe reloaded (its host moved in the DOM, say): give it back its settings, and end the
      // tokenize calls the old page can no longer answer.
      if (Object.keys(changed).length) send({ paygate: 1, id, type: 'update', ...changed });
      for (const request of [...pending.keys()]) {
        settle(request, { error: { code: 'network_error', message: 'The card form reloaded; try again' } });
      }
    }
    if (type === 'tokenized') settle(detail.request, detail.token ? { token: detail.token } : { error: detail.error });
    emit(type, detail);
  };
  // Reports the failure once, and ends every tokenize call waiting on a form that will not answer.
  const loadFailure = (code, message) => {
    if (loadFailed) return null;
    loadFailed = { code, message };
    for (const request of [...pending.keys()]) settle(request, { error: loadFailed });
    return loadFailed;
  };
  const emit = (type, detail) => {
    for (const handler of [...(handlers.get(type) ?? [])]) {
      // One throwing handler must stop neither the others nor the listener; the console still shows it.
      try {
        handler(detail);
      } catch (error) {
        setTimeout(() => { throw error; });
      }
    }
  };
  loadTimer = setTimeout(() => {
    const detail = loadFailure('load_timeout', 'The card form did not load in time');
    if (detail) emit('loaderror', detail);
  }, LOAD_TIMEOUT_MS);
  loadTimer.unref?.(); // Node (tests, SSR tooling) must not stay alive for it; browsers have no unref

  // Listen before the iframe exists, so its `ready` cannot be missed.
  window.addEventListener('message', onMessage);
  host.appendChild(frame);
  if (disabled) {
    changed.disabled = disabled;
    post({ type: 'update', disabled });
  }

  const element = {
    on(event, handler) {
      if (typeof handler !== 'function') fail('on() needs a function');
      listeners(event).add(handler);
      return element;
    },
    off(event, handler) {
      listeners(event).delete(handler);
      return element;
    },
    tokenize(data) {
      return new Promise((resolve) => {
        if (destroyed) return resolve(destroyedError());
        if (loadFailed) return resolve({ error: loadFailed });
        const { name, postalCode } = data ?? {};
        const message = { type: 'tokenize', request: ++requests };
        if (name !== undefined) message.name = String(name);
        if (postalCode !== undefined) message.postalCode = String(postalCode);
        const timer = setTimeout(() => settle(message.request, {
          error: { code: 'network_error', message: 'The card form did not answer in time' },
        }), TOKENIZE_TIMEOUT_MS);
        pending.set(message.request, { resolve, timer });
        post(message);
      });
    },
    update(changes) {
      // The title belongs to the iframe element, on this side; the rest to the form inside.
      if (changes?.title !== undefined) frame.setAttribute('title', changes.title);
      const settings = frameSettings(changes);
      if (Object.keys(settings).length) {
        changed = { ...changed, ...settings };
        post({ type: 'update', ...settings });
      }
    },
    clear: () => post({ type: 'clear' }),
    focus: () => post({ type: 'focus' }),
    showError: (code) => post({ type: 'show_error', code: code == null ? null : String(code) }),
    destroy() {
      if (destroyed) return;
      destroyed = true;
      window.removeEventListener('message', onMessage);
      clearTimeout(loadTimer);
      frame.remove();
      for (const request of [...pending.keys()]) settle(request, destroyedError());
    },
  };
  return element;
}
