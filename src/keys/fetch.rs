//! Fetching a JWK Set over HTTPS with the SSRF defences of RFC 9700 §4.15 / RFC 8725 §3.10:
//! one shared client; no proxies; no redirects (a 3xx is a failure, so the checked host is the
//! one connected to); a total time limit; a body cap checked against `Content-Length` and again
//! while streaming, so no more than the cap is ever buffered; and a DNS resolver that drops
//! loopback, private, link-local and metadata addresses before a connection is made.
//!
//! Address literals never reach a resolver, so callers check the URL with
//! [`check_jwks_uri`](crate::domain::issuer::check_jwks_uri) first; the address rule itself
//! lives in [`domain::address`](crate::domain::address).

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, CACHE_CONTROL};
use url::Url;

use crate::domain::address;

/// Turns a host name into addresses. The system resolver by default; tests substitute a stub
/// to exercise the address filter without real DNS.
pub trait HostLookup: Send + Sync + 'static {
    fn lookup(&self, host: String)
    -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;
}

/// The operating system's resolver (getaddrinfo, through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl HostLookup for SystemLookup {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// A reqwest resolver that answers only with the addresses [`address::may_connect`] allows
/// (public ones; with `allow_insecure` any but link-local and metadata ones): the others a name
/// resolves to are dropped, and a name left with none fails, so a connection to them is never
/// attempted. Names that always mean this machine or a metadata service fail without a lookup
/// (unless `allow_insecure`; their addresses are still checked).
#[derive(Clone)]
pub struct GuardedResolver {
    lookup: Arc<dyn HostLookup>,
    allow_insecure: bool,
}

impl GuardedResolver {
    pub fn new(lookup: Arc<dyn HostLookup>, allow_insecure: bool) -> GuardedResolver {
        GuardedResolver {
            lookup,
            allow_insecure,
        }
    }

    /// The addresses reqwest may connect to for `host`.
    pub async fn addresses(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        let refused = |why: &str| {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("JWKS host {host} {why}"),
            )
        };
        if !self.allow_insecure && address::is_forbidden_host_name(host) {
            return Err(refused("is a local or metadata name"));
        }
        let mut addrs = self.lookup.lookup(host.to_owned()).await?;
        // Link-local and metadata addresses are dropped even with `allow_insecure`.
        addrs.retain(|ip| address::may_connect(*ip, self.allow_insecure));
        if addrs.is_empty() {
            return Err(refused(if self.allow_insecure {
                "resolves only to link-local or metadata addresses"
            } else {
                "resolves only to loopback, private, link-local or metadata addresses"
            }));
        }
        Ok(addrs)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = self.clone();
        Box::pin(async move {
            let addrs = resolver.addresses(name.as_str()).await?;
            // Port 0: reqwest puts the URL's port in.
            let addrs: Addrs = Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// Why a fetch failed. Messages hold no URL (only the host, through resolver errors).
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("redirect (status {0}) refused")]
    Redirect(u16),
    #[error("unexpected status {0}")]
    Status(u16),
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    #[error("no complete response within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Transport(String),
}

/// A fetched document and its caching headers.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    /// Every `Cache-Control` field line, joined with ", ".
    pub(crate) cache_control: String,
}

/// The one HTTP client of a [`KeySource`](super::KeySource) and its limits.
pub(crate) struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_body_bytes: usize,
}

impl Fetcher {
    pub(crate) fn new(
        lookup: Arc<dyn HostLookup>,
        allow_insecure: bool,
        timeout: Duration,
        max_body_bytes: usize,
    ) -> Result<Fetcher, reqwest::Error> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver::new(lookup, allow_insecure)))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!allow_insecure)
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!("trustgate/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Fetcher {
            client,
            timeout,
            max_body_bytes,
        })
    }

    /// GETs `url` (already checked by `check_jwks_uri`) within the time limit and body cap.
    pub(crate) async fn fetch(&self, url: &Url) -> Result<Fetched, FetchError> {
        // reqwest's own timeout covers the body too; this one bounds everything, whatever
        // reqwest does, so a caller never waits longer than the limit.
        tokio::time::timeout(self.timeout, self.fetch_unbounded(url))
            .await
            .unwrap_or(Err(FetchError::Timeout(self.timeout)))
    }

    async fn fetch_unbounded(&self, url: &Url) -> Result<Fetched, FetchError> {
        let mut response = self
            .client
            .get(url.clone())
            .header(ACCEPT, "application/jwk-set+json, application/json")
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(FetchError::Redirect(status.as_u16()));
        }
        if status != reqwest::StatusCode::OK {
            return Err(FetchError::Status(status.as_u16()));
        }
        let cap = self.max_body_bytes;
        let declared = response.content_length();
        if declared.is_some_and(|len| len > cap as u64) {
            return Err(FetchError::TooLarge(cap));
        }
        let cache_control = response
            .headers()
            .get_all(CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let mut body = Vec::with_capacity(declared.unwrap_or(0) as usize);
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            if body.len() + chunk.len() > cap {
                // Dropping the response closes the connection: the rest is never read.
                return Err(FetchError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            body,
            cache_control,
        })
    }

    fn transport(&self, error: reqwest::Error) -> FetchError {
        if error.is_timeout() {
            return FetchError::Timeout(self.timeout);
        }
        // The error chain names what failed (DNS refusal, connection, TLS) without the URL.
        let error = error.without_url();
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        FetchError::Transport(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Answers every name with fixed addresses and counts the lookups.
    struct Stub(Vec<IpAddr>, AtomicUsize);

    impl HostLookup for Stub {
        fn lookup(
            &self,
            _host: String,
        ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>> {
            self.1.fetch_add(1, Ordering::SeqCst);
            let addrs = self.0.clone();
            Box::pin(async move { Ok(addrs) })
        }
    }

    fn resolver(addrs: &[&str], allow_insecure: bool) -> (GuardedResolver, Arc<Stub>) {
        let stub = Arc::new(Stub(
            addrs.iter().map(|a| a.parse().unwrap()).collect(),
            AtomicUsize::new(0),
        ));
        (GuardedResolver::new(stub.clone(), allow_insecure), stub)
    }

    #[tokio::test]
    async fn drops_non_public_addresses_a_name_resolves_to() {
        let (guarded, _) = resolver(&["127.0.0.1", "93.184.215.14", "10.0.0.7"], false);
        let addrs = guarded.addresses("jwks.example.com").await.unwrap();
        assert_eq!(addrs, ["93.184.215.14".parse::<IpAddr>().unwrap()]);
    }

    #[tokio::test]
    async fn refuses_a_name_that_resolves_only_to_local_addresses() {
        for local in [
            &["127.0.0.1"][..],
            &["169.254.169.254"],
            &["::1", "fd00:ec2::254"],
            &["::ffff:10.0.0.1"],
            &[],
        ] {
            let (guarded, _) = resolver(local, false);
            let error = guarded
                .addresses("127.0.0.1.nip.io")
                .await
                .expect_err("no public address");
            assert_eq!(error.kind(), io::ErrorKind::PermissionDenied, "{local:?}");
        }
    }

    #[tokio::test]
    async fn refuses_local_names_without_looking_them_up() {
        let (guarded, stub) = resolver(&["93.184.215.14"], false);
        for name in ["localhost", "api.localhost", "metadata.google.internal"] {
            assert!(guarded.addresses(name).await.is_err(), "{name}");
        }
        assert_eq!(stub.1.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn insecure_mode_allows_local_addresses() {
        let (guarded, _) = resolver(&["127.0.0.1"], true);
        assert_eq!(guarded.addresses("localhost").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn insecure_mode_still_refuses_link_local_and_metadata_addresses() {
        let metadata: [&[&str]; 4] = [
            &["169.254.169.254"],
            &["fe80::1"],
            &["fd00:ec2::254"],
            &["::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe"],
        ];
        for addrs in metadata {
            let (guarded, _) = resolver(addrs, true);
            let error = guarded
                .addresses("metadata.example.com")
                .await
                .expect_err("never a metadata address");
            assert_eq!(error.kind(), io::ErrorKind::PermissionDenied, "{addrs:?}");
        }
        let (guarded, _) = resolver(&["169.254.169.254", "127.0.0.1"], true);
        let addrs = guarded.addresses("mixed.example.com").await.unwrap();
        assert_eq!(addrs, ["127.0.0.1".parse::<IpAddr>().unwrap()]);
    }

    #[tokio::test]
    async fn resolves_for_reqwest_with_the_url_port_left_to_it() {
        let (guarded, _) = resolver(&["127.0.0.1", "93.184.215.14"], false);
        let addrs: Vec<SocketAddr> = guarded
            .resolve(Name::from_str("jwks.example.com").unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(addrs, ["93.184.215.14:0".parse::<SocketAddr>().unwrap()]);
        let refused = resolver(&["127.0.0.1"], false)
            .0
            .resolve(Name::from_str("jwks.example.com").unwrap())
            .await;
        assert!(refused.is_err());
    }
}
