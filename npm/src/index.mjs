// @paygate/js: the loader a shop page imports. It puts the card form, served by the Paygate edge, in an
// iframe and talks to it over postMessage; card data stays in the iframe, out of the shop's reach (PCI SAQ A).
// Importing this module does nothing (no global is read or written before loadPaygate() runs), so it is
// safe during server-side rendering and bundlers may drop it when unused ("sideEffects": false). It is one
// file on purpose: a Subresource Integrity hash on the CDN copy then covers all of it.

// As on the edge (core::api_key): 32 to 128 base62 characters after the prefix.
const PUBLISHABLE_KEY = /^pk_(test|live)_[0-9A-Za-z]{32,128}$/;
// Room for a slow network and the edge's own timeouts, yet no spinner forever.
const TOKENIZE_TIMEOUT_MS = 30_000;
// Without `ready` by then the element is not coming (the edge unreachable, say): `loaderror` lets the shop say so.
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
  return {
    mount: (target, elementOptions) => mount(api, target, elementOptions),
    handleNextAction: (nextAction, actionOptions) => handleNextAction(api, nextAction, actionOptions),
  };
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

function mount(api, target, options) {
  const host = typeof target === 'string' ? document.querySelector(target) : target;
  if (host?.nodeType !== 1) throw new Error(`Paygate: mount target ${typeof target === 'string' ? `"${target}" matches no element` : 'is not an element'}`);
  if (options?.type === 'card') return mountCard(api, host, options);
  if (options?.type === 'apple_pay') return mountApplePay(api, host, options);
  throw new Error(`Paygate: mount() needs options.type 'card' or 'apple_pay', got ${JSON.stringify(options?.type)}`);
}

/// What every element shares: its iframe on the API origin, messages (queued until `ready`, believed only from
/// that iframe), settings updates (given back to a reloaded iframe), events, the load timeout and destroy.
/// `onFrame(type, detail, first)` sees each message first and returns the detail to emit, or undefined to emit
/// none.
function mountFrame(api, host, { page, params, title, events, onFrame }) {
  const id = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
  const frame = document.createElement('iframe');
  // Everything rides in the fragment, which browsers never send to a server: the key and the shop stay out
  // of logs, and every shop loads the same cached page.
  const attributes = {
    src: `${api.base}/elements/v1/${page}#${new URLSearchParams({ pk: api.pk, origin: window.location.origin, id, ...params })}`,
    title,
    allow: 'payment',
    allowtransparency: 'true',
    scrolling: 'no',
  };
  for (const [name, value] of Object.entries(attributes)) frame.setAttribute(name, value);
  // Height 0 until the element reports its own, so no empty box shows while it loads. Set through the CSSOM,
  // which a strict style-src allows, where a style attribute would be blocked.
  frame.style.cssText = 'border:0;width:100%;display:block;height:0;overflow:hidden';

  const handlers = new Map(events.map((event) => [event, new Set()]));
  let queue = []; // until `ready` nobody in the iframe listens yet; null afterwards
  let changed = {}; // every setting changed since mount: a reloaded iframe knows only its URL's
  const el = { frame, id, loadFailed: null, destroyed: false, onDestroy: () => {} };
  // Never '*': only our edge's page may read what we send.
  el.send = (data) => frame.contentWindow?.postMessage(data, api.origin);
  el.post = (message) => {
    if (el.destroyed) return;
    const data = { paygate: 1, id, ...message };
    if (queue) queue.push(data);
    else el.send(data);
  };
  el.update = (settings) => {
    if (!Object.keys(settings).length) return;
    changed = { ...changed, ...settings };
    el.post({ type: 'update', ...settings });
  };
  el.emit = (type, detail) => {
    for (const handler of [...(handlers.get(type) ?? [])]) {
      // One throwing handler must stop neither the others nor the listener; the console still shows it.
      try {
        handler(detail);
      } catch (error) {
        setTimeout(() => { throw error; });
      }
    }
  };
  el.listening = (type) => handlers.get(type).size > 0;
  const listeners = (event) => handlers.get(event) ?? fail(`unknown event ${JSON.stringify(event)}; use ${events}`);
  // Reports the failure once, with the element's own clean-up (pending calls end with it).
  el.loadFailure = (code, message) => {
    if (el.loadFailed) return null;
    el.loadFailed = { code, message };
    el.onLoadFailure?.(el.loadFailed);
    return el.loadFailed;
  };

  const onMessage = ({ origin, source, data }) => {
    // Any window may post to the shop page: believe only this element's iframe, on the API origin.
    if (origin !== api.origin || source == null || source !== frame.contentWindow || data?.paygate !== 1 || data.id !== id) return;
    const { paygate, id: _, type, ...rest } = data;
    let detail = rest;
    if (type === 'ready') {
      clearTimeout(loadTimer);
      el.loadFailed = null; // late, but here: the element works after all
    }
    if (type === 'loaderror') {
      detail = el.loadFailure('load_failed', 'The element could not start; see the console of its frame');
      if (!detail) return;
    }
    if ((type === 'ready' || type === 'resize') && Number.isFinite(detail.height) && detail.height >= 0) {
      frame.style.height = `${detail.height}px`;
    }
    const first = type === 'ready' && queue;
    if (first) {
      queue.forEach(el.send);
      queue = null;
    } else if (type === 'ready' && Object.keys(changed).length) {
      // The iframe reloaded (its host moved in the DOM, say): give it back its settings.
      el.send({ paygate: 1, id, type: 'update', ...changed });
    }
    detail = onFrame(type, detail, first);
    if (detail !== undefined) el.emit(type, detail);
  };
  const loadTimer = setTimeout(() => {
    const detail = el.loadFailure('load_timeout', 'The element did not load in time');
    if (detail) el.emit('loaderror', detail);
  }, LOAD_TIMEOUT_MS);
  loadTimer.unref?.(); // Node (tests, SSR tooling) must not stay alive for it; browsers have no unref

  // Listen before the iframe exists, so its `ready` cannot be missed.
  window.addEventListener('message', onMessage);
  host.appendChild(frame);

  el.element = {
    on(event, handler) {
      if (typeof handler !== 'function') fail('on() needs a function');
      listeners(event).add(handler);
      return el.element;
    },
    off(event, handler) {
      listeners(event).delete(handler);
      return el.element;
    },
    destroy() {
      if (el.destroyed) return;
      el.destroyed = true;
      window.removeEventListener('message', onMessage);
      clearTimeout(loadTimer);
      frame.remove();
      el.onDestroy();
    },
  };
  return el;
}

function mountCard(api, host, options) {
  const { locale, layout = 'row', postal = true, style, disabled } = frameSettings({ ...options, locale: options.locale ?? api.locale });
  const params = { locale, layout, postal: postal ? '1' : '0' };
  if (style) params.style = JSON.stringify(style);
  const pending = new Map(); // tokenize request number -> {resolve, timer}
  let requests = 0;
  const settle = (request, result) => {
    const waiting = pending.get(request);
    if (!waiting) return; // timed out or destroyed already: a late answer changes nothing
    pending.delete(request);
    clearTimeout(waiting.timer);
    waiting.resolve(result);
  };
  const endAll = (result) => [...pending.keys()].forEach((request) => settle(request, result));
  const destroyedError = () => ({ error: { code: 'element_destroyed', message: 'The card element was destroyed' } });
  const el = mountFrame(api, host, {
    page: 'card.html',
    params,
    title: options.title ?? 'Secure card payment form',
    events: ['ready', 'change', 'focus', 'blur', 'submit', 'loaderror'],
    onFrame(type, detail, first) {
      if (type === 'ready' && !first) {
        // The iframe reloaded: the old page can no longer answer its tokenize calls.
        endAll({ error: { code: 'network_error', message: 'The card form reloaded; try again' } });
      }
      if (type === 'tokenized') settle(detail.request, detail.token ? { token: detail.token } : { error: detail.error });
      return detail;
    },
  });
  el.onLoadFailure = (failure) => endAll({ error: failure });
  el.onDestroy = () => endAll(destroyedError());
  if (disabled) el.update({ disabled });
  return Object.assign(el.element, {
    tokenize(data) {
      return new Promise((resolve) => {
        if (el.destroyed) return resolve(destroyedError());
        if (el.loadFailed) return resolve({ error: el.loadFailed });
        const { name, postalCode } = data ?? {};
        const message = { type: 'tokenize', request: ++requests };
        if (name !== undefined) message.name = String(name);
        if (postalCode !== undefined) message.postalCode = String(postalCode);
        const timer = setTimeout(() => settle(message.request, {
          error: { code: 'network_error', message: 'The card form did not answer in time' },
        }), TOKENIZE_TIMEOUT_MS);
        pending.set(message.request, { resolve, timer });
        el.post(message);
      });
    },
    update(changes) {
      // The title belongs to the iframe element, on this side; the rest to the form inside.
      if (changes?.title !== undefined) el.frame.setAttribute('title', changes.title);
      el.update(frameSettings(changes));
    },
    clear: () => el.post({ type: 'clear' }),
    focus: () => el.post({ type: 'focus' }),
    showError: (code) => el.post({ type: 'show_error', code: code == null ? null : String(code) }),
  });
}

/// The Apple Pay options, checked here so a mistake throws at mount (the iframe checks them again). Only the
/// options given come back, as for the card.
function applePaySettings({ amount, label, locale } = {}) {
  const settings = {};
  // As core::apple_pay_sheet: at most 999,999,999,999 minor units; a label of 1 to 64 printable characters.
  if (amount !== undefined) settings.amount = Number.isInteger(amount) && amount > 0 && amount < 1e12 ? amount : fail('amount must be a positive integer in minor units (1999 for 19.99)');
  if (label !== undefined) settings.label = typeof label === 'string' && label.trim() && label.trim().length <= 64 && !/[\0-\x1f\x7f-\x9f]/.test(label) ? label : fail('label must be the shop name, 1 to 64 printable characters');
  if (locale !== undefined) settings.locale = frameSettings({ locale }).locale;
  return settings;
}

/// Apple's button where Apple Pay is available (`ready` says `available`), nothing elsewhere. A click runs the
/// whole session in the iframe; the page gets `token` with `complete(status)` to call once it has charged.
function mountApplePay(api, host, options) {
  const { amount, label, locale } = applePaySettings({ ...options, locale: options.locale ?? api.locale });
  if (amount === undefined || label === undefined) fail('apple_pay needs amount and label');
  const { currency, country, buttonType = 'plain', buttonStyle = 'black' } = options;
  if (!/^[A-Za-z]{3}$/.test(currency)) fail(`currency must be an ISO 4217 code like 'USD', got ${JSON.stringify(currency)}`);
  if (!/^[A-Z]{2}$/.test(country)) fail(`country must be the merchant's ISO 3166 code like 'US' or 'SA', got ${JSON.stringify(country)}`);
  oneOf(buttonType, ['plain', 'buy', 'check-out', 'book', 'donate', 'subscribe', 'order'], 'buttonType');
  oneOf(buttonStyle, ['black', 'white', 'white-outline'], 'buttonStyle');
  const el = mountFrame(api, host, {
    page: 'apple-pay.html',
    params: { amount, currency, country, label, locale, buttonType, buttonStyle },
    title: options.title ?? 'Apple Pay',
    events: ['ready', 'token', 'cancel', 'error', 'loaderror'],
    onFrame(type, detail) {
      if (type !== 'token') return ['ready', 'cancel', 'error', 'loaderror'].includes(type) ? detail : undefined;
      let done = false;
      // The sheet waits for this answer (up to 25 s, then it shows a failure).
      const complete = (status) => {
        oneOf(status, ['success', 'failure'], 'status');
        if (done || el.destroyed) return;
        done = true;
        el.post({ type: 'complete', request: detail.request, status });
      };
      if (!el.listening('token')) {
        console.error('Paygate: listen for the Apple Pay element\'s "token" event to charge the token');
        complete('failure');
      }
      return { token: detail.token, complete };
    },
  });
  return Object.assign(el.element, {
    update: (changes) => el.update(applePaySettings(changes)),
  });
}

// The dialog's words, in the elements' languages.
const DIALOG_TEXT = {
  en: { title: 'Confirm your payment', cancel: 'Cancel', cancelled: 'The payment was not confirmed.', expired: 'The time to confirm the payment has run out.', unknown: 'There is nothing to confirm for this payment.' },
  ar: { title: 'تأكيد الدفع', cancel: 'إلغاء', cancelled: 'لم يتم تأكيد الدفع.', expired: 'انتهت مهلة تأكيد الدفع.', unknown: 'لا يوجد ما يلزم تأكيده لهذه الدفعة.' },
};
const DECIDED = ['authorized', 'captured', 'failed', 'requires_action'];

/// 3-D Secure: shows the charge's `next_action` (the processor's authentication page) in a modal dialog over the
/// page, and resolves once the shopper is back: `{status}` as the processor left the charge (`failureCode` with a
/// failure), or `{error}` (cancelled, expired, could not load). Never rejects after its checks. The shop's server
/// learns the outcome for certain by reading the charge or by webhook.
function handleNextAction(api, nextAction, options = {}) {
  const url = nextAction?.redirect_url;
  if (nextAction?.type !== 'redirect' || !/^https?:\/\//.test(url ?? '')) fail("handleNextAction() takes the charge's next_action: {type: 'redirect', redirect_url}");
  const { locale } = frameSettings({ locale: options.locale ?? api.locale });
  const text = DIALOG_TEXT[locale];
  return new Promise((resolve) => {
    // The native modal dialog: the page behind is inert (focus stays in the dialog), Escape cancels, the top layer
    // keeps it above everything the shop has.
    const dialog = document.createElement('dialog');
    dialog.setAttribute('aria-label', text.title);
    dialog.setAttribute('lang', locale);
    dialog.setAttribute('dir', locale === 'ar' ? 'rtl' : 'ltr');
    dialog.style.cssText = 'padding:0;border:0;border-radius:12px;width:min(460px,96vw);height:min(640px,92vh);overflow:hidden;flex-direction:column;background:#fff';
    // A title bar: what this is, in the page's language (the bank's page below speaks the bank's), and ×.
    const bar = document.createElement('div');
    bar.style.cssText = 'display:flex;align-items:center;justify-content:space-between;padding:4px;padding-inline-start:16px;border-bottom:1px solid #dde1e8;font:600 16px system-ui,sans-serif;color:#1d2330';
    const title = document.createElement('span');
    title.textContent = text.title;
    const close = document.createElement('button');
    close.type = 'button';
    close.textContent = '×';
    close.setAttribute('aria-label', text.cancel);
    close.style.cssText = 'border:0;background:none;font:28px/1 system-ui,sans-serif;cursor:pointer;padding:4px 10px;color:inherit';
    bar.append(title, close);
    dialog.append(bar);
    document.body.append(dialog);
    let timer;
    const finish = (result) => {
      if (!dialog.isConnected) return;
      clearTimeout(timer);
      el.element.destroy();
      dialog.close();
      dialog.remove();
      resolve(result);
    };
    const error = (code) => ({ error: { code, message: text[code.slice('authentication_'.length)] } });
    const el = mountFrame(api, dialog, {
      page: 'challenge.html',
      params: { url, title: text.title },
      title: text.title,
      events: ['ready', 'loaderror'],
      onFrame(type, detail) {
        if (type === 'authentication_result') {
          finish(DECIDED.includes(detail.status) ? { status: detail.status, failureCode: detail.failure_code ?? null } : error('authentication_unknown'));
        }
        return type === 'ready' ? detail : undefined;
      },
    });
    el.onLoadFailure = (failure) => finish({ error: failure });
    el.frame.style.cssText = 'border:0;width:100%;flex:1;display:block';
    close.addEventListener('click', () => finish(error('authentication_cancelled')));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(error('authentication_cancelled'));
    });
    // Past the charge's deadline the processor will not finish it; a little later the charge fails.
    const left = Date.parse(nextAction.expires_at) - Date.now();
    timer = setTimeout(() => finish(error('authentication_expired')), Number.isFinite(left) ? Math.max(left, 1000) : 1800000);
    dialog.showModal();
    dialog.style.display = 'flex';
    el.frame.focus();
  });
}
