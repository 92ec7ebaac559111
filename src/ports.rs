//! The narrow async ports the token use cases depend on (see [`crate::token`]). The AWS
//! implementations live in [`crate::aws`] and [`crate::keys`]; in-memory ones, for in-process
//! tests and benchmarks, in `crate::testing` (feature `test-util`). Futures are boxed so the
//! ports work as `Arc<dyn …>`. Ids are typed ([`OrgName`], [`ClientId`], [`IssuerId`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::domain::application::Application;
use crate::domain::envelope_key::StoredKey;
use crate::domain::ids::{ClientId, IssuerId};
use crate::domain::issuer::{Algorithm, TrustedIssuer};
use crate::domain::organization::OrgName;
use crate::domain::refresh_token::{RefreshFamily, RefreshToken};
use crate::domain::revocation::{AccessTokenRef, RevocationQuery, RevocationState};
use crate::domain::signing_key::SigningKey;
pub use crate::keys::KeyError;
use crate::keys::VerificationKey;
use crate::secret::SecretBytes;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A port failure, sorted by what the client should be told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Throttling, timeouts, a service outage: 503 with `Retry-After`.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// Anything retrying will not fix (disabled key, permissions, bad data): 500.
    #[error("{0}")]
    Internal(String),
}

/// Signs access tokens (KMS in production).
pub trait Signer: Send + Sync {
    /// The key new tokens are signed with; its `alg` and `kid` go into the JWS header.
    fn current_key(&self) -> BoxFuture<'_, Result<Arc<SigningKey>, PortError>>;
    /// The current key and the previous ones still published during a rotation.
    fn published_keys(&self) -> BoxFuture<'_, Result<Vec<Arc<SigningKey>>, PortError>>;
    /// The JWS signature (RFC 7515 §5.1) over `signing_input` with the current key, in the
    /// JOSE form of its algorithm (for ES256 the 64-byte `r || s`).
    fn sign<'a>(&'a self, signing_input: &'a [u8]) -> BoxFuture<'a, Result<Vec<u8>, PortError>>;
}

/// Envelope signing keys as stored (the table; contract, "Signing modes"), read by the token
/// function's [`crate::envelope::EnvelopeSigner`] and by the rotation.
pub trait SigningKeyRecords: Send + Sync {
    /// Every stored key whose publication has not ended, in one read.
    fn signing_keys(&self) -> BoxFuture<'_, Result<Vec<StoredKey>, PortError>>;
}

/// Writes envelope signing keys: the rotation only (the token function never writes them).
pub trait SigningKeyWriter: Send + Sync {
    /// Stores `new` unless a key with its `seq` exists and, in the same transaction, `retire`
    /// (the newest key so far, its `retire_after` now set) unless that key was retired already.
    /// `Ok(false)` and nothing written when either condition fails: another rotation won.
    fn add_signing_key<'a>(
        &'a self,
        new: &'a StoredKey,
        retire: Option<&'a StoredKey>,
    ) -> BoxFuture<'a, Result<bool, PortError>>;
}

/// Decrypts envelope private keys (KMS `Decrypt` under the wrapping key).
pub trait KeyUnwrapper: Send + Sync {
    /// The PKCS#8 private key of `kid` from its stored ciphertext. The encryption context names
    /// `kid` (and the table): a ciphertext moved to another key's record does not decrypt.
    fn unwrap_key<'a>(
        &'a self,
        kid: &'a str,
        wrapped: &'a [u8],
    ) -> BoxFuture<'a, Result<SecretBytes, PortError>>;
}

/// Encrypts envelope private keys (KMS `Encrypt` under the wrapping key): the rotation only.
pub trait KeyWrapper: Send + Sync {
    /// The ciphertext of `pkcs8`, the private key of `kid`, with the encryption context
    /// [`KeyUnwrapper::unwrap_key`] checks.
    fn wrap_key<'a>(
        &'a self,
        kid: &'a str,
        pkcs8: &'a SecretBytes,
    ) -> BoxFuture<'a, Result<Vec<u8>, PortError>>;
}

/// Whether a read may be answered from a warm function's cache (see
/// [`crate::token::cached_store`]); stores without a cache ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    Cached,
    /// Read from the table (and refresh the cache): a refresh must see a deleted or disabled
    /// application or issuer at once.
    Fresh,
}

/// An organization's configuration generation: every admin write of an issuer, an application
/// or a secret changes it in the same transaction (see [`crate::aws::admin_store`]). Records
/// read after the generation was `g` are current for as long as it still is `g`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Generation(pub u64);

/// The configuration records the token endpoint reads.
pub trait ConfigStore: Send + Sync {
    /// The organization's configuration [`Generation`], never from a cache; `None` when the
    /// organization does not exist or is being deleted. One read.
    fn generation<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<Option<Generation>, PortError>>;
    /// Every trusted issuer of `org` (enabled or not).
    fn issuers<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<Arc<Vec<TrustedIssuer>>, PortError>>;
    fn issuer<'a>(
        &'a self,
        org: &'a OrgName,
        id: &'a IssuerId,
        read: Read,
    ) -> BoxFuture<'a, Result<Option<Arc<TrustedIssuer>>, PortError>>;
    fn application<'a>(
        &'a self,
        org: &'a OrgName,
        client_id: &'a ClientId,
        read: Read,
    ) -> BoxFuture<'a, Result<Option<Arc<Application>>, PortError>>;
    /// Whether `org` exists and is not being deleted.
    fn organization_exists<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<bool, PortError>>;
}

/// The `jti` replay log of trusted issuers with `require_jti` (RFC 7519 §4.1.7).
pub trait ReplayLog: Send + Sync {
    /// Records a subject token's `jti` until `expires_at`; `Ok(false)` when it was seen before.
    fn record_jti<'a>(
        &'a self,
        org: &'a OrgName,
        issuer_id: &'a IssuerId,
        jti: &'a str,
        expires_at: i64,
    ) -> BoxFuture<'a, Result<bool, PortError>>;
    /// Whether the `jti` is recorded and not expired, recording nothing (explain's dry run).
    fn seen<'a>(
        &'a self,
        org: &'a OrgName,
        issuer_id: &'a IssuerId,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<bool, PortError>>;
    /// Forgets a `jti` recorded by a request that then failed before issuing a token, so the
    /// client's retry of the same subject token is not taken for a replay.
    fn forget_jti<'a>(
        &'a self,
        org: &'a OrgName,
        issuer_id: &'a IssuerId,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<(), PortError>>;
}

/// Refresh tokens and their families. Tokens are addressed by the hex SHA-256 of their value.
pub trait RefreshStore: Send + Sync {
    /// Stores a new family and its first token, both or neither, with a link from each access
    /// token in `family.access_tokens` to the family (until the token's `exp`).
    fn start_family<'a>(
        &'a self,
        token_hash: &'a str,
        token: &'a RefreshToken,
        family: &'a RefreshFamily,
    ) -> BoxFuture<'a, Result<(), PortError>>;
    /// The token stored under `token_hash`, unless it expired.
    fn token<'a>(
        &'a self,
        token_hash: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshToken>, PortError>>;
    /// The family, unless it was revoked or expired.
    fn family<'a>(
        &'a self,
        family_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshFamily>, PortError>>;
    /// Makes `new_hash` the family's active token if `old_hash` still is, storing the new
    /// token in the same transaction. `Ok(false)` when `old_hash` is no longer active.
    /// `family` is the family as it is after the rotation (its `access_tokens` with the one
    /// the refresh issued, last); that access token is linked to the family in the same
    /// transaction.
    fn rotate<'a>(
        &'a self,
        family: &'a RefreshFamily,
        old_hash: &'a str,
        new_hash: &'a str,
        new_token: &'a RefreshToken,
    ) -> BoxFuture<'a, Result<bool, PortError>>;
    /// Ends the family: none of its tokens is accepted afterwards, and every unexpired access
    /// token it issued is revoked (see [`Revocations`]) before the family goes.
    fn revoke<'a>(&'a self, family_id: &'a str) -> BoxFuture<'a, Result<(), PortError>>;
    /// The family that issued the access token `jti`, while that token has not expired.
    fn family_of<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<Option<String>, PortError>>;
    /// Removes a family and its first token that were never handed out.
    fn discard<'a>(
        &'a self,
        token_hash: &'a str,
        family_id: &'a str,
    ) -> BoxFuture<'a, Result<(), PortError>>;
}

/// Revoked access tokens, and the subject and client revocations the admin API writes
/// (RFC 7009; contract, "Introspection and revocation").
pub trait Revocations: Send + Sync {
    /// Revokes the access token `jti` of `org` until its `exp` (`expires_at`).
    fn revoke_access_token<'a>(
        &'a self,
        org: &'a OrgName,
        jti: &'a str,
        expires_at: i64,
    ) -> BoxFuture<'a, Result<(), PortError>>;
    /// What the revocation records say about one token or family: one `BatchGetItem`.
    fn state<'a>(
        &'a self,
        org: &'a OrgName,
        query: RevocationQuery<'a>,
    ) -> BoxFuture<'a, Result<RevocationState, PortError>>;
}

/// Chained exchange's lineage: which access tokens were exchanged from which (contract,
/// "Introspection and revocation": revoking a token revokes its descendants). A record lives
/// as long as the child token, whose `exp` is at most its parent's.
pub trait Lineage: Send + Sync {
    /// Records `child` as exchanged from the access token `parent_jti` of `org`.
    fn record_child<'a>(
        &'a self,
        org: &'a OrgName,
        parent_jti: &'a str,
        child: &'a AccessTokenRef,
    ) -> BoxFuture<'a, Result<(), PortError>>;
    /// The unexpired tokens exchanged from `parent_jti` (one `Query`).
    fn children<'a>(
        &'a self,
        org: &'a OrgName,
        parent_jti: &'a str,
    ) -> BoxFuture<'a, Result<Vec<AccessTokenRef>, PortError>>;
}

/// What a refresh, or the introspection of a refresh token, reads once it has the token: all
/// of it read fresh, in one request (contract, "Admin changes take effect at once": a refresh
/// reads at most one item plus one `BatchGetItem`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefreshSnapshot {
    /// The organization's configuration generation; `None` when it is gone or being deleted.
    pub generation: Option<Generation>,
    /// The application the caller names (enabled or not).
    pub application: Option<Arc<Application>>,
    /// The token's trusted issuer (enabled or not).
    pub issuer: Option<Arc<TrustedIssuer>>,
    /// The token's family, unless revoked or expired.
    pub family: Option<RefreshFamily>,
    /// The revocations of the token's subject (its `idp`'s and any issuer's) and client.
    pub revocations: RevocationState,
}

/// Reads a [`RefreshSnapshot`].
pub trait RefreshReads: Send + Sync {
    /// `org`'s generation and the application `client_id`; with `token`, also its issuer,
    /// its family and the revocations of its subject (with the token's `idp`, when it has
    /// one) and client.
    fn refresh_snapshot<'a>(
        &'a self,
        org: &'a OrgName,
        client_id: &'a ClientId,
        token: Option<&'a RefreshToken>,
    ) -> BoxFuture<'a, Result<RefreshSnapshot, PortError>>;
}

/// Counts failed client authentications (brute-force defence), shared by all functions.
pub trait FailureLog: Send + Sync {
    /// Adds one failure of `client_id` from `source` in the window starting at
    /// `window_start` and returns the window's count so far.
    fn record_failure<'a>(
        &'a self,
        org: &'a OrgName,
        client_id: &'a ClientId,
        source: &'a str,
        window_start: i64,
        window_end: i64,
    ) -> BoxFuture<'a, Result<u64, PortError>>;
}

/// The verification keys of trusted issuers (their JWKS or certificate; never the token's
/// header, RFC 8725 §3.10).
pub trait KeySource: Send + Sync {
    /// The keys of `issuer` that may verify a token with this `kid` and `alg`.
    fn keys_for<'a>(
        &'a self,
        issuer: &'a TrustedIssuer,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> BoxFuture<'a, Result<Vec<Arc<VerificationKey>>, KeyError>>;
}

/// The time, as epoch seconds.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
    /// The time as epoch milliseconds (issue times and revocations are kept to the ms).
    fn now_ms(&self) -> i64 {
        self.now() * 1000
    }
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        crate::domain::now_epoch()
    }

    fn now_ms(&self) -> i64 {
        crate::domain::now_epoch_ms()
    }
}
