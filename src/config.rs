//! Configuration: every environment variable (README, "Configuration") is named and parsed here,
//! once, at start. A missing or malformed variable stops the function with a message naming it.

use std::fmt;
use std::time::Duration;

use crate::domain::issuer::IssuerRules;

pub const TABLE: &str = "TRUSTGATE_TABLE";
pub const PUBLIC_URL: &str = "TRUSTGATE_PUBLIC_URL";
pub const SIGNING_KEY: &str = "TRUSTGATE_SIGNING_KEY";
pub const PREVIOUS_SIGNING_KEYS: &str = "TRUSTGATE_PREVIOUS_SIGNING_KEYS";
pub const SIGNING_ALG: &str = "TRUSTGATE_SIGNING_ALG";
pub const ADMIN_AUTH: &str = "TRUSTGATE_ADMIN_AUTH";
pub const ALLOW_INSECURE_JWKS: &str = "TRUSTGATE_ALLOW_INSECURE_JWKS";
pub const CONFIG_CACHE_SECONDS: &str = "TRUSTGATE_CONFIG_CACHE_SECONDS";
pub const SIGNING_MODE: &str = "TRUSTGATE_SIGNING_MODE";
pub const WRAPPING_KEY: &str = "TRUSTGATE_WRAPPING_KEY";

/// Which Lambda function is starting: some variables are required by one function only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Token,
    Admin,
}

/// The algorithm minted access tokens are signed with (RFC 7518 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlg {
    RS256,
    PS256,
    ES256,
}

impl SigningAlg {
    /// RS256 and PS256: an RSA key, whose private-key operation is the costly one.
    pub fn is_rsa(self) -> bool {
        matches!(self, SigningAlg::RS256 | SigningAlg::PS256)
    }

    /// The algorithm named `name` (its JOSE name, as [`SigningAlg::as_str`] gives it).
    pub fn parse(name: &str) -> Option<SigningAlg> {
        [SigningAlg::RS256, SigningAlg::PS256, SigningAlg::ES256]
            .into_iter()
            .find(|alg| alg.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::PS256 => "PS256",
            SigningAlg::ES256 => "ES256",
        }
    }
}

/// How access tokens are signed (contract, "Signing modes").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningMode {
    /// One KMS `Sign` per token with [`Config::signing_key`].
    Kms,
    /// Trustgate's own keys (see [`crate::envelope`]), kept in the table encrypted under the
    /// symmetric KMS key `wrapping_key` and used in-process: no KMS call per token, so neither
    /// KMS's latency nor its request quota bounds the exchanges.
    Envelope { wrapping_key: String },
}

/// How the admin API authenticates its callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAuth {
    /// Only requests whose API Gateway context carries an IAM-authenticated caller are served.
    Iam,
    /// Every request is served. Local development only; logged as a warning at start.
    None,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// DynamoDB table holding all state.
    pub table: String,
    /// External base URL without trailing slash, e.g. `https://sts.example.com`.
    pub public_url: String,
    /// Defaults to [`SigningMode::Kms`].
    pub signing_mode: SigningMode,
    /// KMS key id, ARN or alias used to sign (token) and whose public key verifies the
    /// organization's own tokens (token, and admin's explain of a chained exchange). `Some`
    /// whenever the mode is [`SigningMode::Kms`].
    pub signing_key: Option<String>,
    /// Keys still published in the JWKS during a rotation. Defaults to none.
    pub previous_signing_keys: Vec<String>,
    /// `None` means: derived from the key spec (RS256 for RSA keys, ES256 for ECC_NIST_P256).
    pub signing_alg: Option<SigningAlg>,
    /// Defaults to [`AdminAuth::Iam`].
    pub admin_auth: AdminAuth,
    /// Allows `http://` and loopback/private JWKS targets. Defaults to `false`.
    pub allow_insecure_jwks: bool,
    /// How long a warm `token` function reuses issuer/application records. Defaults to 30 s.
    pub config_cache_ttl: Duration,
}

/// A variable that is missing or malformed; its message names the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "configuration variable {}: {}",
            self.variable, self.problem
        )
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the process environment.
    pub fn from_env(function: Function) -> Result<Config, ConfigError> {
        Config::from_lookup(function, |name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`, so tests need not touch the process environment.
    /// An empty value counts as unset.
    pub fn from_lookup(
        function: Function,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let error = |variable, problem: &str| ConfigError {
            variable,
            problem: problem.to_owned(),
        };

        let table = get(TABLE).ok_or_else(|| error(TABLE, "required but not set"))?;
        let public_url = parse_public_url(
            &get(PUBLIC_URL).ok_or_else(|| error(PUBLIC_URL, "required but not set"))?,
        )
        .map_err(|problem| error(PUBLIC_URL, &problem))?;

        let signing_mode = signing_mode(&get)?;
        let signing_key = get(SIGNING_KEY);
        if signing_mode == SigningMode::Kms && signing_key.is_none() {
            let user = match function {
                Function::Token => "the token function signs with it",
                Function::Admin => "explain verifies the organization's own tokens with it",
            };
            return Err(error(
                SIGNING_KEY,
                &format!("required in kms signing mode but not set ({user})"),
            ));
        }
        let previous_signing_keys = match get(PREVIOUS_SIGNING_KEYS) {
            None => Vec::new(),
            Some(list) => {
                let keys: Vec<String> = list.split(',').map(|k| k.trim().to_owned()).collect();
                if keys.iter().any(String::is_empty) {
                    return Err(error(PREVIOUS_SIGNING_KEYS, "contains an empty key id"));
                }
                keys
            }
        };
        let signing_alg = signing_alg(&get)?;
        let admin_auth = match get(ADMIN_AUTH).as_deref() {
            None | Some("iam") => AdminAuth::Iam,
            Some("none") => AdminAuth::None,
            Some(_) => return Err(error(ADMIN_AUTH, "must be iam or none")),
        };
        let allow_insecure_jwks = match get(ALLOW_INSECURE_JWKS).as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(error(ALLOW_INSECURE_JWKS, "must be true or false")),
        };
        let config_cache_ttl = match get(CONFIG_CACHE_SECONDS) {
            None => Duration::from_secs(30),
            Some(s) => match s.parse::<u32>() {
                Ok(n) if n <= 3600 => Duration::from_secs(u64::from(n)),
                _ => {
                    return Err(error(
                        CONFIG_CACHE_SECONDS,
                        "must be a whole number of seconds, 0-3600",
                    ));
                }
            },
        };

        Ok(Config {
            table,
            public_url,
            signing_mode,
            signing_key,
            previous_signing_keys,
            signing_alg,
            admin_auth,
            allow_insecure_jwks,
            config_cache_ttl,
        })
    }

    /// What a trusted issuer's settings are validated against.
    pub fn issuer_rules(&self) -> IssuerRules<'_> {
        IssuerRules {
            allow_insecure_jwks: self.allow_insecure_jwks,
            public_url: &self.public_url,
        }
    }

    /// The issuer value of an organization: `{public_url}/t/{org}/oauth2/token`.
    pub fn organization_issuer(&self, org: &str) -> String {
        // Once per exchange: built without the formatting machinery.
        let mut issuer = String::with_capacity(self.public_url.len() + org.len() + 16);
        issuer.push_str(&self.public_url);
        issuer.push_str("/t/");
        issuer.push_str(org);
        issuer.push_str("/oauth2/token");
        issuer
    }
}

/// What the `rotate` function reads: it needs neither the public URL nor a signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationConfig {
    pub table: String,
    /// The symmetric KMS key new signing keys are encrypted under ([`WRAPPING_KEY`]).
    pub wrapping_key: String,
    /// The algorithm of the keys it makes. Defaults to RS256 (an RSA-2048 key), which every
    /// JOSE library verifies; ES256 makes P-256 keys.
    pub signing_alg: SigningAlg,
}

impl RotationConfig {
    pub fn from_env() -> Result<RotationConfig, ConfigError> {
        RotationConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`. An empty value counts as unset.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<RotationConfig, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Ok(RotationConfig {
            table: get(TABLE).ok_or_else(|| ConfigError::new(TABLE, "required but not set"))?,
            wrapping_key: get(WRAPPING_KEY).ok_or_else(|| {
                ConfigError::new(
                    WRAPPING_KEY,
                    "required by the rotate function (the key new signing keys are encrypted under)",
                )
            })?,
            signing_alg: signing_alg(&get)?.unwrap_or(SigningAlg::RS256),
        })
    }
}

impl ConfigError {
    fn new(variable: &'static str, problem: &str) -> ConfigError {
        ConfigError {
            variable,
            problem: problem.to_owned(),
        }
    }
}

fn signing_alg(get: &impl Fn(&str) -> Option<String>) -> Result<Option<SigningAlg>, ConfigError> {
    match get(SIGNING_ALG) {
        None => Ok(None),
        Some(name) => SigningAlg::parse(&name)
            .map(Some)
            .ok_or_else(|| ConfigError::new(SIGNING_ALG, "must be RS256, PS256 or ES256")),
    }
}

/// [`SIGNING_MODE`], with the wrapping key envelope mode needs (contract: "required with
/// `envelope`"; admin, which only reads the published keys, is held to it too, so one set of
/// variables configures both functions).
fn signing_mode(get: &impl Fn(&str) -> Option<String>) -> Result<SigningMode, ConfigError> {
    match get(SIGNING_MODE).as_deref() {
        None | Some("kms") => Ok(SigningMode::Kms),
        Some("envelope") => match get(WRAPPING_KEY) {
            Some(wrapping_key) => Ok(SigningMode::Envelope { wrapping_key }),
            None => Err(ConfigError::new(
                WRAPPING_KEY,
                "required with TRUSTGATE_SIGNING_MODE=envelope (the symmetric KMS key the \
                 signing keys are encrypted under)",
            )),
        },
        Some(_) => Err(ConfigError::new(SIGNING_MODE, "must be kms or envelope")),
    }
}

fn parse_public_url(raw: &str) -> Result<String, String> {
    if raw.ends_with('/') {
        return Err("must not end with a slash".into());
    }
    let url = crate::domain::uri::parse(raw).map_err(|e| format!("{e}"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err("must be an http(s) URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err("must not carry credentials, a query or a fragment".into());
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(function: Function, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(function, |name| map.get(name).cloned())
    }

    const BASE: [(&str, &str); 3] = [
        (TABLE, "trustgate"),
        (PUBLIC_URL, "https://sts.example.com"),
        (SIGNING_KEY, "alias/trustgate-signing"),
    ];

    #[test]
    fn applies_documented_defaults() {
        let config = load(Function::Token, &BASE).unwrap();
        assert_eq!(config.admin_auth, AdminAuth::Iam);
        assert!(!config.allow_insecure_jwks);
        assert_eq!(config.config_cache_ttl, Duration::from_secs(30));
        assert_eq!(config.signing_alg, None);
        assert!(config.previous_signing_keys.is_empty());
        assert_eq!(
            config.organization_issuer("acme"),
            "https://sts.example.com/t/acme/oauth2/token"
        );
    }

    #[test]
    fn names_the_missing_variable() {
        let err = load(Function::Token, &BASE[..2]).unwrap_err();
        assert_eq!(err.variable, SIGNING_KEY);
        assert!(err.to_string().contains("TRUSTGATE_SIGNING_KEY"));
        assert_eq!(
            load(Function::Admin, &BASE[1..]).unwrap_err().variable,
            TABLE
        );
    }

    #[test]
    fn both_functions_need_the_signing_key() {
        for function in [Function::Token, Function::Admin] {
            let err = load(function, &BASE[..2]).unwrap_err();
            assert_eq!(err.variable, SIGNING_KEY);
        }
        assert!(load(Function::Admin, &BASE).is_ok());
    }

    #[test]
    fn names_each_malformed_variable() {
        for (name, value) in [
            (PUBLIC_URL, "https://sts.example.com/"),
            (PUBLIC_URL, "not a url"),
            (PUBLIC_URL, "ftp://sts.example.com"),
            (SIGNING_ALG, "HS256"),
            (ADMIN_AUTH, "yes"),
            (ALLOW_INSECURE_JWKS, "1"),
            (CONFIG_CACHE_SECONDS, "-5"),
            (CONFIG_CACHE_SECONDS, "thirty"),
            (PREVIOUS_SIGNING_KEYS, "key-a,,key-b"),
        ] {
            let mut vars = BASE.to_vec();
            vars.retain(|(k, _)| *k != name);
            vars.push((name, value));
            let err = load(Function::Token, &vars).unwrap_err();
            assert_eq!(err.variable, name, "{value:?} should be refused");
        }
    }

    #[test]
    fn parses_every_variable() {
        let mut vars = BASE.to_vec();
        vars.extend([
            (PREVIOUS_SIGNING_KEYS, "key-a, key-b"),
            (SIGNING_ALG, "PS256"),
            (ADMIN_AUTH, "none"),
            (ALLOW_INSECURE_JWKS, "true"),
            (CONFIG_CACHE_SECONDS, "0"),
        ]);
        let config = load(Function::Token, &vars).unwrap();
        assert_eq!(config.previous_signing_keys, ["key-a", "key-b"]);
        assert_eq!(config.signing_alg, Some(SigningAlg::PS256));
        assert_eq!(config.admin_auth, AdminAuth::None);
        assert!(config.allow_insecure_jwks);
        assert_eq!(config.config_cache_ttl, Duration::ZERO);
    }

    #[test]
    fn kms_signing_is_the_default() {
        let config = load(Function::Token, &BASE).unwrap();
        assert_eq!(config.signing_mode, SigningMode::Kms);
        let mut vars = BASE.to_vec();
        vars.push((SIGNING_MODE, "kms"));
        assert_eq!(
            load(Function::Token, &vars).unwrap().signing_mode,
            SigningMode::Kms
        );
    }

    #[test]
    fn envelope_mode_needs_the_wrapping_key_and_no_signing_key() {
        let without_key = [BASE[0], BASE[1], (SIGNING_MODE, "envelope")];
        for function in [Function::Token, Function::Admin] {
            let err = load(function, &without_key).unwrap_err();
            assert_eq!(err.variable, WRAPPING_KEY);
            assert!(err.to_string().contains("TRUSTGATE_WRAPPING_KEY"), "{err}");
            assert!(err.to_string().contains("envelope"), "{err}");
        }
        let mut vars = without_key.to_vec();
        vars.push((WRAPPING_KEY, "alias/trustgate-wrapping"));
        let config = load(Function::Token, &vars).unwrap();
        assert_eq!(
            config.signing_mode,
            SigningMode::Envelope {
                wrapping_key: "alias/trustgate-wrapping".into()
            }
        );
        assert_eq!(config.signing_key, None);
        // kms mode still needs its key.
        let err = load(Function::Token, &[BASE[0], BASE[1], (SIGNING_MODE, "kms")]).unwrap_err();
        assert_eq!(err.variable, SIGNING_KEY);
        let err = load(
            Function::Token,
            &[BASE[0], BASE[1], (SIGNING_MODE, "local")],
        );
        assert_eq!(err.unwrap_err().variable, SIGNING_MODE);
    }

    #[test]
    fn the_rotate_function_needs_the_table_and_the_wrapping_key() {
        let rotation = |vars: &[(&str, &str)]| {
            let map: HashMap<&str, &str> = vars.iter().copied().collect();
            RotationConfig::from_lookup(|name| map.get(name).map(|v| v.to_string()))
        };
        let err = rotation(&[(TABLE, "trustgate")]).unwrap_err();
        assert_eq!(err.variable, WRAPPING_KEY);
        assert!(err.to_string().contains("TRUSTGATE_WRAPPING_KEY"));
        assert_eq!(
            rotation(&[(WRAPPING_KEY, "k")]).unwrap_err().variable,
            TABLE
        );
        let config = rotation(&[(TABLE, "t"), (WRAPPING_KEY, "k")]).unwrap();
        assert_eq!(config.signing_alg, SigningAlg::RS256);
        let config = rotation(&[(TABLE, "t"), (WRAPPING_KEY, "k"), (SIGNING_ALG, "ES256")]);
        assert_eq!(config.unwrap().signing_alg, SigningAlg::ES256);
        let err = rotation(&[(TABLE, "t"), (WRAPPING_KEY, "k"), (SIGNING_ALG, "EdDSA")]);
        assert_eq!(err.unwrap_err().variable, SIGNING_ALG);
    }
}
