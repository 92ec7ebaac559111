//! The successful token response (RFC 6749 §5.1, RFC 8693 §2.2.1).

use serde::Serialize;

use crate::token::Issued;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub issued_token_type: &'static str,
    pub token_type: &'static str,
    pub expires_in: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl From<Issued> for TokenResponse {
    fn from(issued: Issued) -> TokenResponse {
        TokenResponse {
            access_token: issued.access_token,
            issued_token_type: issued.issued_token_type.as_str(),
            token_type: "Bearer",
            expires_in: issued.expires_in,
            refresh_token: issued.refresh_token.map(|s| s.expose().to_owned()),
        }
    }
}
