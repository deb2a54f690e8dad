//! The Apple Pay element: Apple's button in an iframe on Paygate's origin, running the whole Apple Pay on the
//! web session there (Safari 17+ lets a cross-origin frame with `allow="payment"` do so), so the page never
//! holds the encrypted payment data and gets only a `tok_` its server charges like a card token.
//!
//! The flow, all in this frame:
//! 1. The button shows only where `ApplePaySession` exists and can pay (`ready` says `available`).
//! 2. The click starts the session synchronously, inside the user gesture, as Safari requires.
//! 3. `validatemerchant`: the edge asks Apple for a merchant session for the page's domain (which the merchant
//!    registered), and the sheet gets it.
//! 4. `paymentauthorized`: the edge vault opens the token and answers a `tok_`; the page gets a `token` event
//!    and answers `complete` with its charge's outcome, which the sheet shows.
//! 5. `cancel`, or any failure, reaches the page as an event with a message in the shopper's language.

mod session;
pub mod settings;

use crate::edge;
use crate::frame::{self, ConfigError, Emit, Identity};
use crate::i18n::Text;
use crate::js;
use gloo_timers::callback::Timeout;
use js_sys::Object;
use session::{ApplePaySession, STATUS_FAILURE, STATUS_SUCCESS};
use settings::Settings;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, HtmlElement};

/// Relative to `/elements/v1/apple-pay.html`, so an edge mounted under a path prefix works too.
const SESSIONS_URL: &str = "../../v1/apple_pay/sessions";
const TOKENS_URL: &str = "../../v1/tokens";
/// Merchant validation is bounded well inside the sheet's own patience.
const VALIDATION_TIMEOUT_MS: i32 = 15_000;
/// The token call eats into the page's time to charge (below), so it gives up sooner.
const TOKENIZE_TIMEOUT_MS: i32 = 10_000;
/// Apple's recommended button height (apple-pay.css), should the stylesheet not say.
const BUTTON_HEIGHT_PX: f64 = 44.0;
/// Apple ends the sheet 30 s after the shopper authorizes; the page's `complete` must come before, so the
/// element gives up 25 s after the authorization (whatever the token call took of it).
const COMPLETE_DEADLINE_MS: f64 = 25_000.0;

/// Starts the Apple Pay element in the iframe. The iframe's boot script calls this once.
#[wasm_bindgen]
pub fn boot_apple_pay() -> Result<(), JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let refuse = |e: ConfigError| JsValue::from_str(&e.message());
    let params = frame::fragment_params(&window.location().hash()?).map_err(refuse)?;
    let identity = Identity::from_params(&params).map_err(refuse)?;
    let settings = Settings::from_params(&params).map_err(refuse)?;
    let parent = frame::embedder(&window, &identity)?;
    let emit = frame::bridge(&parent, &identity);
    let version = settings.sheet().map_err(|e| refuse(ConfigError::Option(e.option())))?.version;
    let ready = js::object();
    if !session::available(version) {
        // No Apple Pay in this browser: nothing shows, and nothing is wrong.
        js::set(&ready, "available", false);
        js::set(&ready, "height", 0);
        emit("ready", ready);
        return Ok(());
    }
    let element = ApplePayElement::mount(&document, identity.clone(), settings, emit)?;
    let listening = element.clone();
    frame::listen(&window, parent, &identity, move |kind, data| listening.on_message(kind, data))?;
    js::set(&ready, "available", true);
    js::set(&ready, "height", element.height(&window));
    (element.0.emit)("ready", ready);
    Ok(())
}

#[derive(Clone)]
pub struct ApplePayElement(Rc<Inner>);

struct Inner {
    identity: Identity,
    document: Document,
    button: HtmlElement,
    emit: Emit,
    state: RefCell<State>,
    /// The button's click listener, alive as long as the element.
    click: RefCell<Option<Closure<dyn FnMut()>>>,
}

struct State {
    settings: Settings,
    live: Option<Live>,
    /// The last session, kept until the next one starts: its handlers must not be dropped while one runs.
    retired: Option<Live>,
    /// Numbers the tokens handed to the page, so a late `complete` cannot end a newer payment.
    tokens: u32,
    /// Numbers the sessions, so an answer that arrives after its session ended cannot act on a newer one.
    sessions: u32,
}

type Handler = Closure<dyn FnMut(JsValue)>;

/// The session whose sheet is open.
struct Live {
    generation: u32,
    session: ApplePaySession,
    _handlers: [Handler; 3],
    /// The token handed to the page, waiting for its `complete`, and the timer that gives up on it.
    awaiting: Option<(u32, Timeout)>,
}

impl ApplePayElement {
    fn mount(document: &Document, identity: Identity, settings: Settings, emit: Emit) -> Result<Self, JsValue> {
        let body = document.body().ok_or("no body")?;
        let button: HtmlElement = document.create_element("button")?.unchecked_into();
        button.set_attribute("type", "button")?;
        button.set_id("pg-apple-pay");
        body.append_child(&button)?;
        let state = State { settings, live: None, retired: None, tokens: 0, sessions: 0 };
        let inner = Inner {
            identity,
            document: document.clone(),
            button,
            emit,
            state: RefCell::new(state),
            click: RefCell::new(None),
        };
        let element = ApplePayElement(Rc::new(inner));
        element.render();
        let weak = Rc::downgrade(&element.0);
        let click = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                ApplePayElement(inner).start();
            }
        });
        element.0.button.add_event_listener_with_callback("click", click.as_ref().unchecked_ref())?;
        *element.0.click.borrow_mut() = Some(click);
        Ok(element)
    }

    /// Apple's button, per Apple's guidelines: `-apple-pay-button` appearance with the shop's type and style
    /// (apple-pay.css), localized through `lang`, named for assistive technology.
    fn render(&self) {
        let state = self.0.state.borrow();
        let settings = &state.settings;
        let button = &self.0.button;
        button.set_class_name(
            &["pg-apple-pay pg-type-", settings.button_type, " pg-style-", settings.button_style].concat(),
        );
        let _ = button.set_attribute("lang", settings.locale.tag());
        let label = Text::ApplePayButton.get(settings.locale);
        let _ = button.set_attribute("aria-label", label);
        // Shown only where the appearance is not Apple's own (it replaces the content).
        button.set_text_content(Some(label));
        if let Some(root) = self.0.document.document_element() {
            let _ = root.set_attribute("lang", settings.locale.tag());
            let _ = root.set_attribute("dir", settings.locale.direction());
        }
    }

    /// The button's height from its stylesheet, not from layout: a shop may keep the frame hidden until `ready`
    /// says Apple Pay is there, and a hidden frame lays nothing out (its elements measure 0).
    fn height(&self, window: &web_sys::Window) -> f64 {
        let style = window.get_computed_style(&self.0.button).ok().flatten();
        let height = style.and_then(|s| s.get_property_value("height").ok()).unwrap_or_default();
        // JavaScript's parseFloat: Rust's float parser would add some 20 KB to this element's WebAssembly.
        let height = js_sys::Number::parse_float(&height);
        if height > 0.0 { height } else { BUTTON_HEIGHT_PX }
    }

    fn on_message(&self, kind: &str, data: &JsValue) {
        match kind {
            "complete" => {
                let token = js::get_f64(data, "request").unwrap_or(-1.0);
                let success = js::get_string(data, "status", 16).as_deref() == Some("success");
                self.complete(token, success, false);
            }
            "update" => {
                self.0.state.borrow_mut().settings.update_from(data);
                self.render();
            }
            _ => {}
        }
    }

    /// The click: a new session, begun before this handler returns (the user gesture ends with it).
    fn start(&self) {
        let mut state = self.0.state.borrow_mut();
        if state.live.is_some() {
            return; // the sheet is already open
        }
        let Ok(sheet) = state.settings.sheet() else { return };
        let session = serde_wasm_bindgen::to_value(&sheet)
            .map_err(JsValue::from)
            .and_then(|request| ApplePaySession::new(u32::from(sheet.version), &request));
        let session = match session {
            Ok(session) => session,
            Err(error) => {
                drop(state);
                return self.fail_to_start(&error);
            }
        };
        state.sessions += 1;
        let generation = state.sessions;
        let handler = |on: fn(&ApplePayElement, u32, JsValue)| {
            let weak = Rc::downgrade(&self.0);
            Handler::new(move |event| {
                if let Some(inner) = weak.upgrade() {
                    on(&ApplePayElement(inner), generation, event);
                }
            })
        };
        let handlers = [handler(Self::validate_merchant), handler(Self::payment_authorized), handler(Self::cancel)];
        session.set_onvalidatemerchant(handlers[0].as_ref().unchecked_ref());
        session.set_onpaymentauthorized(handlers[1].as_ref().unchecked_ref());
        session.set_oncancel(handlers[2].as_ref().unchecked_ref());
        state.retired = None;
        state.live = Some(Live { generation, session: session.clone(), _handlers: handlers, awaiting: None });
        drop(state);
        if let Err(error) = session.begin() {
            self.end(generation);
            self.fail_to_start(&error);
        }
    }

    fn fail_to_start(&self, error: &JsValue) {
        web_sys::console::error_2(&JsValue::from_str("Paygate: Apple Pay could not start:"), error);
        self.tell_error(Text::ApplePayFailed);
    }

    /// Session `generation`, if its sheet is still the open one.
    fn session(&self, generation: u32) -> Option<ApplePaySession> {
        let state = self.0.state.borrow();
        state.live.as_ref().filter(|live| live.generation == generation).map(|live| live.session.clone())
    }

    /// Session `generation`'s sheet is closed: its handlers are kept (one of them may be running) until the
    /// next session starts. A newer session is left alone.
    fn end(&self, generation: u32) {
        let mut state = self.0.state.borrow_mut();
        if state.live.as_ref().is_some_and(|live| live.generation == generation) {
            state.retired = state.live.take();
        }
    }

    fn tell_error(&self, text: Text) {
        let locale = self.0.state.borrow().settings.locale;
        let error = js::object();
        js::set(&error, "code", text.code());
        js::set(&error, "message", text.get(locale));
        let payload = js::object();
        js::set(&payload, "error", error);
        (self.0.emit)("error", payload);
    }

    /// Apple asks for a merchant session: the edge gets it from Apple for the page's (registered) domain.
    fn validate_merchant(&self, generation: u32, event: JsValue) {
        let body = js::object();
        js::set(&body, "validation_url", js::get_string(&event, "validationURL", 2048).unwrap_or_default());
        js::set(&body, "domain", self.0.identity.parent_host());
        js::set(&body, "display_name", self.0.state.borrow().settings.label.as_str());
        let element = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let answer =
                edge::post(&element.0.identity.publishable_key, SESSIONS_URL, &body, VALIDATION_TIMEOUT_MS).await;
            let Some(session) = element.session(generation) else { return }; // cancelled meanwhile
            let refused = match answer {
                Ok((200, merchant_session)) => match session.complete_merchant_validation(&merchant_session) {
                    Ok(()) => return,
                    Err(_) => Text::ApplePayFailed,
                },
                Ok((_, problem)) => {
                    // The shop's developer needs the reason (an unregistered domain, say); the shopper does not.
                    log_refusal("merchant validation", &problem);
                    Text::ApplePayUnavailable
                }
                Err(edge::Unreachable) => Text::NetworkError,
            };
            element.end(generation);
            let _ = session.abort();
            element.tell_error(refused);
        });
    }

    /// The shopper authorized: the edge vault opens the payment data, the page gets the token.
    fn payment_authorized(&self, generation: u32, event: JsValue) {
        let authorized_at = js_sys::Date::now();
        let payment_data = js::get(&js::get(&js::get(&event, "payment"), "token"), "paymentData");
        let wallet = js::object();
        js::set(&wallet, "payment_data", payment_data);
        let body = js::object();
        js::set(&body, "apple_pay", wallet);
        let element = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let answer = edge::post(&element.0.identity.publishable_key, TOKENS_URL, &body, TOKENIZE_TIMEOUT_MS).await;
            let Some(session) = element.session(generation) else { return }; // the sheet closed meanwhile
            let token = match answer {
                Ok((200..=299, json)) => edge::token_summary(&json).ok_or(Text::ApplePayFailed),
                Ok((_, problem)) => {
                    log_refusal("tokenize", &problem);
                    Err(Text::ApplePayFailed)
                }
                Err(edge::Unreachable) => Err(Text::NetworkError),
            };
            match token {
                Ok(token) => element.hand_over(generation, token, authorized_at),
                Err(text) => {
                    // The sheet shows the failure and lets the shopper try again or close it.
                    let _ = session.complete_payment(&status(STATUS_FAILURE));
                    element.tell_error(text);
                }
            }
        });
    }

    /// Gives the page the token; the sheet waits for the page's `complete` (or gives up 25 s after the
    /// shopper authorized at `authorized_at`).
    fn hand_over(&self, generation: u32, token: Object, authorized_at: f64) {
        let mut state = self.0.state.borrow_mut();
        state.tokens += 1;
        let number = state.tokens;
        let Some(live) = state.live.as_mut().filter(|live| live.generation == generation) else { return };
        let weak = Rc::downgrade(&self.0);
        // At least a second: a page that answers at once still can, however long the token took.
        let left = (COMPLETE_DEADLINE_MS - (js_sys::Date::now() - authorized_at)).max(1_000.0);
        let timer = Timeout::new(left as u32, move || {
            if let Some(inner) = weak.upgrade() {
                ApplePayElement(inner).complete(f64::from(number), false, true);
            }
        });
        live.awaiting = Some((number, timer));
        drop(state);
        let payload = js::object();
        js::set(&payload, "request", number);
        js::set(&payload, "token", token);
        (self.0.emit)("token", payload);
    }

    /// The page's answer for token `number`: the sheet shows success (and closes) or failure.
    fn complete(&self, number: f64, success: bool, timed_out: bool) {
        let mut state = self.0.state.borrow_mut();
        let Some(live) = state.live.as_mut() else { return };
        if live.awaiting.as_ref().is_none_or(|(awaited, _)| f64::from(*awaited) != number) {
            return; // not the token the sheet waits for: late, or never handed over
        }
        let (_, timer) = live.awaiting.take().expect("checked above");
        if timed_out {
            // This runs inside the timer's own callback: let it finish rather than drop it here.
            timer.forget();
        }
        let (session, generation) = (live.session.clone(), live.generation);
        drop(state);
        let _ = session.complete_payment(&status(if success { STATUS_SUCCESS } else { STATUS_FAILURE }));
        if success {
            self.end(generation);
        }
        if timed_out {
            web_sys::console::error_1(&JsValue::from_str(
                "Paygate: the page did not call complete() for the Apple Pay token in time",
            ));
            self.tell_error(Text::ApplePayFailed);
        }
    }

    /// The shopper closed the sheet (or Apple did).
    fn cancel(&self, generation: u32, _event: JsValue) {
        if self.session(generation).is_none() {
            return; // we aborted it ourselves, and said why
        }
        self.end(generation);
        let locale = self.0.state.borrow().settings.locale;
        let payload = js::object();
        js::set(&payload, "code", Text::ApplePayCancelled.code());
        js::set(&payload, "message", Text::ApplePayCancelled.get(locale));
        (self.0.emit)("cancel", payload);
    }
}

fn status(code: u32) -> Object {
    let result = js::object();
    js::set(&result, "status", code);
    result
}

fn log_refusal(step: &str, problem: &JsValue) {
    let code = js::get_string(problem, "code", 64).unwrap_or_default();
    let detail = js::get_string(problem, "detail", 500).unwrap_or_default();
    web_sys::console::error_1(&JsValue::from_str(
        &["Paygate: Apple Pay ", step, " refused: ", &code, " ", &detail].concat(),
    ));
}
