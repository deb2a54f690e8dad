// Hand-written types of @paygate/js. They describe src/index.mjs; tests/types-usage.ts keeps them honest.

/** A language the card form speaks. Arabic is laid out right to left. */
export type Locale = 'en' | 'ar';

/** A {@link Locale}, or `'auto'`: Arabic when the page language (`<html lang>`, else the browser's) starts with `ar`, English otherwise. */
export type LocaleOption = Locale | 'auto';

/** Options of {@link loadPaygate}. */
export interface LoadOptions {
  /** Origin (and optional path) of the Paygate API that serves the card form. Default `https://api.paygate.dev`. */
  apiBase?: string;
  /** Default language of the elements this instance mounts. Default `'auto'`. */
  locale?: LocaleOption;
}

/** Theming variables of the card form. Every value is a CSS value as a string, e.g. `'#1a1a1a'`, `'8px'`. */
export interface Theme {
  /** Text of the fields. */
  colorText?: string;
  /** Background of the fields. */
  colorBackground?: string;
  /** Borders of the fields. */
  colorBorder?: string;
  /** Focus ring and accents. */
  colorPrimary?: string;
  /** Invalid fields and error messages. */
  colorDanger?: string;
  /** Placeholders. */
  colorPlaceholder?: string;
  /** A font stack available inside the iframe, e.g. `'system-ui, sans-serif'`; the shop's web fonts are not. */
  fontFamily?: string;
  /** Base font size, e.g. `'16px'` (16px or more keeps iOS from zooming in on focus). */
  fontSize?: string;
  /** Corner radius of the fields. */
  borderRadius?: string;
  /** Space between the fields. */
  spacing?: string;
}

/** Options of {@link Paygate.mount} for the card form. */
export interface CardElementOptions {
  /** The element to mount: `'card'` here, `'apple_pay'` for {@link ApplePayElementOptions}. */
  type: 'card';
  /** `'row'`: every field on one line; `'split'`: the number on its own line. Default `'row'`. */
  layout?: 'row' | 'split';
  /** Show the postal code field. Default `true`. */
  postalCode?: boolean;
  /** Language of this element. Default: the `locale` given to {@link loadPaygate}. */
  locale?: LocaleOption;
  /** Theming variables. */
  style?: Theme;
  /** Render the fields read-only, e.g. while a payment is in progress. Default `false`. */
  disabled?: boolean;
  /** Accessible title of the iframe, announced by screen readers. Default `'Secure card payment form'`. */
  title?: string;
}

/** What {@link CardElement.update} can change after mounting. A new `style` replaces the whole theme. */
export type CardElementUpdate = Partial<Omit<CardElementOptions, 'type'>>;

/** A field of the card form. */
export type CardField = 'number' | 'expiry' | 'cvc' | 'postal_code';

/** A card brand as detected while typing; `''` while unknown. */
export type CardBrand =
  | 'visa' | 'mastercard' | 'amex' | 'discover' | 'diners' | 'jcb' | 'unionpay' | 'maestro' | 'mada' | ''
  | (string & {});

/** An error from Paygate. `code` is stable and meant for programs; `message` is for people. */
export interface PaygateError {
  /**
   * `'validation_error'` (a field is incomplete or invalid: see `reason` and `field`), `'rate_limited'`,
   * `'network_error'`, `'processing_error'`, `'api_error'` (a configuration problem: see the console),
   * `'invalid_name'`, `'tokenize_in_progress'`, `'element_destroyed'`, or a field error code as below.
   */
  code: string;
  /** For `validation_error`: the field error code, e.g. `'incomplete_number'`. */
  reason?: string;
  /** A human-readable explanation, in the element's language. */
  message: string;
  /** The field at fault, when there is one (`'name'` for the cardholder name you passed). */
  field?: string;
}

/** An error shown inside the card form: on a field, or (no `field`) on the whole form. */
export interface CardFieldError {
  /**
   * `'incomplete_number'`, `'invalid_number'`, `'unsupported_brand'`, `'incomplete_expiry'`,
   * `'invalid_expiry_month'`, `'invalid_expiry_year'`, `'invalid_expiry_year_past'`, `'incomplete_cvc'`,
   * `'incomplete_postal_code'`, or a charge failure passed to `showError` (`'card_declined'`,
   * `'insufficient_funds'`, `'incorrect_cvc'`, `'expired_card'`, `'processing_error'`, `'network_error'`).
   */
  code: string;
  /** The field at fault; absent for an error about the whole form. */
  field?: CardField;
  /** The message shown to the shopper, in the element's language. */
  message: string;
}

/** A single-use card token. Send its `id` to your server, which charges it with your secret key. */
export interface Token {
  /** `tok_…`; valid for 15 minutes and one charge. */
  id: string;
  /** What the shop may know about the card: never its number or security code. */
  card: {
    brand: CardBrand;
    last4: string;
    exp_month: number;
    exp_year: number;
  };
  /** `true` when made with a live key. */
  livemode: boolean;
}

/** The result of {@link CardElement.tokenize}: exactly one of `token` and `error`. */
export type TokenizeResult = { token: Token; error?: undefined } | { token?: undefined; error: PaygateError };

/** What {@link CardElement.tokenize} sends along with the card. */
export interface TokenizeData {
  /** The cardholder's name as entered on the shop's page. */
  name?: string;
  /** The postal code, when the shop collects it itself (`postalCode: false`). */
  postalCode?: string;
}

/** Arguments of the card element's events, by event name. */
export interface CardElementEvents {
  /** The form has loaded and can take input; `height` is its height in CSS pixels. */
  ready: { height: number };
  /** The input changed. `complete` is true when every field is valid; `error` is the field error shown, if any. */
  change: { brand: CardBrand; complete: boolean; empty: boolean; error: CardFieldError | null };
  /** A field gained focus. */
  focus: { field: CardField };
  /** A field lost focus. */
  blur: { field: CardField };
  /** The shopper pressed Enter in the form: submit your checkout as your Pay button would. */
  submit: Record<string, never>;
  /**
   * The form could not start (`'load_failed'`: its script or WebAssembly was blocked, or it refused the
   * page) or did not load within 15 s (`'load_timeout'`). Tell the shopper card payment is unavailable;
   * `tokenize()` answers with this error until a late `ready` arrives.
   */
  loaderror: { code: 'load_failed' | 'load_timeout'; message: string };
}

/** A mounted card form. */
export interface CardElement {
  /** Calls `handler` on every `event`. Returns the element, so calls chain. */
  on<E extends keyof CardElementEvents>(event: E, handler: (detail: CardElementEvents[E]) => void): this;
  /** Stops calling `handler` (the same function that was passed to {@link CardElement.on}). */
  off<E extends keyof CardElementEvents>(event: E, handler: (detail: CardElementEvents[E]) => void): this;
  /**
   * Sends the card to Paygate and resolves to a single-use token, or to an error. Never rejects.
   * Field errors are also shown inside the form. After 30 seconds without an answer it resolves to
   * `network_error`; after {@link CardElement.destroy}, to `element_destroyed`.
   */
  tokenize(data?: TokenizeData): Promise<TokenizeResult>;
  /** Changes options after mounting; options not given keep their value. Throws a `TypeError` for a bad value. */
  update(options: CardElementUpdate): void;
  /** Empties every field. */
  clear(): void;
  /** Moves focus to the first field. */
  focus(): void;
  /**
   * Shows why a charge failed, in the element's language, under the form: pass the `code` your server got
   * from Paygate (`'card_declined'`, `'insufficient_funds'`, `'incorrect_cvc'`, `'expired_card'`,
   * `'processing_error'`), or `null` to clear it.
   */
  showError(code: string | null): void;
  /** Removes the iframe and its message listener; pending {@link CardElement.tokenize} calls resolve to `element_destroyed`. */
  destroy(): void;
}

/** Options of {@link Paygate.mount} for the Apple Pay button. */
export interface ApplePayElementOptions {
  type: 'apple_pay';
  /** What the sheet charges, in minor units of `currency` (`1999` for 19.99 USD), at most 999,999,999,999. The charge must ask the same. */
  amount: number;
  /** ISO 4217 code, e.g. `'USD'`, `'SAR'`. A code Paygate does not know makes the element fail to load (`loaderror`; the console says why). */
  currency: string;
  /** Your (the merchant's) country, ISO 3166-1 alpha-2. `'SA'` also offers mada cards (Apple Pay version 5). */
  country: string;
  /** Your shop's name on the sheet's total line (and on the merchant session), 1 to 64 characters. */
  label: string;
  /** Apple's button type. Default `'plain'` (the Apple Pay logo alone). */
  buttonType?: 'plain' | 'buy' | 'check-out' | 'book' | 'donate' | 'subscribe' | 'order';
  /** Apple's button style: `'black'` on light backgrounds, `'white'` or `'white-outline'` on dark ones. Default `'black'`. */
  buttonStyle?: 'black' | 'white' | 'white-outline';
  /** Language of the button and of the messages. Default: the `locale` given to {@link loadPaygate}. */
  locale?: LocaleOption;
  /** Accessible title of the iframe. Default `'Apple Pay'`. */
  title?: string;
}

/** What {@link ApplePayElement.update} can change: the next payment's amount and label, the language. */
export type ApplePayElementUpdate = Partial<Pick<ApplePayElementOptions, 'amount' | 'label' | 'locale'>>;

/** A single-use token made from an Apple Pay payment. `card` describes the device card (its brand, the last 4 of the device account number). */
export interface ApplePayToken extends Token {
  card: Token['card'] & {
    /** The amount and currency the shopper approved: charge exactly these (Paygate refuses others). */
    wallet: { type: 'apple_pay'; amount: number; currency: string };
  };
}

/** Arguments of the Apple Pay element's events, by event name. */
export interface ApplePayElementEvents {
  /**
   * The element has loaded. `available: false` means this browser or device has no Apple Pay: nothing is shown
   * (height 0) and nothing is wrong; offer your other ways to pay.
   */
  ready: { available: boolean; height: number };
  /**
   * The shopper approved the payment. Charge `token.id` from your server, then call `complete('success')` or
   * `complete('failure')`: the sheet shows the outcome. 25 s after the shopper approved (the token's own making
   * included, usually well under a second) it shows a failure instead.
   */
  token: { token: ApplePayToken; complete(status: 'success' | 'failure'): void };
  /** The shopper closed the sheet before paying. `message` is in the element's language. */
  cancel: { code: 'cancelled'; message: string };
  /**
   * Apple Pay could not go on: `'apple_pay_unavailable'` (merchant validation refused, e.g. your domain is not
   * registered: see the console), `'apple_pay_failed'`, `'network_error'`. `message` is for the shopper.
   */
  error: { error: PaygateError };
  /** The element could not start or did not load within 15 s. */
  loaderror: { code: 'load_failed' | 'load_timeout'; message: string };
}

/** A mounted Apple Pay button. */
export interface ApplePayElement {
  on<E extends keyof ApplePayElementEvents>(event: E, handler: (detail: ApplePayElementEvents[E]) => void): this;
  off<E extends keyof ApplePayElementEvents>(event: E, handler: (detail: ApplePayElementEvents[E]) => void): this;
  /** Changes the next payment's amount or label (the cart changed). Throws a `TypeError` for a bad value. */
  update(options: ApplePayElementUpdate): void;
  /** Removes the iframe and its message listener. */
  destroy(): void;
}

/** A charge's `next_action` while its status is `requires_action` (3-D Secure), as your server got it from Paygate. */
export interface NextAction {
  type: 'redirect';
  /** The processor's authentication page. */
  redirect_url: string;
  /** After this (RFC 3339) the charge fails; the dialog gives up then. */
  expires_at?: string;
}

/**
 * How {@link Paygate.handleNextAction} ended. `status` is the charge's as Paygate learned it from the processor:
 * `authorized` or `captured` (paid), `failed` (`failureCode`, e.g. `'authentication_failed'`), or still
 * `requires_action` (the shopper came back without finishing). `error`: `authentication_cancelled` (closed),
 * `authentication_expired`, `authentication_unknown`, `load_failed`, `load_timeout`. Either way, confirm on your
 * server (read the charge, or its webhook) before you fulfil the order.
 */
export type NextActionResult =
  | { status: 'authorized' | 'captured' | 'failed' | 'requires_action'; failureCode: string | null; error?: undefined }
  | { status?: undefined; error: PaygateError };

/** A Paygate instance bound to one publishable key. */
export interface Paygate {
  /**
   * 3-D Secure: shows the processor's authentication page in a modal dialog over your page (focus stays in it,
   * Escape or × cancels; English or Arabic) and resolves when the shopper is back. Never rejects; throws a
   * `TypeError` only when `nextAction` is not a charge's `next_action`.
   */
  handleNextAction(nextAction: NextAction, options?: { locale?: LocaleOption }): Promise<NextActionResult>;
  /**
   * Mounts an element into `target` (a CSS selector or an element) and returns it.
   * Throws when the selector matches nothing or an option is not valid.
   */
  mount(target: string | HTMLElement, options: CardElementOptions): CardElement;
  mount(target: string | HTMLElement, options: ApplePayElementOptions): ApplePayElement;
}

/**
 * Prepares Paygate for this page. Resolves to `null` where there is no browser (server-side rendering);
 * rejects with a `TypeError` when the key is not a publishable key (`pk_test_…` or `pk_live_…`).
 * Loads nothing by itself: the card form loads when {@link Paygate.mount} is called.
 */
export function loadPaygate(publishableKey: string, options?: LoadOptions): Promise<Paygate | null>;
