//! Trusted token issuers: the third-party identity providers whose JWTs an organization accepts.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut, RangeInclusive};

use serde::{Deserialize, Deserializer, Serialize};
use url::{Host, Url};

use super::address;
use super::certificate::parse_certificate;
use super::input::{InputError, Settings, check_range, check_text, check_unique, yes};
use super::organization::is_organization_issuer;
use super::policy::{IssuerPolicy, PolicyError};
use super::uri;

/// JWS algorithms a trusted issuer may sign with (RFC 7518 §3.1). Asymmetric only: `none` and
/// HMAC are not representable, so no configuration can allow them (RFC 8725 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
}

impl Algorithm {
    /// Every supported algorithm: the default allow-list.
    pub const ALL: [Algorithm; 8] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
        }
    }

    /// The same algorithm in jsonwebtoken's terms.
    pub fn jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::RS384 => jsonwebtoken::Algorithm::RS384,
            Algorithm::RS512 => jsonwebtoken::Algorithm::RS512,
            Algorithm::PS256 => jsonwebtoken::Algorithm::PS256,
            Algorithm::PS384 => jsonwebtoken::Algorithm::PS384,
            Algorithm::PS512 => jsonwebtoken::Algorithm::PS512,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::ES384 => jsonwebtoken::Algorithm::ES384,
        }
    }

    /// Exact, case-sensitive match (RFC 7515 §4.1.1).
    pub fn parse(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// A certificate a trusted issuer signs with, normalized to PEM, with what the admin API shows.
///
/// Read from input it may be PEM or base64 DER text (or the object the API shows); then only
/// `pem` is set, and [`IssuerSettings::validate`] parses it and fills in the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Certificate {
    pub pem: String,
    pub subject: String,
    /// RFC 3339.
    pub not_after: String,
    /// Lower-case hex SHA-256 of the DER encoding.
    pub sha256_fingerprint: String,
}

impl<'de> Deserialize<'de> for Certificate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Certificate, D::Error> {
        #[derive(Deserialize)]
        struct Stored {
            pem: String,
            subject: String,
            not_after: String,
            sha256_fingerprint: String,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            Stored(Stored),
        }
        match Form::deserialize(deserializer) {
            Ok(Form::Text(pem)) => Ok(Certificate {
                pem,
                subject: String::new(),
                not_after: String::new(),
                sha256_fingerprint: String::new(),
            }),
            Ok(Form::Stored(c)) => Ok(Certificate {
                pem: c.pem,
                subject: c.subject,
                not_after: c.not_after,
                sha256_fingerprint: c.sha256_fingerprint,
            }),
            Err(_) => Err(serde::de::Error::custom(
                "must be an X.509 certificate as PEM or base64 DER text",
            )),
        }
    }
}

/// The stored trusted token issuer: the settings an administrator chose, flattened into the
/// same attributes (and view members) as its server-made fields. Reads through to the
/// settings, so `issuer.allowed_algorithms` is the setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedIssuer {
    /// Server-made identifier (32 hex characters).
    pub id: String,
    #[serde(flatten)]
    pub settings: IssuerSettings,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl TrustedIssuer {
    /// The record's compiled policy. The token function calls it on every record it loads, so
    /// a record that reached the table by other means than the admin API meets the same
    /// bounds.
    pub fn policy(&self) -> Result<IssuerPolicy, PolicyError> {
        self.settings.policy()
    }
}

impl Deref for TrustedIssuer {
    type Target = IssuerSettings;

    fn deref(&self) -> &IssuerSettings {
        &self.settings
    }
}

impl DerefMut for TrustedIssuer {
    fn deref_mut(&mut self) -> &mut IssuerSettings {
        &mut self.settings
    }
}

/// Where an issuer's verification keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource<'a> {
    Jwks(&'a str),
    Certificate(&'a Certificate),
}

/// Checks a `jwks_uri`: an absolute `https` URL without credentials or fragment, whose host is
/// not a loopback, private, link-local or metadata address or name. With `allow_insecure`
/// (local development and tests) `http` and such hosts are accepted, except link-local and
/// metadata addresses ([`address::may_connect`]). Host names are checked again after DNS
/// resolution when keys are fetched.
pub fn check_jwks_uri(raw: &str, allow_insecure: bool) -> Result<Url, String> {
    if raw.len() > 2048 {
        return Err("must be at most 2048 characters".into());
    }
    let url = uri::parse(raw).map_err(|e| e.to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        _ => return Err("must be an https:// URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    let allowed = match url.host() {
        None => return Err("must have a host".into()),
        Some(Host::Ipv4(ip)) => address::may_connect(ip.into(), allow_insecure),
        Some(Host::Ipv6(ip)) => address::may_connect(ip.into(), allow_insecure),
        Some(Host::Domain(name)) => allow_insecure || !address::is_forbidden_host_name(name),
    };
    if !allowed {
        return Err("must not point to a loopback, private, link-local or metadata address".into());
    }
    Ok(url)
}

/// What a trusted issuer's rules depend on besides the input: the configuration.
#[derive(Debug, Clone, Copy)]
pub struct IssuerRules<'a> {
    /// `TRUSTGATE_ALLOW_INSECURE_JWKS`.
    pub allow_insecure_jwks: bool,
    /// `TRUSTGATE_PUBLIC_URL`: the organizations' issuer values are made from it.
    pub public_url: &'a str,
}

/// An organization's issuer value (any organization's, existing or not) may be neither a trusted
/// issuer's `issuer` nor its `alias`: as an alias it would let this organization accept subject
/// tokens minted for another one (their `aud`), as an issuer it would trust another tenant.
fn not_an_organization_issuer(
    field: &'static str,
    value: &str,
    public_url: &str,
) -> Result<(), InputError> {
    if is_organization_issuer(public_url, value) {
        return Err(InputError::field(
            field,
            "is the issuer value of a Trustgate organization, which no trusted issuer may use",
        ));
    }
    Ok(())
}

/// What an administrator sets on a trusted issuer (openapi/admin.yaml, `TrustedIssuerCreate`),
/// declared once: the create body, the patch, the stored attributes and the API view all are
/// these members. The serde defaults are the contract's; every rule of the contract's table
/// holds once [`Settings::validate`] passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSettings {
    /// 1-128 characters, unique in the organization.
    pub name: String,
    /// The exact `iss` value, compared byte for byte; unique in the organization.
    pub issuer: String,
    /// Accepted `aud` value when the organization's issuer is not in `aud`.
    pub alias: Option<String>,
    /// Exactly one of `jwks_uri` and `certificate` is set.
    pub jwks_uri: Option<String>,
    pub certificate: Option<Certificate>,
    /// Default: every supported algorithm.
    #[serde(default = "all_algorithms")]
    pub allowed_algorithms: Vec<Algorithm>,
    /// 0-300, default 60.
    #[serde(default = "default_clock_skew")]
    pub clock_skew_seconds: u32,
    /// 1 second to 1 year; none by default.
    pub max_token_age_seconds: Option<u64>,
    /// Default false.
    #[serde(default)]
    pub require_jti: bool,
    /// Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// CEL over `claims` that must give `true` for a token to be accepted; none by default.
    pub condition: Option<String>,
    /// CEL over `claims` giving the issued `sub`; default: the token's `sub`.
    pub subject: Option<String>,
    /// Issued claim name → CEL over `claims`; a `null` result omits the claim. Default empty.
    #[serde(default)]
    pub claim_mappings: BTreeMap<String, String>,
}

fn all_algorithms() -> Vec<Algorithm> {
    Algorithm::ALL.to_vec()
}

fn default_clock_skew() -> u32 {
    IssuerSettings::DEFAULT_CLOCK_SKEW_SECONDS
}

impl IssuerSettings {
    pub const MAX_NAME_CHARS: usize = 128;
    pub const MAX_ISSUER_CHARS: usize = 2048;
    pub const MAX_ALIAS_CHARS: usize = 2048;
    pub const DEFAULT_CLOCK_SKEW_SECONDS: u32 = 60;
    pub const CLOCK_SKEW_RANGE: RangeInclusive<u32> = 0..=300;
    pub const MAX_TOKEN_AGE_RANGE: RangeInclusive<u64> = 1..=31_536_000;

    /// Compiles `condition`, `subject` and `claim_mappings` (policy/, the `trustgate-policy` crate).
    pub fn policy(&self) -> Result<IssuerPolicy, PolicyError> {
        IssuerPolicy::compile(
            self.condition.as_deref(),
            self.subject.as_deref(),
            &self.claim_mappings,
        )
    }

    /// `None` only for a record that breaks the one-of rule, which the admin API never writes.
    pub fn key_source(&self) -> Option<KeySource<'_>> {
        match (&self.jwks_uri, &self.certificate) {
            (Some(uri), None) => Some(KeySource::Jwks(uri)),
            (None, Some(cert)) => Some(KeySource::Certificate(cert)),
            _ => None,
        }
    }
}

impl Settings for IssuerSettings {
    const SERVER_SET: &'static [(&'static str, &'static str)] = &[
        ("id", "is made by the server and cannot be set"),
        ("created_at", "is set by the server"),
        ("updated_at", "is set by the server"),
    ];
    type Context<'a> = IssuerRules<'a>;

    /// Besides the members' own rules: exactly one key source, and with a certificate, at
    /// least one allowed algorithm that fits its key. The certificate is parsed again each
    /// time (a patch re-applies every rule) and stored normalized to PEM.
    fn validate(&mut self, rules: IssuerRules<'_>) -> Result<(), InputError> {
        check_text("name", &self.name, Self::MAX_NAME_CHARS)?;
        check_text("issuer", &self.issuer, Self::MAX_ISSUER_CHARS)?;
        not_an_organization_issuer("issuer", &self.issuer, rules.public_url)?;
        if let Some(alias) = &self.alias {
            check_text("alias", alias, Self::MAX_ALIAS_CHARS)?;
            not_an_organization_issuer("alias", alias, rules.public_url)?;
        }
        if let Some(uri) = &self.jwks_uri {
            check_jwks_uri(uri, rules.allow_insecure_jwks)
                .map_err(|why| InputError::field("jwks_uri", why))?;
        }
        let key = match &self.certificate {
            None => None,
            Some(given) => {
                let (parsed, key) = parse_certificate(&given.pem)
                    .map_err(|why| InputError::field("certificate", why))?;
                self.certificate = Some(parsed);
                Some(key)
            }
        };
        if self.allowed_algorithms.is_empty() {
            return Err(InputError::field(
                "allowed_algorithms",
                "must list at least one algorithm",
            ));
        }
        check_unique("allowed_algorithms", &self.allowed_algorithms, |a| {
            a.as_str()
        })?;
        check_range(
            "clock_skew_seconds",
            self.clock_skew_seconds,
            &Self::CLOCK_SKEW_RANGE,
        )?;
        if let Some(age) = self.max_token_age_seconds {
            check_range("max_token_age_seconds", age, &Self::MAX_TOKEN_AGE_RANGE)?;
        }
        self.policy()
            .map_err(|e| InputError::field(&e.field, e.message))?;
        match (self.jwks_uri.is_some(), key) {
            (true, None) => Ok(()),
            // A configuration no token could ever pass is a mistake worth naming now.
            (false, Some(key)) if !self.allowed_algorithms.iter().any(|a| key.fits(*a)) => {
                Err(InputError::field(
                    "allowed_algorithms",
                    format!(
                        "lists no algorithm that fits the certificate's key ({})",
                        key.describe()
                    ),
                ))
            }
            (false, Some(_)) => Ok(()),
            (true, Some(_)) => Err(InputError::field(
                "jwks_uri",
                "exactly one of jwks_uri and certificate may be set, not both",
            )),
            (false, None) => Err(InputError::field(
                "jwks_uri",
                "exactly one of jwks_uri and certificate is required",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn algorithm_names_are_exact() {
        assert_eq!(Algorithm::parse("RS256"), Some(Algorithm::RS256));
        for bad in ["rs256", "none", "HS256", "RS256 ", "EdDSA", ""] {
            assert_eq!(Algorithm::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn jwks_uri_must_be_https_to_a_public_host() {
        assert!(check_jwks_uri("https://login.example.com/.well-known/jwks.json", false).is_ok());
        for bad in [
            "http://login.example.com/jwks",
            "https://127.0.0.1/jwks",
            "https://[::1]/jwks",
            "https://169.254.169.254/latest/meta-data",
            "https://10.1.2.3/jwks",
            "https://localhost:8443/jwks",
            "https://metadata.google.internal/x",
            "https://user:pw@login.example.com/jwks",
            "https://login.example.com/jwks#frag",
            "file:///etc/passwd",
            "not a url",
            "https://2130706433/jwks", // 127.0.0.1 written as one number
        ] {
            assert!(check_jwks_uri(bad, false).is_err(), "{bad} must be refused");
        }
        // Internationalized hosts in their punycode form only.
        assert!(check_jwks_uri("https://xn--bcher-kva.example/jwks", false).is_ok());
        // An upper-case letter beside them once made debug builds panic (src/domain/uri.rs).
        for raw in ["https://bücher.example/jwks", "https://Bücher.example/jwks"] {
            let error = check_jwks_uri(raw, false).unwrap_err();
            assert!(error.contains("punycode form (xn--…)"), "{error}");
        }
    }

    #[test]
    fn insecure_flag_allows_local_http() {
        assert!(check_jwks_uri("http://127.0.0.1:8080/jwks", true).is_ok());
        assert!(check_jwks_uri("ftp://127.0.0.1/jwks", true).is_err());
    }

    const CERT: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/certificates/rsa2048.pem"
    ));
    const EC_CERT: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/certificates/ec-p256.pem"
    ));

    const RULES: IssuerRules<'static> = IssuerRules {
        allow_insecure_jwks: false,
        public_url: "https://sts.example.com",
    };
    const INSECURE: IssuerRules<'static> = IssuerRules {
        allow_insecure_jwks: true,
        ..RULES
    };

    fn settings(body: serde_json::Value) -> Result<IssuerSettings, InputError> {
        IssuerSettings::from_json(&body, RULES)
    }

    fn field_of(body: serde_json::Value) -> String {
        settings(body).unwrap_err().field.expect("names a field")
    }

    fn minimal() -> serde_json::Value {
        json!({"name": "Okta", "issuer": "https://login.example.com", "jwks_uri": "https://login.example.com/jwks"})
    }

    fn stored(body: serde_json::Value) -> TrustedIssuer {
        TrustedIssuer {
            id: "id".into(),
            settings: settings(body).unwrap(),
            created_at: "t0".into(),
            updated_at: "t0".into(),
        }
    }

    #[test]
    fn applies_the_contracts_defaults() {
        let s = settings(minimal()).unwrap();
        assert_eq!(s.allowed_algorithms, Algorithm::ALL.to_vec());
        assert_eq!(s.clock_skew_seconds, 60);
        assert_eq!(s.max_token_age_seconds, None);
        assert!(!s.require_jti);
        assert!(s.enabled);
        assert_eq!(s.alias, None);
    }

    #[test]
    fn requires_exactly_one_of_jwks_uri_and_certificate() {
        let mut both = minimal();
        both["certificate"] = json!(CERT);
        assert_eq!(field_of(both), "jwks_uri");
        let mut neither = minimal();
        neither["jwks_uri"] = json!(null);
        assert_eq!(field_of(neither), "jwks_uri");
        let mut cert_only = minimal();
        cert_only["jwks_uri"] = json!(null);
        cert_only["certificate"] = json!(CERT);
        let s = settings(cert_only).unwrap();
        assert_eq!(
            s.certificate.unwrap().subject,
            "CN=RSA 2048 issuer,O=Trustgate Test,C=DE"
        );
    }

    #[test]
    fn names_each_field_that_breaks_a_rule() {
        let cases = [
            ("name", json!("")),
            ("name", json!("x".repeat(129))),
            ("name", json!(42)),
            ("issuer", json!("")),
            ("issuer", json!("x".repeat(2049))),
            ("alias", json!("")),
            ("alias", json!(["a"])),
            ("jwks_uri", json!("http://login.example.com/jwks")),
            ("jwks_uri", json!("https://169.254.169.254/keys")),
            ("allowed_algorithms", json!([])),
            ("allowed_algorithms", json!(["HS256"])),
            ("allowed_algorithms", json!(["none"])),
            ("allowed_algorithms", json!(["RS256", "RS256"])),
            ("allowed_algorithms", json!("RS256")),
            ("clock_skew_seconds", json!(301)),
            ("clock_skew_seconds", json!(-1)),
            ("max_token_age_seconds", json!(0)),
            ("max_token_age_seconds", json!(31_536_001)),
            ("require_jti", json!("true")),
            ("enabled", json!(1)),
            ("certificate", json!(42)),
            ("certificate", json!({"pem": CERT})),
            ("colour", json!("blue")),
            ("id", json!("abc")),
            ("created_at", json!("2026-01-01T00:00:00Z")),
            ("condition", json!("claims.a ==")),
            ("condition", json!(true)),
            ("subject", json!("claims.sub +")),
            ("claim_mappings", json!(["a"])),
            ("claim_mappings", json!({"bad name": "1"})),
        ];
        for (field, value) in cases {
            let mut body = minimal();
            body[field] = value.clone();
            assert_eq!(field_of(body), field, "{field} = {value}");
        }
        let mut missing = minimal();
        missing.as_object_mut().unwrap().remove("issuer");
        assert_eq!(field_of(missing), "issuer");
    }

    #[test]
    fn policy_expressions_are_compiled_when_saved_and_errors_name_their_field() {
        let mut body = minimal();
        body["condition"] = json!(r#"claims.repository_owner == "acme""#);
        body["subject"] = json!(r#""github|" + claims.sub"#);
        body["claim_mappings"] = json!({"owner": "claims.repository_owner"});
        let s = settings(body.clone()).unwrap();
        assert_eq!(s.claim_mappings["owner"], "claims.repository_owner");
        assert!(!s.policy().unwrap().is_empty());

        body["condition"] = json!("claims.a = 1");
        let error = settings(body.clone()).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("condition"));
        assert!(
            error
                .to_string()
                .starts_with("condition: syntax error at 1:10: "),
            "{error}"
        );
        body["condition"] = json!(null);
        body["claim_mappings"] = json!({"sub": "claims.email"});
        assert_eq!(field_of(body.clone()), "claim_mappings.sub");
        body["claim_mappings"] = json!({"team": "claims.(("});
        assert_eq!(field_of(body), "claim_mappings.team");
        assert!(settings(minimal()).unwrap().policy().unwrap().is_empty());
    }

    /// The token function compiles what it loads: a record written around the admin API is
    /// held to the same bounds.
    #[test]
    fn a_stored_record_compiles_its_policy_again() {
        let mut record = stored(minimal());
        record.settings.condition = Some(format!("{}1{}", "(".repeat(50), ")".repeat(50)));
        let error = record.policy().unwrap_err();
        assert_eq!(error.field, "condition");
        assert!(
            error.message.starts_with("nests more than 5 levels deep"),
            "{error}"
        );
    }

    #[test]
    fn patch_removes_one_mapping_and_revalidates_the_rest() {
        let mut body = minimal();
        body["claim_mappings"] = json!({"a": "1", "b": "2"});
        let current = stored(body);
        let patched =
            IssuerSettings::patched(&current, &json!({"claim_mappings": {"a": null}}), RULES)
                .unwrap();
        assert_eq!(patched.claim_mappings.keys().collect::<Vec<_>>(), ["b"]);
        let bad = IssuerSettings::patched(&current, &json!({"subject": "'"}), RULES);
        assert_eq!(bad.unwrap_err().field.as_deref(), Some("subject"));
    }

    #[test]
    fn refuses_an_organizations_issuer_value_as_issuer_or_alias_also_in_a_patch() {
        let other_org = "https://sts.example.com/t/globex/oauth2/token";
        let mut body = minimal();
        body["issuer"] = json!(other_org);
        assert_eq!(field_of(body), "issuer");
        let mut body = minimal();
        body["alias"] = json!(other_org);
        assert_eq!(field_of(body), "alias");
        // A look-alike that no organization has is an ordinary value.
        let mut body = minimal();
        body["alias"] = json!("https://sts.example.com/t/globex/oauth2/token/");
        assert!(settings(body).is_ok());

        let current = settings(minimal()).unwrap();
        for field in ["issuer", "alias"] {
            let err = current
                .patched(&json!({ field: other_org }), RULES)
                .unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field));
        }
    }

    #[test]
    fn insecure_flag_allows_a_local_jwks_uri() {
        let mut body = minimal();
        body["jwks_uri"] = json!("http://127.0.0.1:8080/jwks");
        assert!(IssuerSettings::from_json(&body, INSECURE).is_ok());
        assert!(IssuerSettings::from_json(&body, RULES).is_err());
    }

    #[test]
    fn refuses_algorithms_that_cannot_use_the_certificates_key() {
        let body = json!({"name": "n", "issuer": "i", "certificate": EC_CERT, "allowed_algorithms": ["RS256"]});
        assert_eq!(field_of(body), "allowed_algorithms");
        let body = json!({"name": "n", "issuer": "i", "certificate": EC_CERT, "allowed_algorithms": ["ES256", "RS256"]});
        assert!(settings(body).is_ok());
    }

    #[test]
    fn patch_replaces_members_and_reapplies_every_rule() {
        let current = stored(minimal());
        let patched = IssuerSettings::patched(
            &current,
            &json!({"jwks_uri": null, "certificate": CERT, "clock_skew_seconds": 0}),
            RULES,
        )
        .unwrap();
        assert_eq!(patched.jwks_uri, None);
        assert!(patched.certificate.is_some());
        assert_eq!(patched.clock_skew_seconds, 0);
        assert_eq!(patched.name, "Okta");

        let both = IssuerSettings::patched(&current, &json!({"certificate": CERT}), RULES);
        assert_eq!(both.unwrap_err().field.as_deref(), Some("jwks_uri"));
        let reset = IssuerSettings::patched(&current, &json!({"clock_skew_seconds": null}), RULES);
        assert_eq!(reset.unwrap().clock_skew_seconds, 60);
        let unnamed = IssuerSettings::patched(&current, &json!({"name": null}), RULES);
        assert_eq!(unnamed.unwrap_err().field.as_deref(), Some("name"));
        for fixed in ["id", "created_at", "updated_at"] {
            let err = IssuerSettings::patched(&current, &json!({ fixed: "x" }), RULES);
            assert_eq!(err.unwrap_err().field.as_deref(), Some(fixed));
        }
        let not_object = IssuerSettings::patched(&current, &json!(["x"]), RULES);
        assert_eq!(not_object.unwrap_err().field, None);
    }

    /// Items written before the settings were a struct of their own read back unchanged: the
    /// attributes are the same flat ones.
    #[test]
    fn the_record_keeps_its_flat_attributes() {
        let record = stored(json!({"name": "n", "issuer": "i", "certificate": CERT}));
        let attributes = serde_json::to_value(&record).unwrap();
        let mut names: Vec<&str> = attributes
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "alias",
                "allowed_algorithms",
                "certificate",
                "claim_mappings",
                "clock_skew_seconds",
                "condition",
                "created_at",
                "enabled",
                "id",
                "issuer",
                "jwks_uri",
                "max_token_age_seconds",
                "name",
                "require_jti",
                "subject",
                "updated_at"
            ]
        );
        let read: TrustedIssuer = serde_json::from_value(attributes).unwrap();
        assert_eq!(read, record);
        assert!(matches!(read.key_source(), Some(KeySource::Certificate(_))));
        assert_eq!(read.clock_skew_seconds, 60);
    }

    #[test]
    fn the_shown_certificate_object_is_accepted_and_derived_again() {
        let shown = serde_json::to_value(
            stored(json!({"name": "n", "issuer": "i", "certificate": CERT}))
                .certificate
                .clone(),
        )
        .unwrap();
        let mut forged = shown.clone();
        forged["subject"] = json!("CN=someone else");
        let s = settings(json!({"name": "n", "issuer": "i", "certificate": forged})).unwrap();
        assert_eq!(serde_json::to_value(s.certificate).unwrap(), shown);
    }

    #[test]
    fn a_stored_certificate_survives_a_patch_unchanged() {
        let current = stored(json!({"name": "n", "issuer": "i", "certificate": CERT}));
        let patched = IssuerSettings::patched(&current, &json!({"enabled": false}), RULES).unwrap();
        assert_eq!(patched.certificate, current.certificate);
        assert!(!patched.enabled);
    }
}
