//! Reconcile: the backfill inside the function, started by a schedule (the template's
//! `ReconcileSchedule`, off by default) with the event
//! `{"reconcile": {"bucket": "B", "prefix": "incoming/", "max_objects": 50}}`.
//!
//! One invocation walks the listing in key order from `start_after`, judges each object as
//! [`super::backfill`] does, and converts at most `max_objects` of them, one at a time (a
//! conversion gets the function's whole memory). It stops early rather than run past its
//! deadline: before each object it needs the deadline margin plus the object's estimated time
//! ([`RECONCILE_BYTES_PER_SEC`], at least [`MIN_OBJECT_SECS`]) left, and a conversion the
//! deadline still cuts is dropped without an error report. Where it stopped, it invokes the
//! function again (asynchronously) with `start_after` set to the last key it finished, so
//! every object is judged once per pass and nothing is converted twice (a second look finds
//! the output up to date anyway). Every invocation finishes at least one object, so a pass
//! always ends; an object too large for one invocation's time fails with the deadline error
//! and its report, as it would from its own event.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::backfill::{planned_object, Assessment};
use super::object::{convert_object, Deps};
use super::response::ObjectResult;
pub use super::response::ReconcileReport;
use crate::error::{Error, Result};

/// Input bytes per second a reconcile assumes when it judges whether an object fits the time
/// left: a conservative rate (a 512 MB function, a third of a vCPU, converts the taxi shape at
/// about 40 MiB/s; a 1,769 MB one at 130 MiB/s: README, "Cost per TiB").
pub const RECONCILE_BYTES_PER_SEC: f64 = 24.0 * 1024.0 * 1024.0;
/// The least time a reconcile keeps for one more object (its HEADs, a small conversion, the
/// publish).
pub const MIN_OBJECT_SECS: f64 = 2.0;
/// Objects converted per invocation unless the event says otherwise.
pub const DEFAULT_MAX_OBJECTS: usize = 50;

/// The reconcile event: `{"reconcile": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileRequest {
    /// The bucket to reconcile.
    pub bucket: String,
    /// The prefix to list; the input prefix when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Resume after this key (set by the invocation that re-invokes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_after: Option<String>,
    /// Conversions per invocation (default [`DEFAULT_MAX_OBJECTS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_objects: Option<usize>,
    /// Which invocation of the pass this is (0 for the scheduled one).
    #[serde(default)]
    pub round: u32,
}

impl ReconcileRequest {
    /// The request in `payload`, if it is a reconcile event; an error if it is one but
    /// malformed.
    pub fn from_payload(payload: &serde_json::Value) -> Option<Result<Self>> {
        let body = payload.as_object()?.get("reconcile")?;
        Some(
            serde_json::from_value(body.clone())
                .map_err(|e| Error::config("reconcile event", e.to_string())),
        )
    }

    /// The event that continues this pass after `key`.
    pub fn continued_after(&self, key: String) -> serde_json::Value {
        let next = ReconcileRequest {
            start_after: Some(key),
            round: self.round + 1,
            ..self.clone()
        };
        serde_json::json!({ "reconcile": next })
    }
}

/// Invokes the function again with a payload (asynchronously: it does not wait for the run).
#[async_trait::async_trait]
pub trait Reinvoke: Send + Sync {
    /// Start an invocation with `payload`.
    async fn reinvoke(&self, payload: &serde_json::Value) -> Result<()>;
}

/// The first page starts after the request's key; the later ones follow their token.
fn after<'a>(request: &'a ReconcileRequest, token: &Option<String>) -> Option<&'a str> {
    match token {
        None => request.start_after.as_deref(),
        Some(_) => None,
    }
}

/// Whether `bytes` more fit before `deadline` less `margin`.
fn fits(deadline: Option<Instant>, margin: Duration, bytes: u64) -> bool {
    let Some(deadline) = deadline else {
        return true;
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let need = (bytes as f64 / RECONCILE_BYTES_PER_SEC).max(MIN_OBJECT_SECS);
    left.saturating_sub(margin).as_secs_f64() >= need
}

impl Deps<'_> {
    /// Run one reconcile invocation of `request`; the conversions' results go to `results`.
    /// `cancel` fires at the deadline margin.
    pub(crate) async fn reconcile(
        &self,
        request: &ReconcileRequest,
        deadline: Option<Instant>,
        cancel: &CancellationToken,
        results: &mut Vec<ObjectResult>,
    ) -> Result<ReconcileReport> {
        let bucket = request.bucket.as_str();
        let prefix = request.prefix.as_deref().unwrap_or("");
        let prefix = self.listing_prefix(bucket, prefix)?;
        let max = request.max_objects.unwrap_or(DEFAULT_MAX_OBJECTS).max(1);
        let mut report = ReconcileReport {
            bucket: bucket.to_string(),
            prefix: prefix.clone(),
            round: request.round,
            ..ReconcileReport::default()
        };
        let mut last = request.start_after.clone();
        let mut token = None;
        let mut tried = 0usize;
        loop {
            let page = self
                .store
                .list(bucket, &prefix, after(request, &token), token.clone())
                .await?;
            for listed in &page.objects {
                let stop = if tried >= max {
                    Some(format!("{max} conversions (max_objects)"))
                } else if tried > 0 && !fits(deadline, self.config.deadline_margin, listed.size) {
                    Some(format!(
                        "not enough time left for {} ({} bytes) before the deadline",
                        listed.key, listed.size
                    ))
                } else {
                    None
                };
                if stop.is_some() {
                    report.stopped = stop;
                    report.next_start_after = last;
                    return Ok(report);
                }
                report.listed += 1;
                match self.assess(bucket, listed).await? {
                    Assessment::Skipped => report.skipped += 1,
                    Assessment::UpToDate => report.up_to_date += 1,
                    Assessment::FailedBefore(_) => report.failed_before += 1,
                    Assessment::Convert(planned) => {
                        let object = planned_object(bucket, &planned);
                        // The first conversion of an invocation keeps the function's deadline
                        // rule (reported when cut); the others are dropped and done later.
                        let deps = Deps {
                            defer_deadline: tried > 0,
                            ..*self
                        };
                        let result = convert_object(&deps, &object, cancel).await;
                        if tried > 0 && cancel.is_cancelled() {
                            report.stopped = Some(format!(
                                "the deadline cut the conversion of {}",
                                planned.key
                            ));
                            report.next_start_after = last;
                            return Ok(report);
                        }
                        tried += 1;
                        report.tally.add(&result);
                        results.push(result);
                    }
                }
                last = Some(listed.key.clone());
            }
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(report),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::{json, Value};

    use super::*;
    use crate::lambda::config::LambdaConfig;
    use crate::lambda::handler::Handler;
    use crate::lambda::store::memory::MemoryStore;

    fn config(vars: &[(&str, &str)]) -> LambdaConfig {
        LambdaConfig::from_pairs(vars).unwrap()
    }

    /// Records the payloads it is asked to invoke with.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Value>>);

    #[async_trait::async_trait]
    impl Reinvoke for Recorder {
        async fn reinvoke(&self, payload: &Value) -> Result<()> {
            self.0.lock().unwrap().push(payload.clone());
            Ok(())
        }
    }

    fn csv(i: usize) -> Vec<u8> {
        format!("id,name\n{i},x{i}\n").into_bytes()
    }

    fn store_with(n: usize) -> MemoryStore {
        let store = MemoryStore::default();
        for i in 0..n {
            store.put(
                "b",
                &format!("incoming/f{i:02}.csv"),
                &csv(i),
                &format!("e{i}"),
            );
        }
        store
    }

    fn outputs(store: &MemoryStore) -> Vec<(String, String)> {
        let objects = store.objects.lock().unwrap();
        let mut out: Vec<(String, String)> = objects
            .iter()
            .filter(|((_, k), _)| k.starts_with("parquet/"))
            .map(|((_, k), o)| (k.clone(), o.etag.clone()))
            .collect();
        out.sort();
        out
    }

    /// Run invocations of `first` and of every re-invocation it asks for, each with a deadline
    /// `seconds` away; returns the reports.
    async fn pass(handler: &Handler, rec: &Recorder, first: Value, seconds: f64) -> Vec<Value> {
        let mut reports = Vec::new();
        let mut next = Some(first);
        while let Some(payload) = next.take() {
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            let r = handler.handle(&payload, Some(deadline)).await.unwrap();
            reports.push(r["reconcile"].clone());
            next = rec.0.lock().unwrap().pop();
            assert!(reports.len() < 50, "the pass does not end: {reports:?}");
        }
        reports
    }

    #[tokio::test]
    async fn a_pass_converts_each_missing_output_once_in_bounded_invocations() {
        let store = store_with(12);
        // Two already converted by their events; a bad one.
        store.put("b", "incoming/f05.csv", b"id,name\n1\n", "e5");
        let rec = Arc::new(Recorder::default());
        let handler = Handler::with_store(config(&[]), None, Arc::new(store.clone()))
            .with_reinvoke(rec.clone());
        for key in ["incoming/f00.csv", "incoming/f07.csv"] {
            let event = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "b"}, "object": {"key": key}}}]});
            handler.handle(&event, None).await.unwrap();
        }
        let before = outputs(&store);
        assert_eq!(before.len(), 2);
        let first = json!({"reconcile": {"bucket": "b", "max_objects": 4}});
        let reports = pass(&handler, &rec, first, 600.0).await;
        // 10 to convert (one bad), 4 per invocation: 3 invocations.
        assert_eq!(reports.len(), 3, "{reports:?}");
        assert_eq!(reports[0]["next_start_after"], "incoming/f04.csv");
        assert_eq!(reports[1]["round"], 1);
        let converted: u64 = reports
            .iter()
            .map(|r| r["tally"]["converted"].as_u64().unwrap())
            .sum();
        let bad: u64 = reports
            .iter()
            .map(|r| r["tally"]["bad_input"].as_u64().unwrap())
            .sum();
        assert_eq!((converted, bad), (9, 1));
        let after = outputs(&store);
        assert_eq!(after.len(), 11);
        // The two converted by their events were not converted again.
        for out in &before {
            assert!(after.contains(out), "{out:?} was replaced");
        }
        assert!(store.get("b", "failed/f05.csv.error.json").is_some());
        // A second pass converts nothing: everything is up to date or failed before.
        let reports = pass(&handler, &rec, json!({"reconcile": {"bucket": "b"}}), 600.0).await;
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert_eq!(reports[0]["tally"]["converted"], 0);
        assert_eq!(reports[0]["up_to_date"], 11);
        assert_eq!(reports[0]["failed_before"], 1);
        assert_eq!(outputs(&store), after);
    }

    #[tokio::test]
    async fn a_short_deadline_cuts_the_invocation_and_the_next_one_goes_on() {
        let store = store_with(3);
        let rec = Arc::new(Recorder::default());
        let config = config(&[("CSV2PQ_DEADLINE_MARGIN_SECS", "1")]);
        let handler =
            Handler::with_store(config, None, Arc::new(store.clone())).with_reinvoke(rec.clone());
        // 2.5 s to the deadline, 1 s of margin: one object fits, the next does not (it needs
        // MIN_OBJECT_SECS).
        let reports = pass(&handler, &rec, json!({"reconcile": {"bucket": "b"}}), 2.5).await;
        assert_eq!(reports.len(), 3, "{reports:?}");
        for (i, r) in reports.iter().enumerate() {
            assert_eq!(r["tally"]["converted"], 1, "{r}");
            if i < 2 {
                let stopped = r["stopped"].as_str().unwrap();
                assert!(stopped.contains("not enough time left"), "{stopped}");
                assert_eq!(r["reinvoked"], true);
            }
        }
        assert_eq!(outputs(&store).len(), 3);
        // Each output published once: the store numbers publishes.
        let etags: Vec<String> = outputs(&store).into_iter().map(|(_, e)| e).collect();
        assert_eq!(etags, ["out-1", "out-2", "out-3"]);
    }

    #[tokio::test]
    async fn a_reconcile_outside_the_input_prefix_or_malformed_is_an_error() {
        let store = store_with(1);
        let handler = Handler::with_store(config(&[]), None, Arc::new(store));
        let e = handler
            .handle(
                &json!({"reconcile": {"bucket": "b", "prefix": "other/"}}),
                None,
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("CSV2PQ_INPUT_PREFIX"), "{e}");
        let e = handler
            .handle(&json!({"reconcile": {"prefix": "incoming/"}}), None)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("bucket"), "{e}");
    }
}
