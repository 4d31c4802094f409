//! How a failed invocation reports itself to Lambda: a [`Diagnostic`] whose `errorType` is the
//! error's stable kind (`bad_input`, `config`, `io`, `limit`, `cancelled`, `internal`) and
//! whose message is the whole cause chain and whether a retry may succeed.

use lambda_runtime::Diagnostic;

use crate::error::{error_chain, Error};

impl From<Error> for Diagnostic {
    fn from(e: Error) -> Self {
        Diagnostic {
            error_type: e.kind().as_str().to_string(),
            error_message: format!("{} (retryable: {})", error_chain(&e), e.is_retryable()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_carry_the_stable_kind() {
        let d = Diagnostic::from(Error::config("CSV2PQ_ON_ERROR", "bad"));
        assert_eq!(d.error_type, "config");
        assert_eq!(
            d.error_message,
            "invalid CSV2PQ_ON_ERROR: bad (retryable: false)"
        );
    }
}
