//! Every route the edge answers itself, in one table. The edge's router resolves a path here first, and
//! the public OpenAPI document describes each route with an exhaustive match over [`EdgeRoute`], so a
//! route the edge answers cannot be missing from the document (nor the document name one it does not
//! answer). Every other `/v1` path is forwarded to the backend, whose own endpoint table documents it.

use crate::authentication::RETURN_PUBLIC_PREFIX;
use crate::internal::{
    DASHBOARD_PREFIX, KEY_REVOKED_PATH, PROCESSOR_EVENTS_PUBLIC_PREFIX, VAULT_DESCRIBE_PATH, VAULT_FORWARD_PATH,
};

/// Where the public API's OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";
/// The Apple Pay domain-verification file Apple fetches from every shop domain (and ours).
pub const APPLE_PAY_DOMAIN_ASSOCIATION_PATH: &str = "/.well-known/apple-developer-merchantid-domain-association";
/// The browser's static files: the elements' pages and the CDN loader.
pub const ASSET_PREFIXES: [&str; 2] = ["/elements/", "/js/"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeRoute {
    Health,
    Ready,
    OpenApi,
    /// Card tokens, made by the card element with a publishable key.
    Tokens,
    /// What the SDK needs before it renders, for a publishable key.
    PublicConfig,
    /// Apple Pay merchant validation, for the Apple Pay element.
    ApplePaySessions,
    /// Where a processor sends the shopper's browser back after 3-D Secure.
    AuthenticationReturn,
    /// Processors' webhooks, per processor account.
    ProcessorEvents,
    ApplePayDomainAssociation,
    /// HTML for people (the merchant dashboard): not part of the API.
    Dashboard,
    /// Static files for browsers: not part of the API.
    Assets,
    /// Calls from the backend, signed by it: never public.
    VaultForward,
    VaultDescribe,
    KeyRevoked,
}

/// Who a route is for, which decides whether the public document lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Merchants, their shoppers' browsers, processors and Apple: in the public document.
    Public,
    /// People and browsers fetching pages and files: documented in the guides, not in the API document.
    Pages,
    /// The backend: refused to anyone else, and answered 404 for a method it does not take.
    Internal,
}

impl EdgeRoute {
    pub const ALL: [EdgeRoute; 14] = [
        EdgeRoute::Health,
        EdgeRoute::Ready,
        EdgeRoute::OpenApi,
        EdgeRoute::Tokens,
        EdgeRoute::PublicConfig,
        EdgeRoute::ApplePaySessions,
        EdgeRoute::AuthenticationReturn,
        EdgeRoute::ProcessorEvents,
        EdgeRoute::ApplePayDomainAssociation,
        EdgeRoute::Dashboard,
        EdgeRoute::Assets,
        EdgeRoute::VaultForward,
        EdgeRoute::VaultDescribe,
        EdgeRoute::KeyRevoked,
    ];

    /// The path as an OpenAPI template (`{name}` for a segment); for `Pages` routes, the prefix they own.
    pub fn path(self) -> &'static str {
        match self {
            EdgeRoute::Health => "/health",
            EdgeRoute::Ready => "/ready",
            EdgeRoute::OpenApi => OPENAPI_PATH,
            EdgeRoute::Tokens => "/v1/tokens",
            EdgeRoute::PublicConfig => "/v1/public/config",
            EdgeRoute::ApplePaySessions => "/v1/apple_pay/sessions",
            EdgeRoute::AuthenticationReturn => "/v1/authentication_returns/{reference}",
            EdgeRoute::ProcessorEvents => "/v1/processor_events/{connector}/{account}",
            EdgeRoute::ApplePayDomainAssociation => APPLE_PAY_DOMAIN_ASSOCIATION_PATH,
            EdgeRoute::Dashboard => DASHBOARD_PREFIX,
            EdgeRoute::Assets => "/elements/, /js/",
            EdgeRoute::VaultForward => VAULT_FORWARD_PATH,
            EdgeRoute::VaultDescribe => VAULT_DESCRIBE_PATH,
            EdgeRoute::KeyRevoked => KEY_REVOKED_PATH,
        }
    }

    /// The methods the route takes; any other is answered 405 (404 for internal routes). Empty: the route's
    /// handler decides (pages).
    pub fn methods(self) -> &'static [&'static str] {
        match self {
            EdgeRoute::Health | EdgeRoute::Ready | EdgeRoute::OpenApi | EdgeRoute::ApplePayDomainAssociation => {
                &["GET"]
            }
            EdgeRoute::PublicConfig => &["GET", "OPTIONS"],
            EdgeRoute::Tokens | EdgeRoute::ApplePaySessions => &["POST", "OPTIONS"],
            EdgeRoute::AuthenticationReturn => &["GET", "POST"],
            EdgeRoute::ProcessorEvents | EdgeRoute::VaultForward | EdgeRoute::VaultDescribe | EdgeRoute::KeyRevoked => {
                &["POST"]
            }
            EdgeRoute::Dashboard | EdgeRoute::Assets => &[],
        }
    }

    pub fn audience(self) -> Audience {
        match self {
            EdgeRoute::Dashboard | EdgeRoute::Assets => Audience::Pages,
            EdgeRoute::VaultForward | EdgeRoute::VaultDescribe | EdgeRoute::KeyRevoked => Audience::Internal,
            _ => Audience::Public,
        }
    }

    /// Browsers call it from a shop's page with a publishable key: it answers CORS.
    pub fn is_browser_api(self) -> bool {
        self.methods().contains(&"OPTIONS")
    }

    pub fn allows(self, method: &str) -> bool {
        let methods = self.methods();
        methods.is_empty() || methods.contains(&method)
    }
}

/// The edge's own route for `path`, if it has one (`None`: forward a `/v1` path to the backend, else 404).
pub fn resolve(path: &str) -> Option<EdgeRoute> {
    let fixed =
        |route: &EdgeRoute| !matches!(route, EdgeRoute::Dashboard | EdgeRoute::Assets) && !route.path().contains('{');
    if let Some(route) = EdgeRoute::ALL.into_iter().filter(fixed).find(|route| route.path() == path) {
        return Some(route);
    }
    if path == DASHBOARD_PREFIX || path.strip_prefix(DASHBOARD_PREFIX).is_some_and(|rest| rest.starts_with('/')) {
        return Some(EdgeRoute::Dashboard);
    }
    if ASSET_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
        return Some(EdgeRoute::Assets);
    }
    if authentication_reference(path).is_some() {
        return Some(EdgeRoute::AuthenticationReturn);
    }
    processor_events_target(path).map(|_| EdgeRoute::ProcessorEvents)
}

/// The reference of an authentication-return path (checked for shape by the handler).
pub fn authentication_reference(path: &str) -> Option<&str> {
    path.strip_prefix(RETURN_PUBLIC_PREFIX)?.strip_prefix('/')
}

/// `(connector, account)` of a processor-events path (checked for shape by the handler).
pub fn processor_events_target(path: &str) -> Option<(&str, &str)> {
    path.strip_prefix(PROCESSOR_EVENTS_PUBLIC_PREFIX)?.strip_prefix('/')?.split_once('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_resolves_from_a_path_of_its_own() {
        let sample = |route: EdgeRoute| match route {
            EdgeRoute::AuthenticationReturn => "/v1/authentication_returns/ar_x".to_owned(),
            EdgeRoute::ProcessorEvents => "/v1/processor_events/stripe/pa_x".to_owned(),
            EdgeRoute::Assets => "/elements/v1/card.html".to_owned(),
            EdgeRoute::Dashboard => "/dashboard/charges".to_owned(),
            other => other.path().to_owned(),
        };
        for route in EdgeRoute::ALL {
            assert_eq!(resolve(&sample(route)), Some(route), "{route:?}");
        }
        assert_eq!(resolve("/dashboard"), Some(EdgeRoute::Dashboard));
        assert_eq!(resolve("/js/v1/paygate.mjs"), Some(EdgeRoute::Assets));
        assert_eq!(authentication_reference("/v1/authentication_returns/ar_abc"), Some("ar_abc"));
        assert_eq!(processor_events_target("/v1/processor_events/checkout/pa_1"), Some(("checkout", "pa_1")));
    }

    #[test]
    fn backend_paths_and_near_misses_are_not_the_edges() {
        for path in [
            "/v1/charges",
            "/v1/tokens/tok_1",
            "/v1/public",
            "/dashboards",
            "/v1/authentication_returns",
            "/v1/processor_events/stripe",
            "/internal/other",
            "/healthz",
            "/",
        ] {
            assert_eq!(resolve(path), None, "{path}");
        }
    }

    #[test]
    fn the_backends_edge_only_paths_share_the_prefix_the_edge_never_forwards() {
        use crate::internal::{INTERNAL_V1_PREFIX, KEY_LOOKUP_PATH, PROCESSOR_EVENTS_PATH};
        for path in [KEY_LOOKUP_PATH, PROCESSOR_EVENTS_PATH, crate::authentication::RETURN_INTERNAL_PATH] {
            assert!(path.starts_with(INTERNAL_V1_PREFIX), "{path}");
            assert_eq!(resolve(path), None, "{path}");
        }
    }

    #[test]
    fn browser_routes_are_exactly_the_ones_taking_preflights() {
        let browser: Vec<_> = EdgeRoute::ALL.into_iter().filter(|r| r.is_browser_api()).collect();
        assert_eq!(browser, [EdgeRoute::Tokens, EdgeRoute::PublicConfig, EdgeRoute::ApplePaySessions]);
        assert!(browser.iter().all(|r| r.audience() == Audience::Public));
    }
}
