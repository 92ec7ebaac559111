//! The token function under test: a stack of real adapters against the emulator, an issuer
//! whose JWKS the test serves itself, and helpers to sign subject tokens and send requests.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm as Jws, DecodingKey, EncodingKey};
use lambda_http::http::{HeaderMap, StatusCode};
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use trustgate::aws::kms::KmsSigner;
use trustgate::aws::table::{Condition, Item, Key, Table};
use trustgate::config::{self, Config, Function};
use trustgate::domain::application::{
    AppType, Application, ApplicationSettings, GrantType, hash_secret,
};
use trustgate::domain::issuer::{Algorithm, IssuerSettings, TrustedIssuer};
use trustgate::domain::organization::Organization;
use trustgate::domain::{now_epoch, random_hex};
use trustgate::http::token::TokenApp;
use trustgate::keys::KeySource;
use trustgate::metrics::AwsCalls;
use trustgate::ports::{ConfigStore, Signer};
use trustgate::secret::Secret;
use trustgate::token::{Ports, TokenService};

use super::jwks_server::{JwksServer, Reply as JwksReply};
use super::keys::{EC_P256, RSA_2048, jwks};
use super::{TestApp, unique};

pub const PUBLIC_URL: &str = "https://sts.example.com";
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

// ---------------------------------------------------------------------------------------------
// The stack under test.

pub struct Stack {
    pub app: TestApp,
    pub org: String,
    pub issuer: TrustedIssuer,
    pub jwks: JwksServer,
    /// A confidential `web` application with the token-exchange grant.
    pub client_id: String,
    pub secret: String,
    pub token: TokenApp,
}

pub fn config(app: &TestApp, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<&str, String> = HashMap::from([
        (config::TABLE, app.table_name.clone()),
        (config::PUBLIC_URL, PUBLIC_URL.to_owned()),
        (config::SIGNING_KEY, super::admin::signing_key()),
        (config::ALLOW_INSECURE_JWKS, "true".to_owned()),
    ]);
    for (k, v) in extra {
        vars.insert(k, v.to_string());
    }
    Config::from_lookup(Function::Token, |name| vars.get(name).cloned()).unwrap()
}

pub fn kms_signer(app: &TestApp, config: &Config) -> KmsSigner {
    KmsSigner::new(
        app.kms.clone(),
        config.signing_key.clone().expect("kms signing mode"),
        config.previous_signing_keys.clone(),
        config.signing_alg,
    )
}

/// The token function over `store` and `signer`, with refresh tokens in the test table.
pub fn token_app(
    app: &TestApp,
    config: Config,
    store: Arc<dyn ConfigStore>,
    signer: Arc<dyn Signer>,
) -> TokenApp {
    let ports = Ports {
        config_store: store,
        replay_log: Arc::new(app.table.clone()),
        refresh_store: Arc::new(app.table.clone()),
        revocations: Arc::new(app.table.clone()),
        lineage: Arc::new(app.table.clone()),
        refresh_reads: Arc::new(app.table.clone()),
        failure_log: Arc::new(app.table.clone()),
        signer,
        keys: Arc::new(KeySource::new(config.allow_insecure_jwks)),
        clock: Arc::new(trustgate::ports::SystemClock),
    };
    TokenApp {
        service: TokenService::new(config, ports),
    }
}

pub async fn put<T: serde::Serialize>(table: &Table, key: Key, record: &T) {
    table
        .put(
            &key,
            Item::from_record(record, None).unwrap(),
            Condition::Absent,
        )
        .await
        .unwrap();
}

pub fn issuer_record(name: &str, iss: &str) -> TrustedIssuer {
    TrustedIssuer {
        id: random_hex(16),
        settings: IssuerSettings {
            name: name.into(),
            issuer: iss.into(),
            alias: Some(format!("{iss}/alias")),
            jwks_uri: None,
            certificate: None,
            allowed_algorithms: Algorithm::ALL.to_vec(),
            clock_skew_seconds: 60,
            max_token_age_seconds: None,
            require_jti: false,
            enabled: true,
            condition: None,
            subject: None,
            claim_mappings: Default::default(),
        },
        created_at: String::new(),
        updated_at: String::new(),
    }
}

pub fn application(app_type: AppType, grants: &[GrantType], secret: Option<&str>) -> Application {
    Application {
        client_id: random_hex(16),
        settings: ApplicationSettings {
            name: "app".into(),
            app_type,
            grant_types: grants.to_vec(),
            access_token_ttl_seconds: 900,
            refresh_token_ttl_seconds: 86_400,
            enabled: true,
            allowed_issuers: None,
            allowed_audiences: Vec::new(),
            allowed_scopes: Vec::new(),
            delegation: None,
        },
        secret_hash: secret.map(|s| hash_secret(&Secret::new(s))),
        created_at: String::new(),
        updated_at: String::new(),
    }
}

impl Stack {
    pub async fn new() -> Stack {
        Stack::with_config(&[]).await
    }

    pub async fn with_config(extra: &[(&str, &str)]) -> Stack {
        let app = TestApp::new().await;
        let org = unique("org");
        put(
            &app.table,
            Key::organization(&org),
            &Organization {
                name: org.clone(),
                created_at: String::new(),
            },
        )
        .await;
        let jwks = JwksServer::start(JwksReply::json(jwks(&[
            RSA_2048.jwk("rsa-1"),
            EC_P256.jwk("ec-1"),
        ])))
        .await;
        let mut issuer = issuer_record("idp", &format!("https://idp.example.com/{org}"));
        issuer.jwks_uri = Some(jwks.url());
        put(&app.table, Key::trusted_issuer(&org, &issuer.id), &issuer).await;

        let secret = random_hex(32);
        let web = application(AppType::Web, &[GrantType::TokenExchange], Some(&secret));
        put(&app.table, Key::application(&org, &web.client_id), &web).await;

        let config = config(&app, extra);
        let signer = Arc::new(kms_signer(&app, &config));
        let token = token_app(&app, config, Arc::new(app.table.clone()), signer);
        Stack {
            app,
            org,
            issuer,
            jwks,
            client_id: web.client_id,
            secret,
            token,
        }
    }

    pub fn org_issuer(&self) -> String {
        format!("{PUBLIC_URL}/t/{}/oauth2/token", self.org)
    }

    pub fn token_path(&self) -> String {
        format!("/t/{}/oauth2/token", self.org)
    }

    /// Claims of a valid subject token for this stack.
    pub fn claims(&self) -> Value {
        let now = now_epoch();
        json!({
            "iss": self.issuer.issuer, "sub": "user-42", "aud": self.org_issuer(),
            "exp": now + 300, "iat": now, "email": "user@example.com",
        })
    }

    pub async fn add_application(&self, application: &Application) {
        put(
            &self.app.table,
            Key::application(&self.org, &application.client_id),
            application,
        )
        .await;
    }

    /// Writes `application` over the stored one (the admin API's patch, without its checks).
    pub async fn replace_application(&self, application: &Application) {
        let key = Key::application(&self.org, &application.client_id);
        let item = Item::from_record(application, None).unwrap();
        self.app
            .table
            .put(&key, item, Condition::None)
            .await
            .unwrap();
    }

    pub async fn add_issuer(&self, issuer: &TrustedIssuer) {
        put(
            &self.app.table,
            Key::trusted_issuer(&self.org, &issuer.id),
            issuer,
        )
        .await;
    }

    /// A token-exchange request with Basic authentication.
    pub fn exchange_request(&self, subject_token: &str) -> Request {
        form_request(
            &self.token_path(),
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", subject_token),
                ("subject_token_type", JWT_TYPE),
            ],
            Some((&self.client_id, &self.secret)),
        )
    }

    pub async fn exchange(&self, subject_token: &str) -> Reply {
        call(&self.token, self.exchange_request(subject_token)).await
    }

    /// The service's JWKS, as a client would fetch it.
    pub async fn service_jwks(&self) -> Value {
        let reply = call(&self.token, get(&format!("/t/{}/oauth2/jwks", self.org))).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body
    }

    /// Verifies an issued token with the service's published keys and returns its claims.
    pub async fn verify_issued(&self, access_token: &str) -> (Value, Value) {
        self.verify_issued_to(access_token, &self.client_id).await
    }

    /// Verifies a token issued to `client_id` with the service's published keys.
    pub async fn verify_issued_to(&self, access_token: &str, client_id: &str) -> (Value, Value) {
        let jwks = self.service_jwks().await;
        let header = jsonwebtoken::decode_header(access_token).unwrap();
        let kid = header.kid.clone().expect("issued tokens carry a kid");
        let key = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .expect("kid published");
        let decoding = match key["kty"].as_str().unwrap() {
            "RSA" => DecodingKey::from_rsa_components(
                key["n"].as_str().unwrap(),
                key["e"].as_str().unwrap(),
            )
            .unwrap(),
            _ => DecodingKey::from_ec_components(
                key["x"].as_str().unwrap(),
                key["y"].as_str().unwrap(),
            )
            .unwrap(),
        };
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_audience(&[client_id]);
        validation.set_issuer(&[self.org_issuer()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Value>(access_token, &decoding, &validation)
            .expect("issued token verifies");
        (serde_json::to_value(&data.header).unwrap(), data.claims)
    }
}

// ---------------------------------------------------------------------------------------------
// Requests.

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    /// The AWS calls the request made, counted by the clients' interceptor.
    pub calls: AwsCalls,
}

pub fn form_request(path: &str, params: &[(&str, &str)], basic: Option<(&str, &str)>) -> Request {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials = STANDARD.encode(format!("{}:{}", encode(id), encode(secret)));
        builder = builder.header("authorization", format!("Basic {credentials}"));
    }
    builder.body(Body::Text(body)).unwrap()
}

pub fn get(path: &str) -> Request {
    lambda_http::http::Request::builder()
        .method("GET")
        .uri(path)
        .body(Body::Empty)
        .unwrap()
}

pub async fn call(app: &TokenApp, request: Request) -> Reply {
    let response = app.handle(request).await;
    let (parts, body) = response.into_parts();
    let body = match body {
        Body::Text(text) => serde_json::from_str(&text).unwrap(),
        Body::Binary(bytes) => serde_json::from_slice(&bytes).unwrap(),
        _ => Value::Null,
    };
    Reply {
        calls: *parts
            .extensions
            .get::<AwsCalls>()
            .expect("TokenApp::handle attaches the AWS call counts"),
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

pub fn assert_error(reply: &Reply, status: StatusCode, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["error"], error, "{}", reply.body);
    assert!(reply.body["error_description"].is_string());
    assert_eq!(reply.headers.get("cache-control").unwrap(), "no-store");
}

// ---------------------------------------------------------------------------------------------
// Subject tokens.

/// A token from raw header and payload JSON, signed over exactly those bytes.
pub fn sign_raw(alg: Jws, key_pem: &str, header: &str, payload: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let key = match alg {
        Jws::ES256 => EncodingKey::from_ec_pem(key_pem.as_bytes()).unwrap(),
        Jws::HS256 => EncodingKey::from_secret(key_pem.as_bytes()),
        _ => EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap(),
    };
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, alg).unwrap();
    format!("{input}.{signature}")
}

/// DynamoDB and KMS clients whose endpoint is `endpoint` (set on the service configuration,
/// which wins over `AWS_ENDPOINT_URL`).
pub async fn dead_clients(endpoint: &str) -> (aws_sdk_dynamodb::Client, aws_sdk_kms::Client) {
    let sdk = trustgate::aws::sdk_config();
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .endpoint_url(endpoint)
        .build();
    let kms = aws_sdk_kms::config::Builder::from(&sdk)
        .endpoint_url(endpoint)
        .build();
    (
        aws_sdk_dynamodb::Client::from_conf(dynamodb),
        aws_sdk_kms::Client::from_conf(kms),
    )
}

/// The address of a port on 127.0.0.1 that nothing listens on.
pub fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// `request` as if API Gateway had received it from `ip`.
pub fn from_source(request: Request, ip: &str) -> Request {
    use lambda_http::RequestExt;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(ip.to_owned());
    request.with_request_context(lambda_http::request::RequestContext::ApiGatewayV2(context))
}
