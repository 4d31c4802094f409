//! The handler: for each object in an event, route it, skip it if its output is already up to
//! date, convert it s3 -> s3, and classify the outcome. Bad input gets an error report under the
//! failed prefix and completes (retrying bad data is pointless); transient failures are returned
//! as errors so that Lambda (or SQS) retries them.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::error::{error_chain, Error, ErrorKind, Result};
use crate::lambda::config::LambdaConfig;
use crate::lambda::event::{parse_event, Item, ObjectRef, Trigger};
use crate::lambda::routing::Route;
use crate::s3::{plan_ranges, Op, S3Error, S3Sink, S3Source};
use crate::schema::SchemaSpec;
use crate::source::ByteSource;
use crate::Converter;

/// Metadata key (as stored by S3) recording the source ETag of an output.
const SOURCE_ETAG_META: &str = "csv2parquet-source-etag";

/// Runs conversions for events; build once per process (cold start) and reuse.
#[derive(Debug, Clone)]
pub struct Handler {
    client: aws_sdk_s3::Client,
    config: LambdaConfig,
    schema: Option<SchemaSpec>,
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Converted.
    Converted,
    /// Not converted (loop guard, prefix, event type, already up to date).
    Skipped,
    /// Bad input: error report written, not retried.
    Rejected,
    /// Transient or internal failure: retry.
    Failed,
}

impl Handler {
    /// A handler; reads the explicit schema file once if one is configured.
    pub async fn new(client: aws_sdk_s3::Client, config: LambdaConfig) -> Result<Self> {
        let schema = match &config.schema {
            Some((bucket, key)) => {
                let out = client
                    .get_object()
                    .bucket(bucket)
                    .key(key)
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
                Some(
                    SchemaSpec::from_json(&text)
                        .map_err(|e| Error::config("CSV2PQ_SCHEMA", e.to_string()))?,
                )
            }
            None => None,
        };
        Ok(Handler {
            client,
            config,
            schema,
        })
    }

    /// Handle one invocation payload. `deadline` is when the invocation times out. Returns the
    /// JSON response (per-object results, and `batchItemFailures` for SQS); an `Err` asks Lambda
    /// to retry the whole event.
    pub async fn handle(&self, payload: &Value, deadline: Option<Instant>) -> Result<Value> {
        let parsed = match parse_event(payload) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring an event this function does not handle");
                return Ok(json!({"results": [], "ignored": e.to_string()}));
            }
        };
        let cancel = CancellationToken::new();
        let _timer = deadline.map(|d| {
            let cancel = cancel.clone();
            let at = d.checked_sub(self.config.deadline_margin).unwrap_or(d);
            tokio::spawn(async move {
                tokio::time::sleep_until(at.into()).await;
                cancel.cancel();
            })
        });
        let mut results = Vec::new();
        let mut failures = Vec::new();
        let mut retry = None;
        for record in &parsed.records {
            let (outcome, result) = match &record.item {
                Item::Convert(object) => self.handle_object(object, &cancel).await,
                Item::Ignored(reason) => {
                    tracing::info!(reason = reason.as_str(), "ignored record");
                    (
                        Outcome::Skipped,
                        json!({"outcome": "ignored", "reason": reason}),
                    )
                }
                Item::Malformed(reason) => {
                    tracing::info!(reason = reason.as_str(), "ignored record");
                    (
                        Outcome::Failed,
                        json!({"outcome": "malformed", "reason": reason}),
                    )
                }
            };
            if outcome == Outcome::Failed {
                match &record.sqs_message_id {
                    Some(id) => failures.push(id.clone()),
                    None => retry = Some(result.to_string()),
                }
            }
            results.push(result);
        }
        if let Some(t) = _timer {
            t.abort();
        }
        let mut failures_dedup: Vec<String> = Vec::new();
        for f in failures {
            if !failures_dedup.contains(&f) {
                failures_dedup.push(f);
            }
        }
        if parsed.trigger != Trigger::Sqs {
            if let Some(reason) = retry {
                return Err(Error::Internal(format!("retryable failure: {reason}")));
            }
        }
        let mut response = json!({ "results": results });
        if parsed.trigger == Trigger::Sqs {
            response["batchItemFailures"] = failures_dedup
                .iter()
                .map(|id| json!({"itemIdentifier": id}))
                .collect();
        }
        Ok(response)
    }

    async fn handle_object(
        &self,
        object: &ObjectRef,
        cancel: &CancellationToken,
    ) -> (Outcome, Value) {
        let started = Instant::now();
        let input = format!("s3://{}/{}", object.bucket, object.key);
        let output_key = match self.config.rules.route(&object.key) {
            Route::Convert { output_key } => output_key,
            Route::Skip { reason } => {
                tracing::info!(outcome = "skipped", input = %input, reason = %reason, "object");
                return (
                    Outcome::Skipped,
                    json!({"outcome": "skipped", "input": input, "reason": reason}),
                );
            }
        };
        let out_bucket = self
            .config
            .output_bucket
            .clone()
            .unwrap_or_else(|| object.bucket.clone());
        let output = format!("s3://{out_bucket}/{output_key}");
        let mut options = self.config.options.clone();
        if let Some(s) = &self.schema {
            options.schema = Some(s.clone());
        }
        let budget = match options.validate() {
            Ok(b) => b,
            Err(e) => return self.failed(&input, &output, e, started),
        };
        let (range_bytes, ranges) = plan_ranges(budget.read_ahead_bytes, self.config.range_bytes);
        let source = S3Source::new(
            self.client.clone(),
            &object.bucket,
            &object.key,
            range_bytes,
            ranges,
        )
        .with_version_id(object.version_id.clone());
        let info = match source.head().await {
            Ok(i) => i,
            Err(e) => return self.failed(&input, &output, e, started),
        };
        let etag = info
            .etag
            .as_deref()
            .map(|e| e.trim_matches('"').to_string());
        if let (Some(etag), Some(existing)) = (
            &etag,
            self.output_source_etag(&out_bucket, &output_key).await,
        ) {
            if existing.trim_matches('"') == etag {
                tracing::info!(outcome = "up_to_date", input = %input, etag = %etag, output = %output, "object");
                return (
                    Outcome::Skipped,
                    json!({"outcome": "up_to_date", "input": input, "output": output, "etag": etag}),
                );
            }
        }
        // An abort at the deadline must fit the margin: a third of it for in-flight parts.
        let drain = self.config.deadline_margin / 3;
        let new_sink = {
            let (client, parts) = (self.client.clone(), budget.parts_in_flight);
            move |bucket: &str, key: &str| {
                S3Sink::new(client.clone(), bucket, key, parts).with_abort_drain(drain)
            }
        };
        let sink = new_sink(&out_bucket, &output_key);
        let rejects: Option<Box<dyn crate::sink::ByteSink>> =
            if options.on_error == crate::config::OnError::Reject {
                let Some(key) = self.config.rules.rejects_key(&object.key) else {
                    let e = Error::config("CSV2PQ_ON_ERROR", "no rejects key for this input");
                    return self.failed(&input, &output, e, started);
                };
                Some(Box::new(new_sink(&out_bucket, &key)))
            } else {
                None
            };
        let widen = options.on_error == crate::config::OnError::Widen;
        let converter = Converter::new(options).with_cancel(cancel.child_token());
        let result = if widen {
            let (bucket, key) = (out_bucket.clone(), output_key.clone());
            let mut first = Some(sink);
            converter
                .run_restartable(&source, || {
                    let sink = first.take().unwrap_or_else(|| new_sink(&bucket, &key));
                    async move { Ok(Box::new(sink) as Box<dyn crate::sink::ByteSink>) }
                })
                .await
        } else {
            converter.run(&source, Box::new(sink), rejects).await
        };
        match result {
            Ok(report) => {
                let seconds = started.elapsed().as_secs_f64();
                tracing::info!(
                    outcome = "converted", input = %input, etag = etag.as_deref().unwrap_or(""),
                    version = info.version_id.as_deref().unwrap_or(""), bytes = report.bytes_in,
                    rows = report.rows, nulled = report.nulled, rejected = report.rejected,
                    utf8_replaced = report.utf8_replaced, output = %output,
                    bytes_out = report.bytes_out, seconds, "object"
                );
                (
                    Outcome::Converted,
                    json!({
                        "outcome": "converted", "input": input, "etag": etag, "output": output,
                        "rows": report.rows, "nulled": report.nulled, "rejected": report.rejected,
                        "utf8_replaced": report.utf8_replaced, "widened": report.widened,
                        "rejects": report.rejects, "bytes_in": report.bytes_in,
                        "bytes_out": report.bytes_out, "row_groups": report.row_groups,
                        "schema": report.schema, "seconds": seconds,
                    }),
                )
            }
            Err(e) if e.kind() == ErrorKind::BadInput || e.kind() == ErrorKind::Limit => {
                self.rejected(object, &input, etag.as_deref(), e, started)
                    .await
            }
            Err(e) if e.kind() == ErrorKind::Cancelled => {
                let e = Error::Cancelled(format!(
                    "deadline: stopped {} s before the invocation timeout; the upload was aborted",
                    self.config.deadline_margin.as_secs()
                ));
                self.failed(&input, &output, e, started)
            }
            Err(e) => self.failed(&input, &output, e, started),
        }
    }

    /// The source ETag recorded on an existing output, if it exists.
    async fn output_source_etag(&self, bucket: &str, key: &str) -> Option<String> {
        let out = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        out.metadata()?.get(SOURCE_ETAG_META).cloned()
    }

    fn failed(&self, input: &str, output: &str, e: Error, started: Instant) -> (Outcome, Value) {
        let message = error_chain(&e);
        tracing::error!(outcome = "failed", input = %input, output = %output, kind = e.kind().as_str(), retryable = e.is_retryable(), error = %message, seconds = started.elapsed().as_secs_f64(), "object");
        (
            Outcome::Failed,
            json!({"outcome": "failed", "input": input, "kind": e.kind().as_str(), "retryable": e.is_retryable(), "error": message}),
        )
    }

    /// Bad input: write `<failed prefix><relative key>.error.json` and complete.
    async fn rejected(
        &self,
        object: &ObjectRef,
        input: &str,
        etag: Option<&str>,
        e: Error,
        started: Instant,
    ) -> (Outcome, Value) {
        let message = error_chain(&e);
        let report = json!({
            "error": message,
            "kind": e.kind().as_str(),
            "input": input,
            "etag": etag,
            "version_id": object.version_id,
            "position": e.as_data().and_then(|d| d.position),
            "column": e.as_data().and_then(|d| d.column.as_ref().map(|(i, n)| json!({"index": i, "name": n}))),
            "config": {
                "on_error": self.config.options.on_error,
                "compression": self.config.options.compression.name(),
                "memory_limit": self.config.options.memory_limit,
                "delimiter": (self.config.options.dialect.delimiter as char).to_string(),
                "has_header": self.config.options.dialect.has_header,
                "encoding": self.config.options.encoding,
                "invalid_utf8": self.config.options.invalid_utf8,
            },
            "tool": format!("csv2parquet {}", env!("CARGO_PKG_VERSION")),
        });
        let Some(report_key) = self.config.rules.error_report_key(&object.key) else {
            return self.failed(input, "", e, started);
        };
        let bucket = self
            .config
            .output_bucket
            .clone()
            .unwrap_or_else(|| object.bucket.clone());
        let put = self
            .client
            .put_object()
            .bucket(&bucket)
            .key(&report_key)
            .content_type("application/json")
            .body(aws_sdk_s3::primitives::ByteStream::from(
                serde_json::to_vec_pretty(&report).unwrap_or_default(),
            ))
            .send()
            .await;
        let report_location = format!("s3://{bucket}/{report_key}");
        if let Err(err) = put {
            let err = S3Error::request(Op::PutObject, &report_location, err)
                .for_purpose("error report")
                .into();
            return self.failed(input, &report_location, err, started);
        }
        tracing::warn!(outcome = "bad_input", input = %input, error = %message, report = %report_location, seconds = started.elapsed().as_secs_f64(), "object");
        (
            Outcome::Rejected,
            json!({"outcome": "bad_input", "input": input, "error": message, "report": report_location}),
        )
    }
}

/// Time left until `deadline_ms` (milliseconds since the Unix epoch, as Lambda gives it).
pub fn deadline_from_epoch_ms(deadline_ms: u64) -> Option<Instant> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    Some(Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}
