//! Request signing for API Gateway's `AWS_IAM` authorizer: AWS Signature Version 4 over the
//! method, URL, headers and body (service `execute-api`), with `x-amz-content-sha256` and,
//! for temporary credentials, `x-amz-security-token`. Credentials come from the standard
//! chain (env, profiles, SSO, `credential_process`) and are reused until near their expiry.

use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_runtime_api::client::identity::Identity;
use tokio::sync::Mutex;

use crate::error::CliError;

/// The service name API Gateway's IAM authorizer expects in the credential scope.
pub const SERVICE: &str = "execute-api";

/// Credentials are fetched again when they expire within this long.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// The credential chain and region of one run, and the credentials last fetched.
#[derive(Debug)]
pub struct Signer {
    sdk: SdkConfig,
    region: String,
    profile: Option<String>,
    cached: Mutex<Option<Credentials>>,
}

impl Signer {
    /// Loads the standard chain (no network call yet). The region is `region` when given,
    /// else the one in an execute-api host name, else the chain's (AWS_REGION, the profile).
    pub async fn load(
        profile: Option<&str>,
        region: Option<&str>,
        host: &str,
    ) -> Result<Signer, CliError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(
            trustgate::aws::http_client::ReqwestHttpClient::new(Duration::from_secs(5)),
        );
        if let Some(profile) = profile {
            loader = loader.profile_name(profile);
        }
        let explicit = region
            .map(str::to_owned)
            .or_else(|| region_of_execute_api_host(host));
        if let Some(region) = &explicit {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        let Some(region) = explicit.or_else(|| sdk.region().map(|r| r.to_string())) else {
            return Err(CliError::usage(
                "no AWS region to sign for: pass --region REGION or set AWS_REGION \
                 (or set `region` in the AWS profile)",
            ));
        };
        Ok(Signer {
            sdk,
            region,
            profile: profile.map(str::to_owned),
            cached: Mutex::new(None),
        })
    }

    /// Signs a request: returns the headers to add (authorization, x-amz-date,
    /// x-amz-content-sha256, x-amz-security-token when the credentials carry one).
    pub async fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Vec<(String, String)>, CliError> {
        let identity: Identity = self.credentials().await?.into();
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let params = SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SERVICE)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| CliError::usage(format!("cannot sign the request: {e}")))?
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .map_err(|e| CliError::usage(format!("cannot sign a request to {url}: {e}")))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| CliError::usage(format!("cannot sign a request to {url}: {e}")))?
            .into_parts();
        let (added, _query) = instructions.into_parts();
        Ok(added
            .into_iter()
            .map(|h| (h.name().to_owned(), h.value().to_owned()))
            .collect())
    }

    async fn credentials(&self) -> Result<Credentials, CliError> {
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref() {
            let fresh = credentials
                .expiry()
                .is_none_or(|at| at > SystemTime::now() + REFRESH_BEFORE_EXPIRY);
            if fresh {
                return Ok(credentials.clone());
            }
        }
        let Some(provider) = self.sdk.credentials_provider() else {
            return Err(no_credentials(self.profile.as_deref(), None));
        };
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| no_credentials(self.profile.as_deref(), Some(e)))?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }
}

/// What to do when the chain finds nothing; the chain's own reason is appended (it never
/// holds a secret).
fn no_credentials(profile: Option<&str>, error: Option<CredentialsError>) -> CliError {
    let source = match profile {
        Some(profile) => format!(
            "from profile `{profile}` (check ~/.aws/config; for SSO run \
             `aws sso login --profile {profile}`)"
        ),
        None => "found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and \
                 AWS_SESSION_TOKEN), or AWS_PROFILE / --profile NAME"
            .to_owned(),
    };
    let reason = match error {
        Some(CredentialsError::CredentialsNotLoaded(_)) | None => String::new(),
        Some(other) => format!(" ({})", error_chain(&other)),
    };
    CliError::usage(format!(
        "no AWS credentials {source}{reason}; or use --auth none for a local http:// endpoint"
    ))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// `abc123.execute-api.eu-west-1.amazonaws.com` → `eu-west-1`.
pub fn region_of_execute_api_host(host: &str) -> Option<String> {
    let mut labels = host.split('.');
    let (_id, service, region) = (labels.next()?, labels.next()?, labels.next()?);
    (service == SERVICE && !region.is_empty()).then(|| region.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::SharedCredentialsProvider;

    fn signer_with(credentials: Credentials) -> Signer {
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        Signer {
            sdk,
            region: "eu-west-1".into(),
            profile: None,
            cached: Mutex::new(None),
        }
    }

    #[tokio::test]
    async fn a_signed_request_carries_the_scope_the_body_hash_and_the_session_token() {
        let signer = signer_with(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            Some("session".into()),
            None,
            "test",
        ));
        let headers = [("content-type".to_owned(), "application/json".to_owned())];
        let url = "https://abc.execute-api.eu-west-1.amazonaws.com/api/organizations?limit=100";
        let added = signer.sign("POST", url, &headers, b"{}").await.unwrap();
        let get = |name: &str| {
            added
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let authorization = get("authorization").expect("authorization");
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{authorization}"
        );
        assert!(
            authorization.contains("/eu-west-1/execute-api/aws4_request"),
            "{authorization}"
        );
        assert!(
            authorization.contains(
                "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
            ),
            "{authorization}"
        );
        // SHA-256 of `{}`.
        let body_hash = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
        assert_eq!(get("x-amz-content-sha256"), Some(body_hash));
        assert_eq!(get("x-amz-security-token"), Some("session"));
        assert!(get("x-amz-date").is_some());
    }

    #[tokio::test]
    async fn no_credentials_is_a_usage_error_naming_the_variables() {
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .build();
        let signer = Signer {
            sdk,
            region: "eu-west-1".into(),
            profile: None,
            cached: Mutex::new(None),
        };
        let error = signer
            .sign("GET", "https://x/api", &[], b"")
            .await
            .unwrap_err();
        assert_eq!(error.code(), 2);
        assert!(error.to_string().contains("AWS_ACCESS_KEY_ID"), "{error}");
    }

    #[test]
    fn the_region_is_read_from_an_execute_api_host() {
        assert_eq!(
            region_of_execute_api_host("abc123.execute-api.eu-west-1.amazonaws.com").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_of_execute_api_host("api.example.com"), None);
        assert_eq!(region_of_execute_api_host("127.0.0.1"), None);
    }
}
