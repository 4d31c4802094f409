//! Starting a fan-out: an event's object of at least `CSV2PQ_FAN_OUT_ABOVE` bytes is handed
//! to the state machine instead of being converted in the invocation.

use serde_json::{json, Value};

use crate::config::{fnv1a, InputCompression, OnError};
use crate::decode::compression;
use crate::error::{Error, Result};
use crate::lambda::event::ObjectRef;
use crate::lambda::object::{Deps, Target};
use crate::lambda::response::ObjectResult;
use crate::source::SourceInfo;
use crate::ConvertOptions;

/// Starts an execution of the fan-out state machine.
#[async_trait::async_trait]
pub trait StartFanOut: Send + Sync {
    /// Start an execution of `state_machine` named `name` with `input`; returns its ARN. A
    /// name already used answers with that execution (a duplicate event), not an error.
    async fn start(&self, state_machine: &str, name: &str, input: &Value) -> Result<String>;
}

/// [`StartFanOut`] through AWS Step Functions.
#[derive(Debug, Clone)]
pub struct StepFunctionsStart {
    client: aws_sdk_sfn::Client,
}

impl StepFunctionsStart {
    /// Start executions with `client`.
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        StepFunctionsStart { client }
    }
}

#[async_trait::async_trait]
impl StartFanOut for StepFunctionsStart {
    async fn start(&self, state_machine: &str, name: &str, input: &Value) -> Result<String> {
        let started = self
            .client
            .start_execution()
            .state_machine_arn(state_machine)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match started {
            Ok(out) => Ok(out.execution_arn().to_string()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_already_exists()) =>
            {
                // A finished execution of that name (the same object, ETag and options): it
                // converted this input already, or reported why not.
                Ok(format!("{}:{name}", execution_prefix(state_machine)))
            }
            Err(e) => Err(Error::Store {
                op: "StartExecution".into(),
                location: state_machine.to_string(),
                retryable: true,
                kind: crate::error::ErrorKind::Io,
                source: aws_sdk_sfn::error::DisplayErrorContext(e)
                    .to_string()
                    .into(),
            }),
        }
    }
}

/// `arn:...:execution:NAME` for `arn:...:stateMachine:NAME`.
fn execution_prefix(state_machine: &str) -> String {
    state_machine.replacen(":stateMachine:", ":execution:", 1)
}

/// The execution name of `object` at `etag` with the options `fingerprint`: at most 80 of
/// `[A-Za-z0-9_-]`, the same for a duplicate event and new for a new version or new options.
pub fn execution_name(object: &ObjectRef, etag: Option<&str>, fingerprint: &str) -> String {
    let text = format!(
        "{}\n{}\n{}\n{}",
        object.bucket,
        object.key,
        etag.unwrap_or(""),
        fingerprint
    );
    let tail: String = object
        .key
        .rsplit('/')
        .next()
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    format!("csv2pq-{:016x}-{tail}", fnv1a(text.as_bytes()))
}

/// Why `object` is not fanned out although it is large enough, or `None` when it can be.
fn why_not(
    object: &ObjectRef,
    info: &SourceInfo,
    options: &ConvertOptions,
) -> Option<&'static str> {
    if matches!(options.on_error, OnError::Reject | OnError::Widen) {
        return Some("on_error reject and widen are not supported with a fan-out");
    }
    let compressed = !matches!(
        options.input_compression,
        InputCompression::Auto | InputCompression::None
    ) || compression::from_name(&object.key).is_some()
        || info
            .content_encoding
            .as_deref()
            .is_some_and(|e| !e.eq_ignore_ascii_case("identity"));
    compressed.then_some("a compressed input cannot be cut into ranges")
}

impl Deps<'_> {
    /// Start a fan-out for `object` when it is at least `CSV2PQ_FAN_OUT_ABOVE` bytes and can
    /// be cut; `None` converts it here.
    pub(crate) async fn start_fan_out(
        &self,
        object: &ObjectRef,
        target: &Target,
        info: &SourceInfo,
        options: &ConvertOptions,
    ) -> Option<ObjectResult> {
        let config = self.config.fan_out.as_ref()?;
        let (Some(start), Some(machine)) = (self.fan_out, config.state_machine.as_deref()) else {
            return None;
        };
        if info.size? < config.above {
            return None;
        }
        if let Some(reason) = why_not(object, info, options) {
            tracing::info!(input = %target.input, reason, "converting a large object in one invocation");
            return None;
        }
        let etag = info.etag.as_deref().map(|e| e.trim_matches('"'));
        let name = execution_name(object, etag, &options.fingerprint());
        let input = json!({
            "bucket": object.bucket,
            "key": object.key,
            "version_id": object.version_id,
        });
        Some(match start.start(machine, &name, &input).await {
            Ok(execution) => {
                tracing::info!(outcome = "fanned_out", input = %target.input, execution = %execution, "object");
                ObjectResult::FannedOut {
                    input: target.input.clone(),
                    output: target.output.clone(),
                    execution,
                }
            }
            Err(e) => ObjectResult::Failed(crate::lambda::response::Failed::new(
                target.input.clone(),
                e,
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str) -> ObjectRef {
        ObjectRef::named("b", key, "ObjectCreated:Put")
    }

    #[test]
    fn execution_names_are_valid_and_follow_the_version_and_options() {
        let a = execution_name(&object("in/2026/ventes été.csv"), Some("e1"), "o1");
        assert!(a.len() <= 80, "{a}");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{a}"
        );
        assert_eq!(
            a,
            execution_name(&object("in/2026/ventes été.csv"), Some("e1"), "o1")
        );
        assert_ne!(
            a,
            execution_name(&object("in/2026/ventes été.csv"), Some("e2"), "o1")
        );
        assert_ne!(
            a,
            execution_name(&object("in/2026/ventes été.csv"), Some("e1"), "o2")
        );
        assert_eq!(
            execution_prefix("arn:aws:states:eu-west-1:1:stateMachine:s-fanout"),
            "arn:aws:states:eu-west-1:1:execution:s-fanout"
        );
    }

    #[test]
    fn compressed_inputs_and_reject_are_not_fanned_out() {
        let info = SourceInfo::default();
        let options = ConvertOptions::default();
        assert_eq!(why_not(&object("a.csv"), &info, &options), None);
        assert!(why_not(&object("a.csv.gz"), &info, &options).is_some());
        let reject = ConvertOptions {
            on_error: OnError::Reject,
            ..ConvertOptions::default()
        };
        assert!(why_not(&object("a.csv"), &info, &reject).is_some());
    }
}
