//! OAuth wire shapes: the token request form, client authentication, the token response and
//! the RFC 6749 §5.2 error.

pub mod client_auth;
pub mod error;
pub mod form;

pub use error::{ErrorCode, OAuthError};
