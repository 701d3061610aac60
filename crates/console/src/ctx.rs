//! What every screen shares (wasm only): the session, the language, the
//! screen the address names, and what a failed call means for them.

use checkout::access::{Permission, Role};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, Me};
use crate::error::Error;
use crate::i18n::{t, Lang, Strings};
use crate::js;
use crate::nav;
use crate::route::{sign_in_returning_to, Route};

/// Whether someone is signed in.
#[derive(Clone, Debug, PartialEq)]
pub enum Session {
    /// Asking `GET /v1/session`.
    Checking,
    /// No session (never signed in, expired, signed out); `ended`: it
    /// ended while in use (the sign-in screen says so).
    Out {
        /// Whether a session ended under the merchant.
        ended: bool,
    },
    /// Signed in as this caller.
    In(Me),
}

/// What every screen reads: shared through Leptos' context.
#[derive(Clone, Copy)]
pub struct Ctx {
    /// The screen the address names.
    pub route: RwSignal<Route>,
    /// The language.
    pub lang: RwSignal<Lang>,
    /// The session.
    pub session: RwSignal<Session>,
}

impl Ctx {
    /// The strings of the current language (reactive).
    pub fn t(&self) -> &'static Strings {
        t(self.lang.get())
    }

    /// The signed-in caller's role (reactive), if any.
    pub fn role(&self) -> Option<Role> {
        self.session.with(|s| match s {
            Session::In(me) => me.role,
            _ => None,
        })
    }

    /// Whether the signed-in role may do what needs `permission`: the
    /// controls that need it exist only then (the Worker refuses anyway).
    pub fn can(&self, permission: Permission) -> bool {
        self.role().is_some_and(|r| nav::can(r, permission))
    }

    /// Opens `route` (a new history entry).
    pub fn go(&self, route: Route) {
        js::push(&route.href());
        self.route.set(route);
    }

    /// An API call failed: a 401 means the session is gone, so the app
    /// goes to sign-in, which returns to this screen afterwards. Returns
    /// the error for the screen to show otherwise.
    pub fn check(&self, error: Error) -> Error {
        if error.signed_out() && matches!(self.session.get_untracked(), Session::In(_)) {
            let here = self.route.get_untracked();
            js::replace(&sign_in_returning_to(&here));
            self.session.set(Session::Out { ended: true });
            self.route.set(Route::SignIn);
        }
        error
    }

    /// Asks who is signed in and sets the session.
    pub fn refresh_session(self) {
        spawn_local(async move {
            let session = match api::me().await {
                Ok(me) => Session::In(me),
                Err(_) => Session::Out { ended: false },
            };
            if let Session::Out { .. } = session {
                let here = self.route.get_untracked();
                if here != Route::SignIn {
                    js::replace(&sign_in_returning_to(&here));
                    self.route.set(Route::SignIn);
                }
            }
            self.session.set(session);
        });
    }
}
