//! Backfill: convert what is already in the bucket. The function converts objects as their
//! events arrive; the objects that were there before the trigger existed, and those whose
//! events were lost (S3 delivers events at least once, but an asynchronous invocation ages out
//! after 6 hours), are found here by listing the input prefix.
//!
//! Each listed object is judged by the function's own rules, so a backfill converts exactly
//! what the function would, and nothing twice:
//! - a key the function would not convert (outside the input prefix, its own output) is skipped;
//! - an output that records this input's ETag and these options' fingerprint is up to date;
//! - an error report (`<failed prefix><key>.error.json`) that records the same ETag and
//!   fingerprint means this input failed with these options before: it is not retried until
//!   the input or the options change (or `--force`);
//! - anything else is converted, and the plan says why (no output, the input changed, the
//!   options changed).
//!
//! The conversion itself is the function's ([`super::object::convert_object`]): it looks at
//! the output again, publishes conditionally, and writes the error report of a bad input.
//! [`super::reconcile`] runs the same plan inside the function, a bounded slice per invocation.

use futures::StreamExt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::config::LambdaConfig;
use super::event::ObjectRef;
use super::object::{convert_object, Deps};
use super::response::ObjectResult;
pub use super::response::Tally;
use super::routing::Route;
use super::store::Listed;
use crate::budget::MIN_MEMORY_LIMIT;
use crate::error::{Error, Result};

/// Objects judged at once while planning.
const ASSESS_IN_FLIGHT: usize = 16;

/// An object the plan converts.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    /// `s3://bucket/key`.
    pub input: String,
    /// The object key.
    #[serde(skip)]
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its ETag (without quotes).
    pub etag: Option<String>,
    /// Where its Parquet object goes.
    pub output: String,
    /// Why it is converted.
    pub reason: String,
}

/// An object that failed with these options before, and is not retried.
#[derive(Debug, Clone, Serialize)]
pub struct FailedBefore {
    /// `s3://bucket/key`.
    pub input: String,
    /// Its error report.
    pub report: String,
}

/// What a backfill would do with the objects under a prefix.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// The bucket listed.
    pub bucket: String,
    /// The prefix listed.
    pub prefix: String,
    /// Objects listed.
    pub listed: usize,
    /// Objects to convert, in key order, with the reason.
    pub convert: Vec<Planned>,
    /// Their bytes.
    pub bytes: u64,
    /// Objects whose output is up to date.
    pub up_to_date: usize,
    /// Objects that failed with these options before (see the module docs).
    pub failed_before: Vec<FailedBefore>,
    /// Objects the function does not convert (outside the input prefix, its own outputs).
    pub skipped: usize,
}

/// What the plan makes of one listed object.
pub(crate) enum Assessment {
    /// The function would not convert it.
    Skipped,
    /// Its output is up to date.
    UpToDate,
    /// It failed with these options before; the report's location.
    FailedBefore(String),
    /// Convert it.
    Convert(Planned),
}

/// The configuration of one of `concurrency` conversions run at once: the memory limit and
/// the workers divided between them, so that together they stay within the configured limit.
pub fn split_config(config: &LambdaConfig, concurrency: usize) -> Result<LambdaConfig> {
    let n = concurrency.max(1);
    let mut each = config.clone();
    let memory = config.options.memory_limit / n;
    if memory < MIN_MEMORY_LIMIT {
        return Err(Error::config(
            "--concurrency",
            format!(
                "{n} conversions at once leave {} MiB of the {} MiB memory limit each; each needs at least {} MiB (raise --memory-limit or lower --concurrency)",
                memory >> 20,
                config.options.memory_limit >> 20,
                MIN_MEMORY_LIMIT >> 20
            ),
        ));
    }
    each.options.memory_limit = memory;
    if config.options.workers > 0 {
        each.options.workers = (config.options.workers / n).max(1);
    } else {
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        each.options.workers = (cores / n).max(1);
    }
    each.options.validate()?;
    Ok(each)
}

impl Deps<'_> {
    /// The listing prefix for `prefix`: the input prefix when `prefix` is above it (or
    /// empty); an error when nothing under `prefix` is converted by the function.
    pub(crate) fn listing_prefix(&self, bucket: &str, prefix: &str) -> Result<String> {
        let input = &self.config.rules.input_prefix;
        if input.starts_with(prefix) {
            return Ok(input.clone());
        }
        if prefix.starts_with(input.as_str()) {
            return Ok(prefix.to_string());
        }
        Err(Error::config(
            "PREFIX",
            format!(
                "the function converts only objects under s3://{bucket}/{input} (CSV2PQ_INPUT_PREFIX), and s3://{bucket}/{prefix} is not under it"
            ),
        ))
    }

    /// What the plan makes of `listed` in `bucket`.
    pub(crate) async fn assess(&self, bucket: &str, listed: &Listed) -> Result<Assessment> {
        let output_key = match self.config.rules.route(&listed.key) {
            Route::Convert { output_key } => output_key,
            Route::Skip { .. } => return Ok(Assessment::Skipped),
        };
        let etag = match &listed.etag {
            Some(e) => Some(e.clone()),
            // Listings of some stores carry no ETag: ask for it.
            None => match self.store.current(bucket, &listed.key).await? {
                Some(c) => c.etag.map(|e| e.trim_matches('"').to_string()),
                None => return Ok(Assessment::Skipped),
            },
        };
        let out_bucket = self
            .config
            .output_bucket
            .clone()
            .unwrap_or_else(|| bucket.to_string());
        let fingerprint = self.options().fingerprint();
        let same = |state: &super::store::OutputState| {
            etag.is_some()
                && state.source_etag == etag
                && state.options.as_deref() == Some(fingerprint.as_str())
        };
        let existing = self.store.output(&out_bucket, &output_key).await?;
        let reason = match &existing {
            _ if self.config.force => "forced (--force / CSV2PQ_FORCE)".to_string(),
            None => "no output".to_string(),
            Some(state) if same(state) => return Ok(Assessment::UpToDate),
            Some(state) if state.source_etag != etag => format!(
                "the input changed: the output records ETag {}, the input has {}",
                state.source_etag.as_deref().unwrap_or("none"),
                etag.as_deref().unwrap_or("none")
            ),
            Some(_) => {
                "the options changed: the output records another options fingerprint".to_string()
            }
        };
        if !self.config.force {
            if let Some(report_key) = self.config.rules.error_report_key(&listed.key) {
                if let Some(report) = self.store.output(&out_bucket, &report_key).await? {
                    if same(&report) {
                        let report = format!("s3://{out_bucket}/{report_key}");
                        return Ok(Assessment::FailedBefore(report));
                    }
                }
            }
        }
        Ok(Assessment::Convert(Planned {
            input: format!("s3://{bucket}/{}", listed.key),
            key: listed.key.clone(),
            size: listed.size,
            etag,
            output: format!("s3://{out_bucket}/{output_key}"),
            reason,
        }))
    }

    /// The plan for the objects under `prefix` in `bucket` (every page of the listing).
    pub(crate) async fn plan(&self, bucket: &str, prefix: &str) -> Result<Plan> {
        let prefix = self.listing_prefix(bucket, prefix)?;
        let mut plan = Plan {
            bucket: bucket.to_string(),
            prefix: prefix.clone(),
            ..Plan::default()
        };
        let mut token = None;
        loop {
            let page = self.store.list(bucket, &prefix, None, token).await?;
            // A page's objects are judged a few at a time (each takes one to three HEADs), in
            // order.
            let judged: Vec<Result<Assessment>> = futures::stream::iter(&page.objects)
                .map(|listed| self.assess(bucket, listed))
                .buffered(ASSESS_IN_FLIGHT)
                .collect()
                .await;
            for (listed, judged) in page.objects.iter().zip(judged) {
                plan.listed += 1;
                match judged? {
                    Assessment::Skipped => plan.skipped += 1,
                    Assessment::UpToDate => plan.up_to_date += 1,
                    Assessment::FailedBefore(report) => plan.failed_before.push(FailedBefore {
                        input: format!("s3://{bucket}/{}", listed.key),
                        report,
                    }),
                    Assessment::Convert(p) => {
                        plan.bytes += p.size;
                        plan.convert.push(p);
                    }
                }
            }
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(plan),
            }
        }
    }

    /// Convert the planned objects, `concurrency` at once; `done` sees each result as it
    /// comes (in completion order). `cancel` stops the conversions under way.
    pub(crate) async fn convert_planned(
        &self,
        bucket: &str,
        planned: &[Planned],
        concurrency: usize,
        cancel: &CancellationToken,
        mut done: impl FnMut(&Planned, ObjectResult),
    ) {
        let mut runs = futures::stream::iter(planned.iter().map(|p| async move {
            let object = planned_object(bucket, p);
            (p, convert_object(self, &object, cancel).await)
        }))
        .buffer_unordered(concurrency.max(1));
        while let Some((p, result)) = runs.next().await {
            done(p, result);
        }
    }
}

/// The object a planned conversion reads: the current version (listings name no version; the
/// conversion pins the ETag it finds).
pub(crate) fn planned_object(bucket: &str, p: &Planned) -> ObjectRef {
    ObjectRef {
        bucket: bucket.to_string(),
        key: p.key.clone(),
        size: Some(p.size),
        etag: p.etag.clone(),
        version_id: None,
        event_name: "csv2parquet:Backfill".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::lambda::handler::Handler;
    use crate::lambda::store::memory::MemoryStore;

    fn config(vars: &[(&str, &str)]) -> LambdaConfig {
        LambdaConfig::from_pairs(vars).unwrap()
    }

    async fn backfill(handler: &Handler, plan: &Plan, n: usize) -> Tally {
        let mut tally = Tally::default();
        let cancel = CancellationToken::new();
        handler
            .backfill(plan, n, &cancel, |_, r| tally.add(&r))
            .await;
        tally
    }

    #[tokio::test]
    async fn the_plan_says_why_and_a_second_run_converts_nothing() {
        let store = MemoryStore::default();
        for i in 0..9 {
            let body = format!("id,v\n{i},x\n");
            store.put(
                "b",
                &format!("incoming/{i}.csv"),
                body.as_bytes(),
                &format!("e{i}"),
            );
        }
        store.put("b", "incoming/bad.csv", b"id,v\n1\n", "eb");
        store.put("b", "elsewhere/x.csv", b"id\n1\n", "ex");
        let handler = Handler::with_store(config(&[]), None, Arc::new(store.clone()));
        let plan = handler.plan_backfill("b", "").await.unwrap();
        assert_eq!(plan.prefix, "incoming/");
        assert_eq!((plan.listed, plan.convert.len()), (10, 10));
        assert!(plan.convert.iter().all(|p| p.reason == "no output"));
        assert_eq!(
            plan.convert[0].output, "s3://b/parquet/0.parquet",
            "{:?}",
            plan.convert[0]
        );
        let tally = backfill(&handler, &plan, 3).await;
        assert_eq!((tally.converted, tally.bad_input), (9, 1), "{tally:?}");
        assert!(!tally.all_done());

        let again = handler.plan_backfill("b", "incoming/").await.unwrap();
        assert_eq!(again.convert.len(), 0, "{again:?}");
        assert_eq!(again.up_to_date, 9);
        assert_eq!(again.failed_before.len(), 1);
        assert_eq!(
            again.failed_before[0].report,
            "s3://b/failed/bad.csv.error.json"
        );

        // A changed input, and other options, are converted again, each with its reason.
        store.put("b", "incoming/3.csv", b"id,v\n33,y\n", "e3b");
        let other = Handler::with_store(
            config(&[("CSV2PQ_COMPRESSION", "snappy")]),
            None,
            Arc::new(store.clone()),
        );
        let plan = handler.plan_backfill("b", "incoming/3").await.unwrap();
        assert_eq!(plan.convert.len(), 1);
        assert!(
            plan.convert[0].reason.contains("the input changed"),
            "{plan:?}"
        );
        let plan = other.plan_backfill("b", "incoming/").await.unwrap();
        assert_eq!(plan.convert.len(), 10, "{plan:?}");
        assert!(
            plan.convert[4].reason.contains("the options changed"),
            "{plan:?}"
        );
        assert!(plan.convert.iter().any(|p| p.key == "incoming/bad.csv"));
    }

    #[tokio::test]
    async fn a_prefix_the_function_does_not_convert_is_refused() {
        let handler = Handler::with_store(config(&[]), None, Arc::new(MemoryStore::default()));
        let e = handler.plan_backfill("b", "parquet/").await.unwrap_err();
        assert!(e.to_string().contains("not under it"), "{e}");
    }

    #[test]
    fn concurrency_divides_the_memory_limit() {
        let c = config(&[("CSV2PQ_MEMORY_LIMIT", "256MiB"), ("CSV2PQ_WORKERS", "4")]);
        let each = split_config(&c, 4).unwrap();
        assert_eq!(each.options.memory_limit, 64 << 20);
        assert_eq!(each.options.workers, 1);
        let e = split_config(&c, 32).unwrap_err();
        assert!(e.to_string().contains("at least 16 MiB"), "{e}");
    }
}
