//! Admin API authentication: a user-level API credential (Bearer or Basic, as for SCIM).
//! The caller's permissions are the union of its security profiles' permissions; an
//! archived user's credentials stop authenticating at once.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::{AdminError, Code};
use crate::app::AppState;
use crate::domain::audit::Actor;
use crate::domain::ownership::Permission;
use crate::domain::user::{Document, User};
use crate::http::auth::admit;
use crate::scim::ScimError;
use crate::store::credentials::Kind;
use crate::store::{catalog, users};

/// An authenticated admin: a user of the tenant, acting with its permissions — through an
/// API credential, or signed in to the console.
#[derive(Debug, Clone)]
pub struct AdminAuth {
    pub tenant_id: String,
    pub user: User,
    /// Who the write layer sees: this user, with the union of its profiles' permissions.
    pub actor: Actor,
}

impl AdminAuth {
    /// 403 unless the caller holds every one of `needed` (for reads; writes are authorised
    /// by the write layer).
    pub fn require(&self, needed: &[Permission]) -> Result<(), AdminError> {
        Ok(self.actor.require(needed)?)
    }

    /// The actor of this caller's changes.
    pub fn actor(&self) -> Actor {
        self.actor.clone()
    }
}

fn unauthorized(detail: &str) -> AdminError {
    AdminError::new(Code::Unauthorized, detail)
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = admit(state, parts)
            .await
            .map_err(|denied| AdminError::from(ScimError::from(denied)))?
            .credential;
        let Some(user_id) = credential
            .user_id
            .clone()
            .filter(|_| credential.kind == Kind::User)
        else {
            return Err(AdminError::forbidden(
                "this is a SCIM provisioning credential; the admin API takes a user's API credential",
            ));
        };
        let user = match users::get(&state.db, &credential.tenant_id, &user_id).await {
            Ok(user) => user,
            Err(crate::domain::Error::NotFound(_)) => {
                return Err(unauthorized("invalid credentials"));
            }
            Err(e) => return Err(e.into()),
        };
        if !user.active() {
            return Err(unauthorized("the credential's user is archived"));
        }
        let catalogs = catalog::load(&state.db, &credential.tenant_id).await?;
        let permissions = catalogs.permissions_of(user.security_profiles());
        Ok(AdminAuth {
            tenant_id: credential.tenant_id.clone(),
            actor: Actor::admin(&credential.id, &user.id, permissions),
            user,
        })
    }
}
