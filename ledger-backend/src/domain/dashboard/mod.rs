//! The merchant dashboard's people and their rights: users and passwords (`accounts`), server-side sessions
//! (`sessions`), roles, and what each role may do. The pages in `http::dashboard` call these and then the same
//! domain functions as the API, inside the session's tenancy scope.

pub mod accounts;
pub mod audit_log;
pub mod overview;
pub mod passwords;
pub mod saved_views;
pub mod second_factor;
pub mod sessions;
pub mod team;
pub mod timeline;

/// A member's role in a merchant's team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything, including the team, the business profile and live mode.
    Owner,
    /// Reads everything; manages API keys, webhooks, processor accounts, routing and Apple Pay domains.
    Developer,
    /// Reads everything; changes nothing.
    Analyst,
}

/// What a page asks before it changes something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Capture, void and refund charges; acknowledge and resolve reconciliation exceptions.
    OperatePayments,
    /// API keys, webhook endpoints, processor accounts and routing, Apple Pay domains.
    ManageIntegration,
    /// The team, invitations, the business profile and live mode.
    ManageAccount,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "owner" => Some(Role::Owner),
            "developer" => Some(Role::Developer),
            "analyst" => Some(Role::Analyst),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Developer => "developer",
            Role::Analyst => "analyst",
        }
    }

    pub fn allows(self, permission: Permission) -> bool {
        match self {
            Role::Owner => true,
            Role::Developer => permission == Permission::ManageIntegration,
            Role::Analyst => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Permission, Role};

    #[test]
    fn roles_allow_what_the_team_page_says() {
        use Permission::*;
        for permission in [OperatePayments, ManageIntegration, ManageAccount] {
            assert!(Role::Owner.allows(permission));
            assert!(!Role::Analyst.allows(permission), "{permission:?}");
        }
        assert!(Role::Developer.allows(ManageIntegration));
        assert!(!Role::Developer.allows(OperatePayments));
        assert!(!Role::Developer.allows(ManageAccount));
        for role in [Role::Owner, Role::Developer, Role::Analyst] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
