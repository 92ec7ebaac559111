//! What can go wrong, each with the exit code scripts rely on (`trustgate --help`, README):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | the API refused the request (4xx); its problem detail is printed |
//! | 2 | usage or local set-up: bad flags, unreadable file, no credentials or region |
//! | 3 | the API cannot be reached, timed out, or failed (5xx) |
//! | 4 | explain denied, or a token did not verify |
//!
//! Every message says what to fix. None repeats a secret or a token.

use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input or local configuration; the message names the flag, file or variable.
    #[error("{0}")]
    Usage(String),
    /// A 4xx answer: the status and the problem details' title and detail.
    #[error("the API refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
    /// No answer, a transport failure, or a 5xx.
    #[error("{0}")]
    Unavailable(String),
    /// explain said deny, or a token failed verification.
    #[error("{0}")]
    Denied(String),
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage(message.into())
    }

    pub fn code(&self) -> u8 {
        match self {
            CliError::Refused { .. } => 1,
            CliError::Usage(_) => 2,
            CliError::Unavailable(_) => 3,
            CliError::Denied(_) => 4,
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_failure_has_its_documented_exit_code() {
        let refused = CliError::Refused {
            status: 404,
            message: "x".into(),
        };
        assert_eq!(refused.code(), 1);
        assert_eq!(CliError::usage("x").code(), 2);
        assert_eq!(CliError::Unavailable("x".into()).code(), 3);
        assert_eq!(CliError::Denied("x".into()).code(), 4);
    }
}
