//! The navigation: which screens a role sees. A screen the role cannot use
//! at all has no entry (the Worker refuses its routes anyway); controls
//! inside a screen ask [`can`].

use checkout::access::{Permission, Role};

use crate::route::Route;

/// Whether `role` may do what needs `permission` (API.md's matrix,
/// `checkout::access`, the Worker's own table).
pub fn can(role: Role, permission: Permission) -> bool {
    role.allows(permission)
}

/// One entry of the navigation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Where it goes.
    pub route: Route,
    /// What the role needs to see it.
    pub needs: Permission,
}

/// The navigation, in order (the bottom bar on a phone, the side on a desk).
pub fn entries() -> Vec<Entry> {
    use Permission as P;
    [
        (Route::Today, P::Read),
        (
            Route::Orders {
                query: String::new(),
            },
            P::Read,
        ),
        (Route::Links, P::Read),
        (Route::Statements, P::Statements),
        (Route::Webhooks { failed: false }, P::Read),
        (Route::Staff, P::Staff),
        (Route::Settings, P::Read),
    ]
    .into_iter()
    .map(|(route, needs)| Entry { route, needs })
    .collect()
}

/// The entries `role` sees.
pub fn for_role(role: Role) -> Vec<Entry> {
    entries()
        .into_iter()
        .filter(|e| can(role, e.needs))
        .collect()
}

/// Whether `role` may open `route` at all (an address typed by hand).
pub fn may_open(role: Role, route: &Route) -> bool {
    match route {
        Route::NewLink { .. } => can(role, Permission::Charge),
        Route::Order(_) => can(role, Permission::Read),
        other => entries()
            .iter()
            .find(|e| e.route.name() == other.name())
            .is_none_or(|e| can(role, e.needs)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(role: Role) -> Vec<&'static str> {
        for_role(role).iter().map(|e| e.route.name()).collect()
    }

    #[test]
    fn each_role_sees_only_what_it_may_use() {
        let all = [
            "today",
            "orders",
            "links",
            "statements",
            "webhooks",
            "staff",
            "settings",
        ];
        assert_eq!(names(Role::Owner), all);
        let without = |gone: &[&str]| -> Vec<&str> {
            all.iter().copied().filter(|n| !gone.contains(n)).collect()
        };
        assert_eq!(names(Role::Manager), without(&["staff"]));
        assert_eq!(names(Role::Cashier), without(&["staff", "statements"]));
        assert_eq!(names(Role::Accountant), without(&["staff"]));
        assert_eq!(names(Role::Viewer), without(&["staff", "statements"]));
    }

    #[test]
    fn addresses_typed_by_hand_follow_the_same_rule() {
        let new_counter = Route::NewLink {
            kind: Some("counter".into()),
        };
        assert!(may_open(Role::Cashier, &new_counter));
        assert!(!may_open(Role::Viewer, &new_counter));
        assert!(!may_open(Role::Accountant, &new_counter));
        assert!(!may_open(Role::Manager, &Route::Staff));
        assert!(may_open(Role::Accountant, &Route::Statements));
        assert!(!may_open(Role::Cashier, &Route::Statements));
        assert!(may_open(Role::Viewer, &Route::Order("C1".into())));
        assert!(can(Role::Manager, Permission::Refund));
        assert!(!can(Role::Cashier, Permission::Refund));
    }
}
