//! One object of an event: route it, skip it if its output is already up to date, convert it,
//! publish it only over the output it decided to replace, and classify the outcome.
//!
//! The rules a user can rely on (the README's "duplicate, late and concurrent events"):
//! - Up to date means the output records this input's ETag and the fingerprint of these options
//!   ([`crate::ConvertOptions::fingerprint`]); `CSV2PQ_FORCE` converts anyway.
//! - The output is published with a conditional write: over the ETag seen when the run decided
//!   to convert (`If-Match`), or over nothing (`If-None-Match: *`). A run that loses that race
//!   publishes nothing; it is `superseded` when the winner (or a newer input) is at least as
//!   new, and retried when it holds the newer data and the winner does not.
//! - The rejected records (`CSV2PQ_ON_ERROR=reject`) follow the same rule on their own key;
//!   they are published first (or, when nothing is rejected, the rejects seen are removed
//!   under If-Match), so a run that loses on them publishes no data either.
//! - An event for a version that is no longer current is `superseded` without converting.
//! - Retries only for what a retry can fix: a permanent failure (bad input, a refused request,
//!   a configuration error, a deadline hit) writes `<failed prefix><key>.error.json` and
//!   completes.

use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::config::LambdaConfig;
use super::event::ObjectRef;
use super::fanout::StartFanOut;
use super::response::{Converted, ErrorReport, Failed, ObjectResult};
use super::routing::Route;
use super::store::{Destination, ObjectStore};
use crate::config::{ConvertOptions, OnError};
use crate::convert::{Converter, Progress};
use crate::error::{error_chain, Error, ErrorKind, Result};
use crate::schema::SchemaSpec;
use crate::source::SourceInfo;

/// What converting an object needs, built once per process.
pub(crate) struct Deps<'a> {
    pub config: &'a LambdaConfig,
    /// The explicit schema (`CSV2PQ_SCHEMA`), read at cold start.
    pub schema: Option<&'a SchemaSpec>,
    pub store: &'a dyn ObjectStore,
    /// A conversion the deadline cuts is dropped without an error report (a reconcile does it
    /// later), instead of failing with one.
    pub defer_deadline: bool,
    /// Starts a fan-out execution for an object too large for one invocation
    /// (`CSV2PQ_FAN_OUT_*`); `None` converts every object here.
    pub fan_out: Option<&'a dyn StartFanOut>,
}

/// Where one object's conversion goes.
pub(super) struct Target {
    pub input: String,
    pub bucket: String,
    pub key: String,
    pub output: String,
}

/// What the output's state asks of this run.
pub(super) enum Decision {
    /// The output holds this input converted with these options.
    UpToDate,
    /// Convert, and publish each output only over what was there when this was decided.
    Convert {
        data: Destination,
        rejects: Option<Destination>,
    },
}

/// Convert `object` unless it is routed away, superseded or already converted; `cancel` stops
/// it (the deadline).
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
        return deps.failure(object, target, None, e, started).await;
    }
    match deps.newer_version(object).await {
        Ok(None) => {}
        Ok(Some(reason)) => return superseded(target, reason),
        Err(e) => return deps.failure(object, target, None, e, started).await,
    }
    let source = deps.store.source(object);
    let info = match source.head().await {
        Ok(i) => i,
        Err(e) => return deps.failure(object, target, None, e, started).await,
    };
    let etag = info.etag.as_deref().map(unquoted);
    let fingerprint = options.fingerprint();
    let rejects_key = (options.on_error == OnError::Reject)
        .then(|| deps.config.rules.rejects_key(&object.key))
        .flatten();
    let decided = deps.decide(&target, rejects_key, etag.as_deref(), &fingerprint);
    let (data, rejects) = match decided.await {
        Ok(Decision::Convert { data, rejects }) => (data, rejects),
        Ok(Decision::UpToDate) => return up_to_date(target, etag.unwrap_or_default()),
        Err(e) => return deps.failure(object, target, etag, e, started).await,
    };
    if let Some(result) = deps.start_fan_out(object, &target, &info, &options).await {
        return result;
    }
    let mut outputs = deps.store.outputs(&target.bucket, data, rejects);
    let converter = Converter::new(options).with_cancel(cancel.child_token());
    let progress = converter.progress();
    let result = converter.run(source.as_ref(), outputs.as_mut()).await;
    match result {
        Ok(report) => converted(target, &info, etag, report, started),
        Err(e) if e.kind() == ErrorKind::Conflict => {
            deps.lost_race(object, target, etag, &fingerprint, e, started)
                .await
        }
        Err(e) if e.kind() == ErrorKind::Cancelled => {
            let e = deps.deadline(&progress);
            if deps.defer_deadline {
                return failed(&target, e, started, None);
            }
            deps.failure(object, target, etag, e, started).await
        }
        Err(e) => deps.failure(object, target, etag, e, started).await,
    }
}

pub(super) fn unquoted(etag: &str) -> String {
    etag.trim_matches('"').to_string()
}

impl Deps<'_> {
    /// The output of `object`, or why it is not converted.
    pub(super) fn target(&self, object: &ObjectRef) -> Result<Target, Box<ObjectResult>> {
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
    pub(super) fn options(&self) -> ConvertOptions {
        let mut options = self.config.options.clone();
        if let Some(s) = self.schema {
            options.schema = Some(s.clone());
        }
        options
    }

    /// For an event naming a version: why it is late (another version is current, or the
    /// object is gone), or `None` when it is current. Events without a version are for
    /// whatever is current.
    pub(super) async fn newer_version(&self, object: &ObjectRef) -> Result<Option<String>> {
        let Some(version) = &object.version_id else {
            return Ok(None);
        };
        let current = self.store.current(&object.bucket, &object.key).await?;
        Ok(match current {
            None => Some(format!(
                "the event is for version {version}, and the object no longer exists"
            )),
            Some(c) => {
                let now = c.version_id.unwrap_or_else(|| "null".to_string());
                (&now != version).then(|| {
                    format!("the event is for version {version}; version {now} is current")
                })
            }
        })
    }

    /// Whether the output is up to date, and if not, what each publish must find there: the
    /// data at the target, the rejected records (when asked for) at `rejects_key`.
    ///
    /// The rejects get the data's rule rather than none: published unconditionally, a slow run
    /// that then loses the data race (412) has already replaced the winner's rejected records
    /// with its own, older ones. Under a condition on their own key, such a run loses on the
    /// rejects (published first) and publishes nothing. A run that rejects nothing removes the
    /// rejects it saw (DeleteObject with If-Match), so an older input's rejects do not stay
    /// beside a newer output. S3 has no condition spanning two keys, so one window stays: a
    /// run that looked at both outputs between the winner's rejects publish and the winner's
    /// data publish can publish its rejects and then lose on the data. The rejects are looked
    /// at first, which narrows it to that.
    pub(super) async fn decide(
        &self,
        target: &Target,
        rejects_key: Option<String>,
        etag: Option<&str>,
        fingerprint: &str,
    ) -> Result<Decision> {
        let rejects = match rejects_key {
            Some(key) => {
                let seen = self.store.output(&target.bucket, &key).await?;
                Some(Destination::over(key, seen.as_ref()))
            }
            None => None,
        };
        let existing = self.store.output(&target.bucket, &target.key).await?;
        let up_to_date = existing.as_ref().is_some_and(|out| {
            !self.config.force
                && etag.is_some()
                && out.source_etag.as_deref() == etag
                && out.options.as_deref() == Some(fingerprint)
        });
        Ok(if up_to_date {
            Decision::UpToDate
        } else {
            Decision::Convert {
                data: Destination::over(target.key.clone(), existing.as_ref()),
                rejects,
            }
        })
    }

    /// The publish was refused: another run changed the output first. Look at what won: if
    /// it (or a newer input) is at least as new as what this run read, this run is
    /// superseded; if this run holds the current input and the winner does not, retry (the
    /// next attempt converts over the winner).
    pub(super) async fn lost_race(
        &self,
        object: &ObjectRef,
        target: Target,
        etag: Option<String>,
        fingerprint: &str,
        err: Error,
        started: Instant,
    ) -> ObjectResult {
        let looked = async {
            let winner = self.store.output(&target.bucket, &target.key).await?;
            let current = self.store.current(&object.bucket, &object.key).await?;
            Ok::<_, Error>((winner, current.and_then(|c| c.etag).map(|e| unquoted(&e))))
        };
        let (winner, current) = match looked.await {
            Ok(state) => state,
            Err(e) => return self.failure(object, target, etag, e, started).await,
        };
        let winner_is_current = winner.as_ref().is_some_and(|w| {
            w.source_etag.is_some()
                && w.source_etag == current
                && w.options.as_deref() == Some(fingerprint)
        });
        if winner_is_current {
            return superseded(
                target,
                "a concurrent run published the current input first".into(),
            );
        }
        if current.is_some() && current == etag {
            let e = Error::Store {
                op: "publish".into(),
                location: target.output.clone(),
                retryable: true,
                kind: ErrorKind::Conflict,
                source: Box::new(err),
            };
            return self.failure(object, target, etag, e, started).await;
        }
        let now = current.unwrap_or_else(|| "none (deleted)".into());
        let was = etag.unwrap_or_default();
        superseded(
            target,
            format!("the input changed while this run converted it (ETag {was}, now {now})"),
        )
    }

    /// The error of a conversion stopped by the deadline: how far it got.
    fn deadline(&self, progress: &Progress) -> Error {
        use std::sync::atomic::Ordering::Relaxed;
        Error::Cancelled(format!(
            "deadline: stopped {} s before the invocation timeout after reading {} bytes ({} rows decoded); the upload was aborted. Raise the function's timeout or memory, or split the input",
            self.config.deadline_margin.as_secs(),
            progress.bytes_in.load(Relaxed),
            progress.rows.load(Relaxed),
        ))
    }

    /// A failure: a retryable one is retried; a permanent one writes
    /// `<failed prefix><relative key>.error.json` and completes (bad input as `bad_input`).
    pub(super) async fn failure(
        &self,
        object: &ObjectRef,
        target: Target,
        etag: Option<String>,
        e: Error,
        started: Instant,
    ) -> ObjectResult {
        if e.is_retryable() {
            return failed(&target, e, started, None);
        }
        let Some(report_key) = self.config.rules.error_report_key(&object.key) else {
            return failed(&target, e, started, None);
        };
        let report = ErrorReport::new(
            &e,
            target.input.clone(),
            etag,
            object.version_id.clone(),
            &self.options(),
        );
        let bucket = self.output_bucket(object);
        let report_location = format!("s3://{bucket}/{report_key}");
        if let Err(err) = self.store.put_report(&bucket, &report_key, &report).await {
            let target = Target {
                output: report_location,
                ..target
            };
            return failed(&target, err, started, None);
        }
        if !matches!(e.kind(), ErrorKind::BadInput | ErrorKind::Limit) {
            return failed(&target, e, started, Some(report_location));
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

pub(super) fn up_to_date(target: Target, etag: String) -> ObjectResult {
    tracing::info!(outcome = "up_to_date", input = %target.input, etag = %etag, output = %target.output, "object");
    ObjectResult::UpToDate {
        input: target.input,
        output: target.output,
        etag,
    }
}

pub(super) fn superseded(target: Target, reason: String) -> ObjectResult {
    tracing::info!(outcome = "superseded", input = %target.input, output = %target.output, reason = %reason, "object");
    ObjectResult::Superseded {
        input: target.input,
        output: target.output,
        reason,
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

fn failed(target: &Target, e: Error, started: Instant, report: Option<String>) -> ObjectResult {
    let mut failed = Failed::new(target.input.clone(), e);
    failed.report = report;
    tracing::error!(outcome = "failed", input = %target.input, output = %target.output, kind = failed.kind, retryable = failed.retryable, error = %failed.error, report = failed.report.as_deref().unwrap_or(""), seconds = started.elapsed().as_secs_f64(), "object");
    ObjectResult::Failed(failed)
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::convert::metadata;
    use crate::lambda::store::memory::MemoryStore;

    fn config(vars: &[(&str, &str)]) -> LambdaConfig {
        LambdaConfig::from_pairs(vars).unwrap()
    }

    fn object(key: &str) -> ObjectRef {
        ObjectRef::named("b", key, "ObjectCreated:Put")
    }

    async fn run(store: &MemoryStore, config: &LambdaConfig, key: &str) -> ObjectResult {
        let deps = Deps {
            config,
            schema: None,
            store,
            defer_deadline: false,
            fan_out: None,
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
        // Permanent: reported under failed/ and completed, not retried.
        assert_eq!((f.kind, f.retryable), ("io", false));
        assert!(
            f.error.contains("HeadObject s3://b/incoming/gone.csv"),
            "{}",
            f.error
        );
        assert_eq!(
            f.report.as_deref(),
            Some("s3://b/failed/gone.csv.error.json")
        );
        let report = store.get("b", "failed/gone.csv.error.json").unwrap();
        let json: serde_json::Value = serde_json::from_slice(&report.bytes).unwrap();
        assert_eq!(json["kind"], "io");
    }

    /// Put an output at `parquet/<name>.parquet` as another run would have published it:
    /// recording `source_etag` and `options`.
    fn put_output(store: &MemoryStore, name: &str, source_etag: &str, options: &str) {
        use crate::s3::object_metadata_name;
        let key = format!("parquet/{name}.parquet");
        let etag = format!("winner-{source_etag}-{options}");
        store.put("b", &key, b"PAR1 of another run", &etag);
        if let Ok(mut objects) = store.objects.lock() {
            if let Some(o) = objects.get_mut(&("b".to_string(), key)) {
                o.metadata.insert(
                    object_metadata_name(metadata::SOURCE_ETAG),
                    format!("\"{source_etag}\""),
                );
                o.metadata
                    .insert(object_metadata_name(metadata::OPTIONS), options.into());
            }
        }
    }

    /// The source ETag the output at `key` records.
    fn source_of(store: &MemoryStore, key: &str) -> String {
        store.get("b", key).map_or_else(String::new, |o| {
            o.metadata
                .get(&crate::s3::object_metadata_name(metadata::SOURCE_ETAG))
                .cloned()
                .unwrap_or_default()
        })
    }

    #[tokio::test]
    async fn other_options_or_force_convert_again() {
        let store = MemoryStore::default();
        store.put("b", "incoming/a.csv", b"id;name\n1;x\n", "e1");
        let r = run(&store, &config(&[]), "incoming/a.csv").await;
        assert!(matches!(r, ObjectResult::Converted(_)), "{r:?}");
        let r = run(&store, &config(&[]), "incoming/a.csv").await;
        assert!(matches!(r, ObjectResult::UpToDate { .. }), "{r:?}");
        // The delimiter fixed: the same input with other options is not up to date.
        let fixed = config(&[("CSV2PQ_DELIMITER", ";")]);
        let r = run(&store, &fixed, "incoming/a.csv").await;
        let ObjectResult::Converted(c) = r else {
            panic!("{r:?}")
        };
        assert_eq!(c.schema.columns.len(), 2);
        let r = run(&store, &fixed, "incoming/a.csv").await;
        assert!(matches!(r, ObjectResult::UpToDate { .. }), "{r:?}");
        let forced = config(&[("CSV2PQ_DELIMITER", ";"), ("CSV2PQ_FORCE", "1")]);
        let r = run(&store, &forced, "incoming/a.csv").await;
        assert!(matches!(r, ObjectResult::Converted(_)), "{r:?}");
    }

    #[tokio::test]
    async fn a_late_event_for_an_older_version_is_superseded() {
        let store = MemoryStore::default();
        let config = config(&[]);
        store.put_version("b", "incoming/v.csv", b"n\n1\n", "e1", "v1");
        store.put_version("b", "incoming/v.csv", b"n\n1\n2\n", "e2", "v2");
        let mut v2 = object("incoming/v.csv");
        v2.version_id = Some("v2".into());
        let deps = Deps {
            config: &config,
            schema: None,
            store: &store,
            defer_deadline: false,
            fan_out: None,
        };
        let r = convert_object(&deps, &v2, &CancellationToken::new()).await;
        assert!(
            matches!(r, ObjectResult::Converted(ref c) if c.rows == 2),
            "{r:?}"
        );
        let mut v1 = v2.clone();
        v1.version_id = Some("v1".into());
        let r = convert_object(&deps, &v1, &CancellationToken::new()).await;
        let ObjectResult::Superseded { reason, .. } = r else {
            panic!("{r:?}")
        };
        assert!(reason.contains("version v2 is current"), "{reason}");
        assert_eq!(source_of(&store, "parquet/v.parquet"), "\"e2\"");
    }

    #[tokio::test]
    async fn losing_to_a_newer_conversion_publishes_nothing() {
        let store = MemoryStore::default();
        let config = config(&[]);
        store.put("b", "incoming/r.csv", b"n\n1\n", "e1");
        // While this run converts e1, e2 lands and another run publishes its conversion.
        let fingerprint = config.options.fingerprint();
        let other = store.clone();
        let mut once = true;
        store.before_publish(move |_| {
            if std::mem::take(&mut once) {
                other.put("b", "incoming/r.csv", b"n\n1\n2\n3\n", "e2");
                put_output(&other, "r", "e2", &fingerprint);
            }
        });
        let r = run(&store, &config, "incoming/r.csv").await;
        let ObjectResult::Superseded { reason, .. } = r else {
            panic!("{r:?}")
        };
        assert!(reason.contains("concurrent run"), "{reason}");
        assert_eq!(source_of(&store, "parquet/r.parquet"), "\"e2\"");
    }

    #[tokio::test]
    async fn losing_the_rejects_race_publishes_neither_output() {
        let store = MemoryStore::default();
        let config = config(&[("CSV2PQ_ON_ERROR", "reject")]);
        store.put("b", "incoming/r.csv", b"a,b\n1,2\n3\n", "e1");
        // Just before this run publishes its rejects (first), another run converts e2.
        let fingerprint = config.options.fingerprint();
        let other = store.clone();
        let mut once = true;
        store.before_publish(move |key| {
            if key.ends_with(".rejects.csv") && std::mem::take(&mut once) {
                other.put("b", "incoming/r.csv", b"a,b\n1,2\n4\n", "e2");
                other.put("b", key, b"the other run's rejects", "rejects-2");
                put_output(&other, "r", "e2", &fingerprint);
            }
        });
        let r = run(&store, &config, "incoming/r.csv").await;
        assert!(matches!(r, ObjectResult::Superseded { .. }), "{r:?}");
        let rejects = store
            .get("b", "failed/r.csv.rejects.csv")
            .unwrap_or_default();
        assert_eq!(&rejects.bytes[..], b"the other run's rejects");
        assert_eq!(source_of(&store, "parquet/r.parquet"), "\"e2\"");
    }

    #[tokio::test]
    async fn losing_to_an_older_conversion_retries_and_then_wins() {
        let store = MemoryStore::default();
        let config = config(&[]);
        store.put("b", "incoming/o.csv", b"n\n1\n2\n", "e2");
        // A slow run of the older e1 publishes while this run converts e2.
        let fingerprint = config.options.fingerprint();
        let other = store.clone();
        let mut once = true;
        store.before_publish(move |_| {
            if std::mem::take(&mut once) {
                put_output(&other, "o", "e1", &fingerprint);
            }
        });
        let r = run(&store, &config, "incoming/o.csv").await;
        let ObjectResult::Failed(f) = r else {
            panic!("{r:?}")
        };
        assert_eq!((f.kind, f.retryable), ("conflict", true), "{}", f.error);
        assert!(f.report.is_none());
        let r = run(&store, &config, "incoming/o.csv").await;
        assert!(
            matches!(r, ObjectResult::Converted(ref c) if c.rows == 2),
            "{r:?}"
        );
        let r = run(&store, &config, "incoming/o.csv").await;
        assert!(matches!(r, ObjectResult::UpToDate { .. }), "{r:?}");
    }

    #[tokio::test]
    async fn the_input_changing_during_the_run_supersedes_it() {
        let store = MemoryStore::default();
        let config = config(&[]);
        store.put("b", "incoming/c.csv", b"n\n1\n", "e1");
        put_output(&store, "c", "e0", "old");
        let other = store.clone();
        let mut once = true;
        // e2 lands and the output changes (a run with other options), but not to e2.
        store.before_publish(move |_| {
            if std::mem::take(&mut once) {
                other.put("b", "incoming/c.csv", b"n\n5\n", "e2");
                put_output(&other, "c", "e1", "other options");
            }
        });
        let r = run(&store, &config, "incoming/c.csv").await;
        let ObjectResult::Superseded { reason, .. } = r else {
            panic!("{r:?}")
        };
        assert!(reason.contains("now e2"), "{reason}");
    }

    #[tokio::test]
    async fn a_deadline_hit_is_reported_with_how_far_it_got_and_not_retried() {
        let store = MemoryStore::default();
        let config = config(&[]);
        store.put("b", "incoming/d.csv", b"n\n1\n", "e1");
        let deps = Deps {
            config: &config,
            schema: None,
            store: &store,
            defer_deadline: false,
            fan_out: None,
        };
        let cancel = CancellationToken::new();
        cancel.cancel();
        let r = convert_object(&deps, &object("incoming/d.csv"), &cancel).await;
        let ObjectResult::Failed(f) = r else {
            panic!("{r:?}")
        };
        assert_eq!((f.kind, f.retryable), ("cancelled", false));
        assert!(f.error.contains("after reading"), "{}", f.error);
        let report = store.get("b", "failed/d.csv.error.json").unwrap();
        let json: serde_json::Value = serde_json::from_slice(&report.bytes).unwrap();
        assert!(json["error"].as_str().unwrap_or("").contains("deadline"));
        assert!(store.get("b", "parquet/d.parquet").is_none());
    }

    #[tokio::test]
    async fn a_failing_output_check_is_retried_not_guessed() {
        let store = MemoryStore::default();
        let config = config(&[]);
        store.put("b", "incoming/h.csv", b"n\n1\n", "e1");
        store.fail_heads(1);
        let r = run(&store, &config, "incoming/h.csv").await;
        let ObjectResult::Failed(f) = r else {
            panic!("{r:?}")
        };
        assert!(f.retryable && f.report.is_none(), "{f:?}");
        assert!(store.get("b", "parquet/h.parquet").is_none());
        let r = run(&store, &config, "incoming/h.csv").await;
        assert!(matches!(r, ObjectResult::Converted(_)), "{r:?}");
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
        // A newer input that rejects nothing: the older rejects go.
        store.put("b", "incoming/r.csv", b"a,b\n1,2\n", "e2");
        let r = run(&store, &config, "incoming/r.csv").await;
        assert!(
            matches!(&r, ObjectResult::Converted(c) if c.rejected == 0),
            "{r:?}"
        );
        assert!(store.get("b", key).is_none(), "{rejects}");
    }
}
