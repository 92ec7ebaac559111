//! [`RefreshReads`] made of the other ports, one call each (concurrently): what the table
//! answers in one `BatchGetItem`, for the in-memory ports and as the reference the table's
//! implementation is compared with (tests/port_contracts.rs).

use std::sync::Arc;

use crate::domain::ids::{ClientId, IssuerId};
use crate::domain::organization::OrgName;
use crate::domain::refresh_token::RefreshToken;
use crate::domain::revocation::{RevocationQuery, RevocationState};
use crate::ports::{
    BoxFuture, ConfigStore, PortError, Read, RefreshReads, RefreshSnapshot, RefreshStore,
    Revocations,
};

#[derive(Clone)]
pub struct ComposedRefreshReads {
    pub config_store: Arc<dyn ConfigStore>,
    pub refresh_store: Arc<dyn RefreshStore>,
    pub revocations: Arc<dyn Revocations>,
}

impl RefreshReads for ComposedRefreshReads {
    fn refresh_snapshot<'a>(
        &'a self,
        org: &'a OrgName,
        client_id: &'a ClientId,
        token: Option<&'a RefreshToken>,
    ) -> BoxFuture<'a, Result<RefreshSnapshot, PortError>> {
        Box::pin(async move {
            let config = &self.config_store;
            let (generation, application) = tokio::join!(
                config.generation(org),
                config.application(org, client_id, Read::Fresh)
            );
            let mut snapshot = RefreshSnapshot {
                generation: generation?,
                application: application?,
                ..RefreshSnapshot::default()
            };
            let Some(token) = token else {
                return Ok(snapshot);
            };
            let issuer_id = IssuerId::new(token.issuer_id.as_str());
            let query = |idp| RevocationQuery {
                jti: None,
                sub: &token.sub,
                idp,
                client_id: &token.client_id,
            };
            // Without the token's idp, only the any-issuer subject revocation applies.
            let unmatched_idp = "";
            let (issuer, family, revocations) = tokio::join!(
                config.issuer(org, &issuer_id, Read::Fresh),
                self.refresh_store.family(&token.family_id),
                self.revocations
                    .state(org, query(token.idp.as_deref().unwrap_or(unmatched_idp)))
            );
            snapshot.issuer = issuer?;
            snapshot.family = family?;
            snapshot.revocations = RevocationState {
                token_revoked: false,
                ..revocations?
            };
            Ok(snapshot)
        })
    }
}
