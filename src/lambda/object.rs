//! One object of an event: route it, skip it if its output is already up to date, convert it,
//! and classify the outcome. Bad input gets an error report under the failed prefix and
//! completes (retrying bad data is pointless); every other failure is retried.

use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::config::LambdaConfig;
use super::event::ObjectRef;
use super::response::{Converted, ErrorReport, Failed, ObjectResult};
use super::routing::Route;
use super::store::ObjectStore;
use crate::config::{ConvertOptions, OnError};
use crate::convert::Converter;
use crate::error::{error_chain, Error, ErrorKind};
use crate::schema::SchemaSpec;
use crate::source::SourceInfo;

/// What converting an object needs, built once per process.
pub(crate) struct Deps<'a> {
    pub config: &'a LambdaConfig,
    /// The explicit schema (`CSV2PQ_SCHEMA`), read at cold start.
    pub schema: Option<&'a SchemaSpec>,
    pub store: &'a dyn ObjectStore,
}

/// Where one object's conversion goes.
struct Target {
    input: String,
    bucket: String,
    key: String,
    output: String,
}

/// Convert `object` unless it is routed away or already converted; `cancel` stops it (the
/// deadline).
pub(crate) async fn convert_object(
    deps: &Deps<'_>,
    object: &ObjectRef,
    cancel: &CancellationToken,
) -> ObjectResult {
    let started = Instant::now();
    let target = match deps.target(object) {
        Ok(t) => t,
        Err(result) => return *result,
    };
    let options = deps.options();
    if let Err(e) = options.validate() {
        return failed(&target, e, started);
    }
    let source = deps.store.source(object);
    let info = match source.head().await {
        Ok(i) => i,
        Err(e) => return failed(&target, e, started),
    };
    let etag = info
        .etag
        .as_deref()
        .map(|e| e.trim_matches('"').to_string());
    if let Some(etag) = &etag {
        if deps.is_up_to_date(&target, etag).await {
            tracing::info!(outcome = "up_to_date", input = %target.input, etag = %etag, output = %target.output, "object");
            let (input, output, etag) = (target.input, target.output, etag.clone());
            return ObjectResult::UpToDate {
                input,
                output,
                etag,
            };
        }
    }
    let rejects_key = (options.on_error == OnError::Reject)
        .then(|| deps.config.rules.rejects_key(&object.key))
        .flatten();
    let mut outputs = deps.store.outputs(&target.bucket, &target.key, rejects_key);
    let result = Converter::new(options)
        .with_cancel(cancel.child_token())
        .run(source.as_ref(), outputs.as_mut())
        .await;
    match result {
        Ok(report) => converted(target, &info, etag, report, started),
        Err(e) if matches!(e.kind(), ErrorKind::BadInput | ErrorKind::Limit) => {
            deps.bad_input(object, target, etag, e, started).await
        }
        Err(e) if e.kind() == ErrorKind::Cancelled => {
            let e = Error::Cancelled(format!(
                "deadline: stopped {} s before the invocation timeout; the upload was aborted",
                deps.config.deadline_margin.as_secs()
            ));
            failed(&target, e, started)
        }
        Err(e) => failed(&target, e, started),
    }
}

impl Deps<'_> {
    /// The output of `object`, or why it is not converted.
    fn target(&self, object: &ObjectRef) -> Result<Target, Box<ObjectResult>> {
        let input = object.url();
        let key = match self.config.rules.route(&object.key) {
            Route::Convert { output_key } => output_key,
            Route::Skip { reason } => {
                tracing::info!(outcome = "skipped", input = %input, reason = %reason, "object");
                return Err(Box::new(ObjectResult::Skipped { input, reason }));
            }
        };
        let bucket = self.output_bucket(object);
        Ok(Target {
            output: format!("s3://{bucket}/{key}"),
            input,
            bucket,
            key,
        })
    }

    fn output_bucket(&self, object: &ObjectRef) -> String {
        self.config
            .output_bucket
            .clone()
            .unwrap_or_else(|| object.bucket.clone())
    }

    /// The function's options, with the explicit schema.
    fn options(&self) -> ConvertOptions {
        let mut options = self.config.options.clone();
        if let Some(s) = self.schema {
            options.schema = Some(s.clone());
        }
        options
    }

    /// Whether the output records `etag` as its source's.
    async fn is_up_to_date(&self, target: &Target, etag: &str) -> bool {
        let existing = self
            .store
            .output_source_etag(&target.bucket, &target.key)
            .await;
        existing.is_some_and(|e| e.trim_matches('"') == etag)
    }

    /// Bad input: write `<failed prefix><relative key>.error.json` and complete.
    async fn bad_input(
        &self,
        object: &ObjectRef,
        target: Target,
        etag: Option<String>,
        e: Error,
        started: Instant,
    ) -> ObjectResult {
        let Some(report_key) = self.config.rules.error_report_key(&object.key) else {
            let target = Target {
                output: String::new(),
                ..target
            };
            return failed(&target, e, started);
        };
        let report = ErrorReport::new(
            &e,
            target.input.clone(),
            etag,
            object.version_id.clone(),
            &self.config.options,
        );
        let bucket = self.output_bucket(object);
        let report_location = format!("s3://{bucket}/{report_key}");
        if let Err(err) = self.store.put_report(&bucket, &report_key, &report).await {
            let target = Target {
                output: report_location,
                ..target
            };
            return failed(&target, err, started);
        }
        let error = error_chain(&e);
        tracing::warn!(outcome = "bad_input", input = %target.input, error = %error, report = %report_location, seconds = started.elapsed().as_secs_f64(), "object");
        ObjectResult::BadInput {
            input: target.input,
            error,
            report: report_location,
        }
    }
}

fn converted(
    target: Target,
    info: &SourceInfo,
    etag: Option<String>,
    report: crate::convert::ConvertReport,
    started: Instant,
) -> ObjectResult {
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        outcome = "converted", input = %target.input, etag = etag.as_deref().unwrap_or(""),
        version = info.version_id.as_deref().unwrap_or(""), bytes = report.bytes_in,
        rows = report.rows, nulled = report.nulled, rejected = report.rejected,
        utf8_replaced = report.utf8_replaced, output = %target.output,
        bytes_out = report.bytes_out, seconds, "object"
    );
    ObjectResult::Converted(Box::new(Converted::new(
        target.input,
        etag,
        target.output,
        report,
        seconds,
    )))
}

fn failed(target: &Target, e: Error, started: Instant) -> ObjectResult {
    let failed = Failed::new(target.input.clone(), e);
    tracing::error!(outcome = "failed", input = %target.input, output = %target.output, kind = failed.kind, retryable = failed.retryable, error = %failed.error, seconds = started.elapsed().as_secs_f64(), "object");
    ObjectResult::Failed(failed)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::lambda::store::memory::MemoryStore;

    fn config(vars: &[(&str, &str)]) -> LambdaConfig {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LambdaConfig::from_vars(|k| map.get(k).cloned()).unwrap()
    }

    fn object(key: &str) -> ObjectRef {
        ObjectRef {
            bucket: "b".into(),
            key: key.into(),
            size: None,
            etag: None,
            version_id: None,
            event_name: "ObjectCreated:Put".into(),
        }
    }

    async fn run(store: &MemoryStore, config: &LambdaConfig, key: &str) -> ObjectResult {
        let deps = Deps {
            config,
            schema: None,
            store,
        };
        convert_object(&deps, &object(key), &CancellationToken::new()).await
    }

    #[tokio::test]
    async fn converts_then_finds_the_output_up_to_date_until_the_input_changes() {
        let store = MemoryStore::default();
        let config = config(&[]);
        store.put("b", "incoming/a.csv", b"id,name\n1,x\n2,y\n", "e1");
        let r = run(&store, &config, "incoming/a.csv").await;
        let ObjectResult::Converted(c) = r else {
            panic!("{r:?}")
        };
        assert_eq!((c.rows, c.output.as_str()), (2, "s3://b/parquet/a.parquet"));
        assert_eq!(c.etag.as_deref(), Some("e1"));
        assert!(store.get("b", "parquet/a.parquet").is_some());
        let r = run(&store, &config, "incoming/a.csv").await;
        assert!(
            matches!(r, ObjectResult::UpToDate { ref etag, .. } if etag == "e1"),
            "{r:?}"
        );
        store.put("b", "incoming/a.csv", b"id,name\n3,z\n", "e2");
        let r = run(&store, &config, "incoming/a.csv").await;
        assert!(
            matches!(r, ObjectResult::Converted(ref c) if c.rows == 1),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn bad_input_writes_a_report_and_no_output() {
        let store = MemoryStore::default();
        let config = config(&[]);
        store.put("b", "incoming/bad.csv", b"id,n\n1,2\n3\n", "e1");
        let r = run(&store, &config, "incoming/bad.csv").await;
        let ObjectResult::BadInput { report, error, .. } = r else {
            panic!("{r:?}")
        };
        assert_eq!(report, "s3://b/failed/bad.csv.error.json");
        assert!(error.contains("expected 2 fields, found 1"), "{error}");
        let written = store.get("b", "failed/bad.csv.error.json").unwrap();
        let json: serde_json::Value = serde_json::from_slice(&written.bytes).unwrap();
        assert_eq!(json["position"]["line"], 3);
        assert_eq!(json["etag"], "e1");
        assert!(store.get("b", "parquet/bad.parquet").is_none());
    }

    #[tokio::test]
    async fn routing_and_missing_objects() {
        let store = MemoryStore::default();
        let config = config(&[]);
        let r = run(&store, &config, "parquet/x.parquet").await;
        assert!(matches!(r, ObjectResult::Skipped { .. }), "{r:?}");
        let r = run(&store, &config, "incoming/gone.csv").await;
        let ObjectResult::Failed(f) = r else {
            panic!("{r:?}")
        };
        assert_eq!((f.kind, f.retryable), ("config", false));
        assert!(
            f.error.contains("HeadObject s3://b/incoming/gone.csv"),
            "{}",
            f.error
        );
    }

    #[tokio::test]
    async fn rejects_go_beside_the_output() {
        let store = MemoryStore::default();
        let config = config(&[("CSV2PQ_ON_ERROR", "reject")]);
        store.put("b", "incoming/r.csv", b"a,b\n1,2\n3\n4,5\n", "e1");
        let r = run(&store, &config, "incoming/r.csv").await;
        let ObjectResult::Converted(c) = r else {
            panic!("{r:?}")
        };
        assert_eq!((c.rows, c.rejected), (2, 1));
        let rejects = c.rejects.unwrap_or_default();
        let key = rejects.strip_prefix("s3://b/").unwrap_or_default();
        assert!(store.get("b", key).is_some(), "{rejects}");
    }
}
