//! [`KeySource`](super::KeySource) as the token path's [`ports::KeySource`].

use std::sync::Arc;

use super::{KeyError, VerificationKey};
use crate::domain::issuer::{Algorithm, TrustedIssuer};
use crate::ports::{self, BoxFuture};

impl ports::KeySource for super::KeySource {
    fn keys_for<'a>(
        &'a self,
        issuer: &'a TrustedIssuer,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> BoxFuture<'a, Result<Vec<Arc<VerificationKey>>, KeyError>> {
        Box::pin(super::KeySource::keys_for(self, issuer, kid, alg))
    }
}
