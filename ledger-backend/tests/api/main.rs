//! Integration tests of the backend over HTTP against a real PostgreSQL. `helpers::spawn_app` creates a
//! throwaway database per test (dropped afterwards), migrates it and serves the app on a free port.
//! The server to use comes from `DATABASE_URL` (the test command starts a project-local cluster).

mod api_keys;
mod apple_pay_charges;
mod apple_pay_domains;
mod audit;
mod authentication;
mod capture_void;
mod charges;
mod connectors;
mod crash;
mod dashboard;
mod edge_auth;
mod health;
mod helpers;
mod hostile_input;
mod instances;
mod jobs;
mod ledger_property;
mod lists;
mod logs;
mod mada;
mod one_statement;
mod openapi;
mod pricing;
mod processor_accounts;
mod processor_events;
mod public_openapi;
mod reconciliation;
mod recovery;
mod refunds;
mod row_security;
mod schema;
mod settlement;
mod settlement_pull;
mod statements;
mod tenancy;
mod vault_double;
mod webhooks;
