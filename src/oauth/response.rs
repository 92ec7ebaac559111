//! The successful token response (RFC 6749 §5.1, RFC 8693 §2.2.1).

use std::fmt::Write as _;

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
    /// RFC 8693 §2.2.1; absent when nothing is granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl From<Issued> for TokenResponse {
    fn from(issued: Issued) -> TokenResponse {
        TokenResponse {
            access_token: issued.access_token,
            issued_token_type: issued.issued_token_type.as_str(),
            token_type: "Bearer",
            expires_in: issued.expires_in,
            refresh_token: issued.refresh_token.map(|s| s.expose().to_owned()),
            scope: issued.scope,
        }
    }
}

impl TokenResponse {
    /// The response body, as serde_json writes this struct, faster: the tokens (a compact JWS,
    /// a base64url refresh token) hold nothing JSON escapes, so once that is checked they are
    /// copied as they are. Escaping the access token byte by byte was a tenth of a warm
    /// exchange's own work.
    pub fn to_json(&self) -> String {
        let refresh_len = self.refresh_token.as_ref().map_or(0, String::len);
        let mut out = String::with_capacity(self.access_token.len() + refresh_len + 192);
        out.push_str("{\"access_token\":");
        push_token(&mut out, &self.access_token);
        out.push_str(",\"issued_token_type\":");
        push_str(&mut out, self.issued_token_type);
        out.push_str(",\"token_type\":");
        push_str(&mut out, self.token_type);
        out.push_str(",\"expires_in\":");
        let _ = write!(out, "{}", self.expires_in);
        if let Some(refresh_token) = &self.refresh_token {
            out.push_str(",\"refresh_token\":");
            push_token(&mut out, refresh_token);
        }
        if let Some(scope) = &self.scope {
            out.push_str(",\"scope\":");
            push_str(&mut out, scope);
        }
        out.push('}');
        out
    }
}

/// A token as a JSON string: copied when it is base64url text and dots (nothing to escape),
/// else escaped as any string.
fn push_token(out: &mut String, token: &str) {
    let plain = token.bytes().fold(true, |ok, b| {
        ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_') | (b == b'.'))
    });
    if plain {
        out.push('"');
        out.push_str(token);
        out.push('"');
    } else {
        push_str(out, token);
    }
}

fn push_str(out: &mut String, text: &str) {
    out.push_str(&serde_json::to_string(text).expect("a string serializes"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_what_serde_json_writes() {
        let jws = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_";
        for (access_token, refresh_token, scope) in [
            (jws, None, None),
            (jws, Some("AbC-_09"), Some("read write")),
            ("not \"a\" token\n\u{1}é", Some("also \\ not"), Some("a\"b")),
            ("", Some(""), None),
        ] {
            let response = TokenResponse {
                access_token: access_token.to_owned(),
                issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
                token_type: "Bearer",
                expires_in: 3600,
                refresh_token: refresh_token.map(str::to_owned),
                scope: scope.map(str::to_owned),
            };
            assert_eq!(
                response.to_json(),
                serde_json::to_string(&response).unwrap()
            );
        }
    }
}
