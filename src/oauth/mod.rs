//! OAuth wire shapes of the token endpoint: the form, client credentials, the typed token
//! request, the token response and the RFC 6749 §5.2 error.

pub mod client_auth;
pub mod error;
pub mod form;
pub mod presented;
pub mod request;
pub mod response;

pub use error::{ErrorCode, OAuthError};
