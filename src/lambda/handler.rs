//! The handler: the invocation loop over an event's records, the deadline timer, and the
//! answer: per-record results ([`super::object`] converts each object), the SQS messages to
//! redeliver, or (other triggers) an error that asks Lambda to retry the event.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::lambda::backfill::{Plan, Planned};
use crate::lambda::config::LambdaConfig;
use crate::lambda::event::{parse_event, Item, Trigger};
use crate::lambda::fanout::{StartFanOut, Step};
use crate::lambda::object::{convert_object, Deps};
use crate::lambda::reconcile::{ReconcileRequest, Reinvoke};
use crate::lambda::response::{BatchItemFailure, ObjectResult, Response};
use crate::lambda::store::{ObjectStore, S3Store};
use crate::s3::{Op, S3Error};
use crate::schema::SchemaSpec;

/// Runs conversions for events; build once per process (cold start) and reuse.
#[derive(Clone)]
pub struct Handler {
    config: LambdaConfig,
    schema: Option<SchemaSpec>,
    store: Arc<dyn ObjectStore>,
    reinvoke: Option<Arc<dyn Reinvoke>>,
    fan_out: Option<Arc<dyn StartFanOut>>,
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handler")
            .field("config", &self.config)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl Handler {
    /// A handler over S3; reads the explicit schema file once if one is configured.
    pub async fn new(client: aws_sdk_s3::Client, config: LambdaConfig) -> Result<Self> {
        let schema = match &config.schema {
            Some((bucket, key)) => Some(read_schema(&client, bucket, key, &config.requests).await?),
            None => None,
        };
        // An abort at the deadline must fit the margin: a third of it for in-flight parts.
        let drain = config.deadline_margin / 3;
        let parts = config.options.validate()?.parts_in_flight;
        let store =
            Arc::new(S3Store::new(client, parts, drain).with_requests(config.requests.clone()));
        Ok(Handler {
            config,
            schema,
            store,
            reinvoke: None,
            fan_out: None,
        })
    }

    /// A handler over `store` (tests use an in-memory store).
    pub fn with_store(
        config: LambdaConfig,
        schema: Option<SchemaSpec>,
        store: Arc<dyn ObjectStore>,
    ) -> Self {
        Handler {
            config,
            schema,
            store,
            reinvoke: None,
            fan_out: None,
        }
    }

    /// Continue a reconcile pass that stops early by invoking the function again through
    /// `reinvoke` (the function itself: [`LambdaReinvoke`]).
    pub fn with_reinvoke(mut self, reinvoke: Arc<dyn Reinvoke>) -> Self {
        self.reinvoke = Some(reinvoke);
        self
    }

    /// Start fan-out executions through `start` for objects of at least
    /// `CSV2PQ_FAN_OUT_ABOVE` bytes (the function itself: [`StepFunctionsStart`]).
    pub fn with_fan_out(mut self, start: Arc<dyn StartFanOut>) -> Self {
        self.fan_out = Some(start);
        self
    }

    /// What converting an object needs, borrowed from the handler.
    fn deps(&self) -> Deps<'_> {
        Deps {
            config: &self.config,
            schema: self.schema.as_ref(),
            store: self.store.as_ref(),
            defer_deadline: false,
            fan_out: self.fan_out.as_deref(),
        }
    }

    /// The backfill plan for the objects under `s3://bucket/prefix` ([`super::backfill`]).
    pub async fn plan_backfill(&self, bucket: &str, prefix: &str) -> Result<Plan> {
        self.deps().plan(bucket, prefix).await
    }

    /// Convert `plan`'s objects, `concurrency` at once (see [`super::backfill::split_config`]
    /// for the memory each may use); `done` sees each result as it completes. `cancel`
    /// stops the conversions under way (their uploads are aborted).
    pub async fn backfill(
        &self,
        plan: &Plan,
        concurrency: usize,
        cancel: &CancellationToken,
        done: impl FnMut(&Planned, ObjectResult),
    ) {
        self.deps()
            .convert_planned(&plan.bucket, &plan.convert, concurrency, cancel, done)
            .await;
    }

    /// Handle one invocation payload, as JSON (see [`Handler::handle_event`]).
    pub async fn handle(&self, payload: &Value, deadline: Option<Instant>) -> Result<Value> {
        if let Some(step) = Step::from_payload(payload) {
            return self.fan_out_step(step?, deadline).await;
        }
        let response = self.handle_event(payload, deadline).await?;
        serde_json::to_value(&response).map_err(|e| Error::Internal(format!("response: {e}")))
    }

    /// Handle one invocation payload. `deadline` is when the invocation times out. Returns the
    /// per-record results (and for SQS the messages to redeliver); for other triggers, a
    /// record that needs a retry makes it an `Err` (the first such record's error), which asks
    /// Lambda to retry the whole event.
    pub async fn handle_event(
        &self,
        payload: &Value,
        deadline: Option<Instant>,
    ) -> Result<Response> {
        if let Some(request) = ReconcileRequest::from_payload(payload) {
            return self.reconcile(&request?, deadline).await;
        }
        let parsed = match parse_event(payload) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring an event this function does not handle");
                return Ok(Response {
                    ignored: Some(e.to_string()),
                    ..Response::default()
                });
            }
        };
        let cancel = CancellationToken::new();
        let timer = deadline.map(|d| self.deadline_timer(d, cancel.clone()));
        let deps = self.deps();
        let mut response = Response::default();
        let mut failures: Vec<BatchItemFailure> = Vec::new();
        let mut retry: Option<Error> = None;
        for record in &parsed.records {
            let mut result = match &record.item {
                Item::Convert(object) => convert_object(&deps, object, &cancel).await,
                Item::Ignored(reason) => ignored(
                    reason,
                    ObjectResult::Ignored {
                        reason: reason.clone(),
                    },
                ),
                Item::Malformed(reason) => ignored(
                    reason,
                    ObjectResult::Malformed {
                        reason: reason.clone(),
                    },
                ),
            };
            if result.needs_retry() {
                match &record.sqs_message_id {
                    Some(id) => push_unique(&mut failures, id),
                    None => retry = retry.or_else(|| result.take_error()),
                }
            }
            response.results.push(result);
        }
        if let Some(t) = timer {
            t.abort();
        }
        if parsed.trigger == Trigger::Sqs {
            response.batch_item_failures = Some(failures);
        } else if let Some(error) = retry {
            return Err(error);
        }
        Ok(response)
    }

    /// One invocation of a reconcile pass ([`super::reconcile`]); invokes the function again
    /// when it stops before the end.
    async fn reconcile(
        &self,
        request: &ReconcileRequest,
        deadline: Option<Instant>,
    ) -> Result<Response> {
        let cancel = CancellationToken::new();
        let timer = deadline.map(|d| self.deadline_timer(d, cancel.clone()));
        let mut response = Response::default();
        let done = self
            .deps()
            .reconcile(request, deadline, &cancel, &mut response.results)
            .await;
        if let Some(t) = timer {
            t.abort();
        }
        let mut report = done?;
        if let (Some(key), Some(reinvoke)) = (&report.next_start_after, &self.reinvoke) {
            reinvoke
                .reinvoke(&request.continued_after(key.clone()))
                .await?;
            report.reinvoked = true;
        }
        tracing::info!(
            bucket = %report.bucket, prefix = %report.prefix, round = report.round,
            listed = report.listed, converted = report.tally.converted,
            failed = report.tally.failed + report.tally.bad_input,
            next = report.next_start_after.as_deref().unwrap_or(""),
            reinvoked = report.reinvoked, "reconcile"
        );
        response.reconcile = Some(report);
        Ok(response)
    }

    /// Cancel `cancel` the deadline margin before `deadline`.
    /// Run a fan-out step ([`super::fanout`]); its answer is the step's output. A transient
    /// failure is the invocation's error, which the state machine retries.
    pub async fn fan_out_step(&self, step: Step, deadline: Option<Instant>) -> Result<Value> {
        let cancel = CancellationToken::new();
        let timer = deadline.map(|d| self.deadline_timer(d, cancel.clone()));
        let answer = self.deps().fan_out_step(step, &cancel).await;
        if let Some(t) = timer {
            t.abort();
        }
        answer
    }

    fn deadline_timer(
        &self,
        deadline: Instant,
        cancel: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let at = deadline
            .checked_sub(self.config.deadline_margin)
            .unwrap_or(deadline);
        tokio::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            cancel.cancel();
        })
    }
}

fn ignored(reason: &str, result: ObjectResult) -> ObjectResult {
    tracing::info!(reason, "ignored record");
    result
}

fn push_unique(failures: &mut Vec<BatchItemFailure>, id: &str) {
    if !failures.iter().any(|f| f.item_identifier == id) {
        failures.push(BatchItemFailure {
            item_identifier: id.to_string(),
        });
    }
}

/// Invokes this function (`AWS_LAMBDA_FUNCTION_NAME`) again, asynchronously
/// (`InvocationType: Event`).
#[derive(Debug, Clone)]
pub struct LambdaReinvoke {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl LambdaReinvoke {
    /// Invoke `function` through `client`.
    pub fn new(client: aws_sdk_lambda::Client, function: impl Into<String>) -> Self {
        LambdaReinvoke {
            client,
            function: function.into(),
        }
    }
}

#[async_trait::async_trait]
impl Reinvoke for LambdaReinvoke {
    async fn reinvoke(&self, payload: &Value) -> Result<()> {
        let body =
            serde_json::to_vec(payload).map_err(|e| Error::Internal(format!("payload: {e}")))?;
        self.client
            .invoke()
            .function_name(&self.function)
            .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
            .payload(aws_sdk_lambda::primitives::Blob::new(body))
            .send()
            .await
            .map_err(|e| Error::Store {
                op: "Invoke".into(),
                location: format!("function {}", self.function),
                retryable: true,
                kind: crate::error::ErrorKind::Io,
                source: aws_sdk_lambda::error::DisplayErrorContext(e)
                    .to_string()
                    .into(),
            })?;
        Ok(())
    }
}

/// Read the explicit schema file `s3://bucket/key` (`CSV2PQ_SCHEMA`).
async fn read_schema(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    requests: &crate::s3::RequestOptions,
) -> Result<SchemaSpec> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_expected_bucket_owner(requests.expected_bucket_owner.clone())
        .send()
        .await
        .map_err(|e| {
            S3Error::request(Op::GetObject, format!("s3://{bucket}/{key}"), e)
                .for_purpose("CSV2PQ_SCHEMA")
        })?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| Error::config("CSV2PQ_SCHEMA", e.to_string()))?;
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| Error::config("CSV2PQ_SCHEMA", "not UTF-8"))?;
    SchemaSpec::from_json(&text).map_err(|e| Error::config("CSV2PQ_SCHEMA", e.to_string()))
}

/// Time left until `deadline_ms` (milliseconds since the Unix epoch, as Lambda gives it).
pub fn deadline_from_epoch_ms(deadline_ms: u64) -> Option<Instant> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    Some(Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;
    use crate::lambda::store::memory::MemoryStore;

    fn handler(store: &MemoryStore) -> Handler {
        let vars: HashMap<String, String> = HashMap::new();
        let config = LambdaConfig::from_vars(|k| vars.get(k).cloned()).unwrap();
        Handler::with_store(config, None, Arc::new(store.clone()))
    }

    fn s3_record(key: &str) -> Value {
        json!({"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
               "s3": {"bucket": {"name": "b"}, "object": {"key": key}}})
    }

    fn sqs(id: &str, body: Value) -> Value {
        json!({"messageId": id, "eventSource": "aws:sqs", "body": body.to_string()})
    }

    #[tokio::test]
    async fn sqs_batches_list_each_message_to_retry_once() {
        let store = MemoryStore::default();
        store.put("b", "incoming/ok.csv", b"a\n1\n", "e1");
        store.put("b", "incoming/t1.csv", b"a\n1\n", "e1");
        store.put("b", "incoming/t2.csv", b"a\n1\n", "e1");
        // Both records of m2 fail transiently; m3's object is gone (permanent: reported, not
        // redelivered).
        store.fail_heads(2);
        let event = json!({"Records": [
            sqs("m2", json!({"Records": [s3_record("incoming/t1.csv"), s3_record("incoming/t2.csv")]})),
            sqs("m3", json!({"Records": [s3_record("incoming/gone.csv")]})),
            sqs("m1", json!({"Records": [s3_record("incoming/ok.csv")]})),
        ]});
        let r = handler(&store).handle(&event, None).await.unwrap();
        assert_eq!(r["results"][0]["retryable"], true, "{r}");
        assert_eq!(r["results"][1]["retryable"], true, "{r}");
        assert_eq!(r["results"][2]["outcome"], "failed", "{r}");
        assert_eq!(r["results"][2]["retryable"], false, "{r}");
        assert_eq!(
            r["results"][2]["report"],
            "s3://b/failed/gone.csv.error.json"
        );
        assert_eq!(r["results"][3]["outcome"], "converted", "{r}");
        assert_eq!(r["batchItemFailures"], json!([{"itemIdentifier": "m2"}]));
    }

    #[tokio::test]
    async fn other_triggers_fail_the_invocation_only_for_what_a_retry_can_fix() {
        let store = MemoryStore::default();
        let event = json!({"Records": [s3_record("incoming/gone.csv")]});
        let r = handler(&store).handle(&event, None).await.unwrap();
        assert_eq!(r["results"][0]["outcome"], "failed", "{r}");
        assert!(store.get("b", "failed/gone.csv.error.json").is_some());
        store.put("b", "incoming/t.csv", b"a\n1\n", "e1");
        store.fail_heads(1);
        let event = json!({"Records": [s3_record("incoming/t.csv")]});
        let err = handler(&store).handle(&event, None).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert!(err.to_string().contains("HeadObject"), "{err}");
        let unknown = json!({"hello": "world"});
        let r = handler(&store).handle(&unknown, None).await.unwrap();
        assert_eq!(r["results"], json!([]));
        assert!(r["ignored"].is_string(), "{r}");
    }
}
