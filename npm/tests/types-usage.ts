// Compiled (never run) by types.test.mjs under `strict`: the API as a shop uses it must type-check, and
// the @ts-expect-error lines must stay errors, so the types cannot silently become too loose.
import { loadPaygate, type ApplePayElement, type CardElement, type Paygate, type Token } from '@paygate/js';

async function checkout(): Promise<string | null> {
  const paygate: Paygate | null = await loadPaygate('pk_test_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', { locale: 'auto' });
  if (!paygate) return null; // server-side rendering
  const card: CardElement = paygate.mount('#card', {
    type: 'card',
    layout: 'split',
    postalCode: false,
    locale: 'ar',
    style: { colorPrimary: '#0a7', borderRadius: '8px', fontFamily: 'system-ui, sans-serif' },
    title: 'Card details',
  });
  card
    .on('ready', ({ height }) => console.log(height.toFixed(0)))
    .on('change', ({ brand, complete, empty, error }) => console.log(brand, complete, empty, error?.field))
    .on('focus', ({ field }) => console.log(field === 'postal_code'))
    .off('blur', () => {});
  card.update({ locale: 'en', disabled: true });
  card.showError('card_declined');
  card.showError(null);
  card.focus();
  card.clear();

  const result = await card.tokenize({ name: 'Layla Haddad' });
  if (result.error) return `${result.error.code}: ${result.error.message} ${result.error.field ?? ''}`;
  const token: Token = result.token;
  card.destroy();
  return `${token.id} ${token.card.brand} ${token.card.last4} ${token.card.exp_month}/${token.card.exp_year} ${token.livemode}`;
}

async function applePay(paygate: Paygate, charge: (token: string) => Promise<boolean>) {
  const button: ApplePayElement = paygate.mount('#apple-pay', {
    type: 'apple_pay', amount: 1999, currency: 'SAR', country: 'SA', label: 'Souq', buttonType: 'buy', locale: 'ar',
  });
  button
    .on('ready', ({ available, height }) => console.log(available ? height : 'no Apple Pay'))
    .on('token', async ({ token, complete }) => {
      complete((await charge(token.id)) ? 'success' : 'failure');
      console.log(token.card.wallet.amount, token.card.wallet.currency, token.card.last4);
    })
    .on('cancel', ({ message }) => console.log(message))
    .on('error', ({ error }) => console.log(error.code));
  button.update({ amount: 2500 });
  button.destroy();
}

async function threeDSecure(paygate: Paygate, charge: { status: string; next_action: { type: 'redirect'; redirect_url: string; expires_at: string } | null }) {
  if (charge.status !== 'requires_action' || !charge.next_action) return;
  const result = await paygate.handleNextAction(charge.next_action, { locale: 'ar' });
  if (result.error) return console.log(result.error.code, result.error.message);
  console.log(result.status === 'failed' ? result.failureCode : result.status);
}

async function mistakes(paygate: Paygate, card: CardElement, button: ApplePayElement) {
  // @ts-expect-error handleNextAction takes the charge's next_action, not its id
  await paygate.handleNextAction('ch_123');
  // @ts-expect-error the result may be an error, without a status
  (await paygate.handleNextAction({ type: 'redirect', redirect_url: 'https://x' })).status.toUpperCase();
  // @ts-expect-error an Apple Pay button needs the amount, currency, country and label
  paygate.mount('#apple-pay', { type: 'apple_pay', amount: 1999 });
  // @ts-expect-error an Apple Pay button has no tokenize(): the token comes with the 'token' event
  button.tokenize();
  // @ts-expect-error complete() takes 'success' or 'failure'
  button.on('token', ({ complete }) => complete(true));
  // @ts-expect-error the currency of an Apple Pay payment is fixed at mount
  button.update({ currency: 'EUR' });
  // @ts-expect-error only card elements can be mounted with these options
  paygate.mount('#card', { type: 'cash' });
  // @ts-expect-error the event is called 'change'
  card.on('changed', () => {});
  // @ts-expect-error a locale the form does not speak
  card.update({ locale: 'fr' });
  // @ts-expect-error theme values are CSS strings
  card.update({ style: { fontSize: 16 } });
  // @ts-expect-error tokenize() resolves to {token} or {error}; the token may be missing
  (await card.tokenize()).token.id;
  // @ts-expect-error the key is a string
  await loadPaygate(42);
}

void checkout;
void applePay;
void threeDSecure;
void mistakes;
