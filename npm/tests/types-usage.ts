// Compiled (never run) by types.test.mjs under `strict`: the API as a shop uses it must type-check, and
// the @ts-expect-error lines must stay errors, so the types cannot silently become too loose.
import { loadPaygate, type CardElement, type Paygate, type Token } from '@paygate/js';

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

async function mistakes(paygate: Paygate, card: CardElement) {
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
void mistakes;
