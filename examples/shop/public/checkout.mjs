// The demo shop's checkout: mounts Paygate's Apple Pay button (shown only where Apple Pay is available) above
// Paygate's card form, tokenizes the card on Pay with the name typed on the shop's page, and asks the shop's
// server to charge the token, whichever element made it. When the card's issuer asks for 3-D Secure, the page
// shows the authentication with `handleNextAction` and then asks its own server how the charge ended. This page
// never sees card data: only the elements' events and the token.
import { loadPaygate } from '@paygate/js';

const AMOUNT_MINOR = 2400;
const CURRENCY = 'EUR';
// Failure codes the card form explains itself, in its language; other decline codes become card_declined.
const EXPLAINED_CODES = ['card_declined', 'insufficient_funds', 'incorrect_cvc', 'expired_card', 'processing_error', 'authentication_failed'];
const THEME = { colorPrimary: '#0b7a5a', colorText: '#1d2330', colorBorder: '#dde1e8', colorDanger: '#b42318', borderRadius: '8px', fontSize: '16px' };

const TEXT = {
  en: {
    shop: 'Qahwa & Co.', language: 'Language', summary: 'Order summary', item: 'Single-origin coffee beans, 1 kg',
    itemNote: 'Yirgacheffe, Ethiopia', shipping: 'Shipping', total: 'Total', payTitle: 'Payment', name: 'Name on card',
    card: 'Card', pay: 'Pay', frameTitle: 'Secure card payment form', orCard: 'or pay by card',
    secure: "Card details are entered in Paygate's secure form and never reach this shop.",
    loading: 'Loading the card form…', unavailable: 'The checkout is not available right now.',
    nameMissing: 'Enter the name on the card.', checkCard: 'Check the card details.', working: 'Processing your payment…',
    authenticating: 'Confirm the payment with your bank…', notConfirmed: 'The payment was not confirmed. Press Pay to try again.',
    unsettled: 'We could not learn yet whether your bank confirmed the payment; we will email you. Please do not pay again.',
    paid: 'Payment received. Thank you!', pending: 'Your payment is being confirmed; we will email you when it is done.',
    failed: 'The payment did not go through.',
    unknown: 'We could not confirm the payment. Press Pay to try again; you will not be charged twice.',
  },
  ar: {
    shop: 'قهوة وشركاه', language: 'اللغة', summary: 'ملخص الطلب', item: 'حبوب قهوة أحادية المصدر، ١ كغ',
    itemNote: 'يرغاتشيفي، إثيوبيا', shipping: 'الشحن', total: 'المجموع', payTitle: 'الدفع', name: 'الاسم على البطاقة',
    card: 'البطاقة', pay: 'ادفع', frameTitle: 'نموذج آمن للدفع بالبطاقة', orCard: 'أو ادفع بالبطاقة',
    secure: 'تُدخَل بيانات البطاقة في نموذج Paygate الآمن ولا تصل أبدًا إلى هذا المتجر.',
    loading: 'جارٍ تحميل نموذج البطاقة…', unavailable: 'الدفع غير متاح حاليًا.',
    nameMissing: 'أدخل الاسم كما يظهر على البطاقة.', checkCard: 'تحقّق من بيانات البطاقة.', working: 'جارٍ تنفيذ الدفع…',
    authenticating: 'أكّد الدفع مع مصرفك…', notConfirmed: 'لم يتم تأكيد الدفع. اضغط «ادفع» للمحاولة مجددًا.',
    unsettled: 'لم نعرف بعد إن كان مصرفك قد أكّد الدفع، وسنراسلك. يُرجى عدم الدفع مرة أخرى.',
    paid: 'تم استلام الدفعة. شكرًا لك!', pending: 'جارٍ تأكيد الدفعة، وسنراسلك عند اكتمالها.',
    failed: 'لم تتم عملية الدفع.',
    unknown: 'تعذّر تأكيد الدفع. اضغط «ادفع» للمحاولة مجددًا، ولن يُخصم المبلغ مرتين.',
  },
};

// One order per page load. The server derives the charge's Idempotency-Key from it and `attempt`, so a
// retry after a lost answer replays the first charge instead of making a second.
const order = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
// The next attempt starts only after a definite failure, when nothing was charged.
let attempt = 1;
// A token whose charge has no known outcome (no answer, 5xx): Pay sends it again with the same attempt,
// so the Idempotency-Key replay answers; a new token would be a different request under the same key.
let unsettledToken = null;

const $ = (id) => document.getElementById(id);
const form = $('checkout');
const nameInput = $('name');
const payButton = $('pay');
const statusArea = $('status');
let locale = document.documentElement.lang === 'ar' ? 'ar' : 'en';
let paygate = null;
let card = null;
let applePay = null;
let ready = false;
let busy = false;
let done = false; // paid, or being confirmed: nothing more to pay
let status = { key: '' }; // kept as a key, so switching language translates it too

function render() {
  const text = TEXT[locale];
  document.documentElement.lang = locale;
  document.documentElement.dir = locale === 'ar' ? 'rtl' : 'ltr';
  for (const element of document.querySelectorAll('[data-text]')) element.textContent = text[element.dataset.text];
  const money = new Intl.NumberFormat(locale, { style: 'currency', currency: CURRENCY });
  for (const element of document.querySelectorAll('[data-money]')) element.textContent = money.format(element.dataset.money / 100);
  for (const button of document.querySelectorAll('[data-lang]')) button.setAttribute('aria-pressed', String(button.dataset.lang === locale));
  document.querySelector('.lang').setAttribute('aria-label', text.language);

  const { key, tone = '', code, detail, localized, charge } = status;
  // The server's messages are in English; in Arabic the card form shows the reason in Arabic instead. The
  // Apple Pay element's messages are in the shopper's language already (`localized`).
  statusArea.textContent = [text[key], locale === 'en' || localized ? detail : ''].filter(Boolean).join(' ');
  statusArea.dataset.tone = tone;
  if (code) statusArea.dataset.code = code;
  else delete statusArea.dataset.code;
  if (charge) {
    const result = document.createElement('span');
    result.id = 'result';
    result.dataset.status = charge.status;
    result.textContent = charge.id;
    statusArea.append(' ', result);
  }
  // Paid: no second way to pay.
  if (done) $('apple-pay-area').hidden = true;
  payButton.disabled = busy || done || !ready;
  nameInput.disabled = busy || done;
}

function say(key, details = {}) {
  status = { key, ...details };
  render();
}

function setBusy(value) {
  busy = value;
  payButton.setAttribute('aria-busy', String(value));
  card.update({ disabled: busy || done });
  render();
}

async function start() {
  say('loading');
  try {
    const answer = await fetch('/api/config');
    const config = await answer.json();
    if (!answer.ok) throw new Error(config.message ?? `config: ${answer.status}`);
    paygate = await loadPaygate(config.publishableKey, { apiBase: config.apiBase, locale });
    card = paygate.mount('#card', { type: 'card', locale, style: THEME, title: TEXT[locale].frameTitle });
    mountApplePay(paygate, config.country);
  } catch (error) {
    return say('unavailable', { tone: 'error', code: 'unavailable', detail: error.message });
  }
  card.on('ready', () => {
    ready = true;
    say('');
  });
  // Enter in a card field submits the checkout, as it would in a field of this page.
  card.on('submit', () => form.requestSubmit());
  card.on('loaderror', ({ code, message }) => say('unavailable', { tone: 'error', code, detail: message }));
}

/// Apple Pay above the card form, where the browser has it. The sheet shows the charge's outcome: the token
/// goes to the shop's server exactly like a card token, and `complete` tells the sheet how it ended.
function mountApplePay(paygate, country) {
  applePay = paygate.mount('#apple-pay', {
    type: 'apple_pay', amount: AMOUNT_MINOR, currency: CURRENCY, country, label: TEXT.en.shop, buttonType: 'buy', locale,
  });
  applePay.on('ready', ({ available }) => {
    $('apple-pay-area').hidden = !available;
  });
  applePay.on('token', async ({ token, complete }) => {
    // An earlier charge whose outcome is unknown must be settled first (Pay replays it under its key): a new
    // token under the same attempt would be another request under the same Idempotency-Key.
    if (busy || done || unsettledToken) {
      if (unsettledToken) say('unknown', { tone: 'error', code: 'unsettled' });
      return complete('failure');
    }
    say('working');
    setBusy(true);
    try {
      // Its failures show in the sheet and in the status line, not in the card form.
      settle(token, await charge(token), () => {});
    } finally {
      setBusy(false);
    }
    complete(done ? 'success' : 'failure');
  });
  applePay.on('cancel', ({ message }) => say('', { detail: message, localized: true, code: 'apple_pay_cancelled' }));
  applePay.on('error', ({ error }) => say('', { tone: 'error', code: error.code, detail: error.message, localized: true }));
}

/// Tokenizes (unless a token's charge is still unsettled) and charges through the shop's server.
async function pay(name) {
  card.showError(null);
  let token = unsettledToken;
  if (!token) {
    const { token: fresh, error } = await card.tokenize({ name });
    // Field errors are already shown next to the field, inside the form: a short summary is enough here.
    if (error) return say(error.field ? 'checkCard' : 'failed', { tone: 'error', code: error.code, detail: error.field ? '' : error.message });
    token = fresh;
  }
  const answer = await charge(token);
  if (answer.status === 'requires_action') return authenticate(answer);
  settle(token, answer);
}

/// 3-D Secure: the bank's page in Paygate's dialog, then the charge as the shop's server reads it (the dialog's
/// word is for the shopper; the server's for the order).
async function authenticate(pending) {
  say('authenticating');
  const result = await paygate.handleNextAction(pending.next_action, { locale });
  const ask = async (path, method = 'GET') => {
    try {
      return await (await fetch(path, { method })).json();
    } catch {
      return { status: 'requires_action' };
    }
  };
  const path = `/api/charges/${encodeURIComponent(pending.id)}`;
  let charge = await ask(path);
  // Not finished (the dialog closed): give it up now, so nothing can be taken later; the answer says if the
  // shopper had approved at the bank after all.
  if (charge.status === 'requires_action') charge = await ask(`${path}/cancel`, 'POST');
  if (typeof charge.status === 'string' && charge.status !== 'requires_action' && charge.failure_code !== 'authentication_abandoned') {
    return settle(null, charge);
  }
  if (charge.status === 'requires_action') {
    // The processor could not be asked: the outcome is not known yet, so no second payment is offered.
    done = true;
    return say('unsettled', { tone: 'error', code: 'authentication_unsettled' });
  }
  // Given up, with nothing taken: a new attempt is safe.
  attempt += 1;
  say('notConfirmed', { tone: 'error', code: result.error?.code ?? 'authentication_unfinished' });
}

/// Asks the shop's server to charge `token`; the answer is a charge or a problem, with its HTTP status.
async function charge(token) {
  try {
    const response = await fetch('/api/checkout', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: token.id, amount: AMOUNT_MINOR, currency: CURRENCY, order, attempt }),
    });
    return { httpStatus: response.status, ...(await response.json()) };
  } catch {
    return { httpStatus: 0, code: 'network_error', message: 'The shop could not be reached.' };
  }
}

/// What the shop's server answered: a charge (its `status` is a string) or a problem (its `code`).
/// `showError` tells the card form (the default) why; Apple Pay's sheet says it itself.
function settle(token, answer, showError = (code) => card.showError(code)) {
  if (typeof answer.status === 'string') {
    unsettledToken = null;
    if (answer.status === 'failed') {
      attempt += 1;
      const code = EXPLAINED_CODES.includes(answer.failure_code) ? answer.failure_code : 'card_declined';
      showError(code);
      return say('failed', { tone: 'error', code, detail: answer.failure_message });
    }
    done = true; // captured or authorized; pending is being confirmed and must not be paid twice
    card.update({ disabled: true });
    const paid = answer.status === 'captured' || answer.status === 'authorized';
    return say(paid ? 'paid' : 'pending', { tone: paid ? 'ok' : '', charge: answer });
  }
  const code = answer.code ?? 'unknown_error';
  const message = answer.detail ?? answer.title ?? answer.message;
  // No answer, a 5xx, a request still in flight or rate limited: the charge may or may not exist.
  // Keep the token and the attempt, so pressing Pay again replays the same request.
  if (answer.httpStatus === 0 || answer.httpStatus >= 500 || answer.httpStatus === 409 || answer.httpStatus === 429) {
    unsettledToken = token;
    showError('network_error');
    return say('unknown', { tone: 'error', code });
  }
  unsettledToken = null;
  attempt += 1;
  showError(code);
  say('failed', { tone: 'error', code, detail: message });
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!card || busy || done) return;
  const name = nameInput.value.trim();
  if (!name) {
    nameInput.focus();
    return say('nameMissing', { tone: 'error', code: 'name_missing' });
  }
  say('working');
  setBusy(true);
  try {
    await pay(name);
  } finally {
    setBusy(false);
  }
});

for (const button of document.querySelectorAll('[data-lang]')) {
  button.addEventListener('click', () => {
    locale = button.dataset.lang;
    render();
    card?.update({ locale, title: TEXT[locale].frameTitle });
    applePay?.update({ locale });
  });
}

start();
