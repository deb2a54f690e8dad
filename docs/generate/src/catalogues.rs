//! The catalogues the code keeps, as pages: error codes (core), event types and the delivery schedule (the
//! backend), test cards (the sandbox acquirer and the fakes).

use crate::markdown::{card_number, generated_note, table};
use paygate_core::ErrorCode;
use paygate_core::problem::TYPE_BASE;
use paygate_fakes::checkout::payments as checkout;
use paygate_fakes::stripe::cards::{CardOutcome, TEST_CARDS as STRIPE_CARDS};
use paygate_ledger::domain::webhooks::deliveries::{DISABLE_AFTER, SCHEDULE};
use paygate_ledger::domain::webhooks::endpoints::EVENT_TYPES;
use paygate_ledger::sandbox::{Behaviour, SLOW_ANSWER_MS, TEST_CARDS as SANDBOX_CARDS};
use std::time::Duration;

/// `errors/index.md`: every code, its status and title, and what a retry with the same key gets.
pub fn errors() -> String {
    let mut out = generated_note("core's error catalogue (core/src/problem.rs)");
    out.push_str(
        "# Error codes\n\nEvery error is an RFC 9457 problem (`application/problem+json`): `type` is this page's \
         address for the code, `title` is the same for every occurrence, `detail` says what went wrong with this \
         request and `param` names the parameter at fault. Branch on `code`; show `detail` to developers, not \
         shoppers. The [errors guide](../guides/errors.md) says how to handle each kind.\n\n",
    );
    let rows: Vec<Vec<String>> = ErrorCode::ALL
        .iter()
        .map(|code| vec![format!("[`{0}`](#{0})", code.as_str()), code.status().to_string(), code.title().to_owned()])
        .collect();
    out.push_str(&table(&["code", "status", "title"], &rows));
    for code in ErrorCode::ALL {
        out.push_str(&format!(
            "\n## {0} {{#{0}}}\n\nHTTP {1}. {2}.\n\n`type`: `{TYPE_BASE}{0}`\n\n{3}\n",
            code.as_str(),
            code.status(),
            code.title(),
            retry_note(*code)
        ));
    }
    out
}

fn retry_note(code: ErrorCode) -> &'static str {
    if code.status() >= 500 {
        "Our side or the processor's failed: retry with the same `Idempotency-Key` (after `Retry-After`, if given). \
         Nothing was stored under the key at the edge, and the backend answers a retry with what the first attempt did."
    } else if code.refused_before_execution() {
        "Refused before anything happened: nothing is stored under the `Idempotency-Key`, so fix the request and send \
         it again with the same key."
    } else {
        "An outcome: a retry with the same `Idempotency-Key` gets this same answer for 24 hours."
    }
}

/// `errors/<code>.html`: where each problem's `type` URL lands (`/errors/card_declined` on a static host),
/// sent on to the code's section.
pub fn error_redirects() -> Vec<(String, String)> {
    ErrorCode::ALL
        .iter()
        .map(|code| {
            let code = code.as_str();
            let page = format!(
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{code}</title>\n\
                 <meta http-equiv=\"refresh\" content=\"0; url=index.html#{code}\">\n\
                 <link rel=\"canonical\" href=\"index.html#{code}\">\n</head>\n\
                 <body><p><a href=\"index.html#{code}\">{code}</a></p></body>\n</html>\n"
            );
            (format!("errors/{code}.html"), page)
        })
        .collect()
}

/// `reference/events.md`: the event types and how deliveries are retried.
pub fn events() -> String {
    let mut out = generated_note("the backend's event catalogue (domain/webhooks/endpoints.rs, deliveries.rs)");
    out.push_str(
        "# Event types\n\nEach event carries the object as it was right after the change, in `data.object`. \
         Subscribe an endpoint to some of these types, or to `[\"*\"]` for all. The [webhooks guide](../guides/webhooks.md) \
         says how to verify and handle them.\n\n",
    );
    let rows: Vec<Vec<String>> = EVENT_TYPES
        .iter()
        .map(|(name, when)| {
            let object = name.split('.').next().unwrap_or_default();
            vec![format!("`{name}`"), format!("`{object}`"), (*when).to_owned()]
        })
        .collect();
    out.push_str(&table(&["type", "data.object", "sent when"], &rows));
    let waits: Vec<String> = SCHEDULE.into_iter().map(duration).collect();
    out.push_str(&format!(
        "\n## Delivery and retries\n\nThe first attempt is immediate. An answer other than 2xx (or none within the \
         timeout) is retried {} more times, waiting about {} between attempts (with jitter; a `Retry-After` you send is \
         honoured up to a day). After that the delivery is `failed`; you can redeliver it. An endpoint that answers \
         410 Gone is disabled at once, and one that has not succeeded once in {} is disabled \
         (`webhook_endpoint.disabled`).\n",
        SCHEDULE.len(),
        waits.join(", "),
        duration(DISABLE_AFTER)
    ));
    out
}

fn duration(span: Duration) -> String {
    let seconds = span.as_secs();
    match seconds {
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s % 3_600 == 0 => format!("{} h", s / 3_600),
        s if s >= 3_600 => format!("{} h {} min", s / 3_600, (s % 3_600) / 60),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// `reference/test-cards.md`: what each test card does, per processor.
pub fn test_cards() -> String {
    let mut out =
        generated_note("the sandbox acquirer (ledger-backend/src/sandbox/cards.rs) and the fakes (fakes/src)");
    out.push_str(
        "# Test cards\n\nUse any future expiry date and any CVC (4 digits for American Express). In test mode a \
         charge goes to the sandbox acquirer unless your [routing](../guides/processors-routing.md) sends it to a \
         Stripe or Checkout.com account; under `make dev` and in the tests those are local fakes that answer their \
         own documented test cards.\n\n## Sandbox acquirer\n\nAny other valid number of a supported brand is approved.\n\n",
    );
    let rows: Vec<Vec<String>> = SANDBOX_CARDS
        .iter()
        .map(|(number, behaviour, what)| vec![card_number(number), (*what).to_owned(), sandbox_outcome(*behaviour)])
        .collect();
    out.push_str(&table(&["number", "for", "what happens"], &rows));
    out.push_str("\n## Stripe (the fake Stripe, as Stripe's test mode)\n\nAny other valid number succeeds.\n\n");
    let rows: Vec<Vec<String>> =
        STRIPE_CARDS.iter().map(|(number, outcome)| vec![card_number(number), stripe_outcome(*outcome)]).collect();
    out.push_str(&table(&["number", "what happens"], &rows));
    out.push_str(
        "\n## Checkout.com (the fake Checkout.com, as its sandbox)\n\nAny other valid number is approved.\n\n",
    );
    let mut rows: Vec<Vec<String>> = checkout::TEST_CARDS
        .iter()
        .map(|(number, code, summary)| {
            vec![
                card_number(number),
                format!("declined: response code `{code}` ({summary}); the charge fails `card_declined`"),
            ]
        })
        .collect();
    rows.push(vec![
        card_number(checkout::CAPTURE_DECLINED_CARD),
        "approved, but every capture is declined: the charge stays authorized (`charge.capture_failed`)".into(),
    ]);
    rows.push(vec![
        card_number(checkout::CHALLENGE_CARD),
        "3-D Secure with a challenge: `requires_action`, then the fake's authentication page".into(),
    ]);
    out.push_str(&table(&["number", "what happens"], &rows));
    out
}

fn sandbox_outcome(behaviour: Behaviour) -> String {
    match behaviour {
        Behaviour::Approve => "approved".into(),
        Behaviour::Decline(code) => format!("declined: the charge is `failed` with `failure_code: {code}`"),
        Behaviour::ProcessingError => {
            "the acquirer answers HTTP 500: the charge stays `pending` until the recovery job learns the outcome".into()
        }
        Behaviour::Slow => format!(
            "approved after {} s: longer than a short processor timeout, so the outcome is unknown until recovery asks",
            SLOW_ANSWER_MS / 1000
        ),
        Behaviour::RefundsFail => "approved and capturable; every refund is refused (`refund.failed`)".into(),
        Behaviour::Challenge => {
            "3-D Secure with a challenge: `requires_action` with `next_action.redirect_url` (Approve, Fail, Abandon)"
                .into()
        }
        Behaviour::Frictionless => "3-D Secure without a challenge: approved at once".into(),
    }
}

fn stripe_outcome(outcome: CardOutcome) -> String {
    match outcome {
        CardOutcome::Succeeds => "succeeds".into(),
        CardOutcome::Declined { code, decline_code: Some(decline) } => format!("declined: `{code}` / `{decline}`"),
        CardOutcome::Declined { code, decline_code: None } => format!("declined: `{code}`"),
        CardOutcome::RequiresAction => "3-D Secure with a challenge: `requires_action`".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_a_section_and_a_landing_page() {
        let page = errors();
        let redirects = error_redirects();
        for code in ErrorCode::ALL {
            assert!(page.contains(&format!("## {0} {{#{0}}}", code.as_str())), "{code:?}");
            assert!(redirects.iter().any(|(path, _)| path == &format!("errors/{}.html", code.as_str())));
        }
    }

    #[test]
    fn durations_read_in_the_largest_whole_unit() {
        assert_eq!(duration(Duration::from_secs(5)), "5 s");
        assert_eq!(duration(Duration::from_secs(90)), "90 s");
        assert_eq!(duration(Duration::from_secs(7_500)), "2 h 5 min");
        assert_eq!(duration(Duration::from_secs(5 * 86_400)), "5 days");
    }
}
