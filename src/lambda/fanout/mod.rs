//! Fan-out in the function: an object too large for one invocation is converted by a Step
//! Functions state machine (the template's `FanOutStateMachine`) whose steps are this
//! function's invocations, each with a `{"fanout": {"step": ...}}` event:
//!
//! 1. `plan` (`bucket`, `key`, `version_id`?): the object's own rules as for an event (routing,
//!    a late version, an output already up to date), then [`crate::fanout::plan`] (schema and
//!    dialect inferred once, cuts at plausible record starts). The job, a [`Job`], is written
//!    beside the output as `<output key>.fragments/<run>/plan.json` (a state's payload is
//!    limited to 256 KiB; a wide schema would not fit), and the answer lists the ranges the
//!    `Map` state runs. An object that needs no conversion answers `{"status": "done"}`.
//! 2. `convert` (`bucket`, `plan_key`, `index`), one per range: converts the records that
//!    start in the range, pinned to the planned ETag, into `fragment-NNNNN.parquet` under the
//!    job's prefix ([`crate::fanout::convert_range`]). A transient failure is the invocation's
//!    error (the state machine retries it); a range that ends inside a quoted field, or bad
//!    input, is answered as such.
//! 3. `stitch` (`bucket`, `plan_key`, `results`): verifies the boundaries in order and
//!    converts a range joined with the next again where a guess fell inside a quoted field
//!    ([`crate::fanout::settle`]; a failed range is converted again here for its error, as a
//!    single run would report it), then stitches the fragments server-side into the output
//!    under the precondition the plan decided (`If-None-Match`/`If-Match`), writes the error
//!    report for bad input, and removes the job's prefix. A transient failure keeps the
//!    fragments for the retry.
//! 4. `cleanup` (`bucket`, `plan_key`): the state machine's catch: aborts the uploads open
//!    under the job's prefix and removes it.
//!
//! An S3 event for an object of at least `CSV2PQ_FAN_OUT_ABOVE` bytes starts an execution
//! ([`StartFanOut`]) instead of converting, named after the object, its ETag and the options,
//! so a duplicate event does not start a second one.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::MIB;
use crate::error::{Error, Result};
use crate::fanout::PlanSpec;
use crate::sink::Precondition;

mod start;
mod steps;

pub use start::{StartFanOut, StepFunctionsStart};

/// Ranges a plan makes at most by default.
pub const DEFAULT_MAX_WORKERS: usize = 1000;
/// Bytes per range by default: at ~100 MiB/s per vCPU, about 10 s of work per worker.
pub const DEFAULT_RANGE_BYTES: u64 = 1 << 30;

/// The fan-out settings (`CSV2PQ_FAN_OUT_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanOutConfig {
    /// Objects of at least this many bytes fan out (`CSV2PQ_FAN_OUT_ABOVE`).
    pub above: u64,
    /// Bytes per range (`CSV2PQ_FAN_OUT_RANGE_BYTES`).
    pub range_bytes: u64,
    /// Ranges at most (`CSV2PQ_FAN_OUT_MAX_WORKERS`).
    pub max_workers: usize,
    /// The state machine an event starts (`CSV2PQ_FAN_OUT_STATE_MACHINE`, an ARN); without
    /// it events convert in one invocation, and only the steps' events fan out.
    pub state_machine: Option<String>,
}

impl FanOutConfig {
    /// The settings these variables give; `None` when `CSV2PQ_FAN_OUT_ABOVE` is unset or 0.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let size = |name: &str| -> Result<Option<u64>> {
            get(name)
                .map(|v| {
                    crate::config::parse_size(&v)
                        .map(|n| n as u64)
                        .map_err(|e| Error::config(name, e))
                })
                .transpose()
        };
        let above = match size("CSV2PQ_FAN_OUT_ABOVE")? {
            None | Some(0) => return Ok(None),
            Some(n) => n,
        };
        let range_bytes = size("CSV2PQ_FAN_OUT_RANGE_BYTES")?.unwrap_or(DEFAULT_RANGE_BYTES);
        if range_bytes < MIB as u64 {
            return Err(Error::config(
                "CSV2PQ_FAN_OUT_RANGE_BYTES",
                "must be at least 1MiB",
            ));
        }
        let max_workers = match get("CSV2PQ_FAN_OUT_MAX_WORKERS") {
            None => DEFAULT_MAX_WORKERS,
            Some(v) => v.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                Error::config(
                    "CSV2PQ_FAN_OUT_MAX_WORKERS",
                    format!("{v:?}: expected a whole number of at least 1"),
                )
            })?,
        };
        Ok(Some(FanOutConfig {
            above,
            range_bytes,
            max_workers,
            state_machine: get("CSV2PQ_FAN_OUT_STATE_MACHINE"),
        }))
    }

    /// Ranges for an object of `size` bytes.
    pub fn workers(&self, size: u64) -> usize {
        (size.div_ceil(self.range_bytes) as usize).clamp(1, self.max_workers)
    }
}

/// A step of a fan-out, as the state machine invokes the function.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "step", rename_all = "lowercase", deny_unknown_fields)]
pub enum Step {
    /// Plan the job of an input object.
    Plan {
        /// The input's bucket.
        bucket: String,
        /// The input's key.
        key: String,
        /// The input's version, when the event named one.
        #[serde(default)]
        version_id: Option<String>,
    },
    /// Convert one range into its fragment.
    Convert {
        /// The output bucket (where the job is).
        bucket: String,
        /// The job's key.
        plan_key: String,
        /// The range.
        index: usize,
    },
    /// Verify the ranges and stitch the fragments into the output.
    Stitch {
        /// The output bucket.
        bucket: String,
        /// The job's key.
        plan_key: String,
        /// The `convert` steps' answers.
        results: Vec<WorkerResult>,
    },
    /// Remove what a failed job left.
    Cleanup {
        /// The output bucket.
        bucket: String,
        /// The job's key.
        plan_key: String,
    },
}

impl Step {
    /// The step of a `{"fanout": {...}}` payload; `None` for any other event.
    pub fn from_payload(payload: &Value) -> Option<Result<Step>> {
        let step = payload.as_object()?.get("fanout")?;
        Some(
            serde_json::from_value(step.clone())
                .map_err(|e| Error::Internal(format!("a fan-out step event: {e}"))),
        )
    }
}

/// What the plan step decided, kept beside the fragments for the other steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// The input's bucket.
    pub input_bucket: String,
    /// The input's key.
    pub input_key: String,
    /// The input's version, when the event named one.
    pub version_id: Option<String>,
    /// The input's ETag (without quotes) when planned: every step reads that version.
    pub etag: Option<String>,
    /// The output's key (in the job's bucket).
    pub output_key: String,
    /// What the output must be for the stitch to publish over it.
    pub precondition: Precondition,
    /// The options' fingerprint: a step run with other options refuses the job.
    pub options: String,
    /// The prefix of the fragments (and of the job).
    pub prefix: String,
    /// The ranges, the pinned schema and dialect, the output's metadata.
    pub plan: PlanSpec,
}

impl Job {
    /// The key of range `index`'s fragment.
    pub fn fragment(&self, index: usize) -> String {
        format!("{}fragment-{index:05}.parquet", self.prefix)
    }
}

/// A `convert` step's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerResult {
    /// The range.
    pub index: usize,
    /// Rows written, when it converted its range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Bytes read.
    #[serde(default)]
    pub bytes_in: u64,
    /// Values stored as null (`on_error=null`).
    #[serde(default)]
    pub nulled: u64,
    /// Values whose invalid UTF-8 was replaced.
    #[serde(default)]
    pub utf8_replaced: u64,
    /// The range ended inside a quoted field (its end was no record start).
    #[serde(default)]
    pub ends_in_quote: bool,
    /// Why it failed (bad input, the input changed, a deadline), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Result<Option<FanOutConfig>> {
        let map: std::collections::HashMap<&str, &str> = pairs.iter().copied().collect();
        FanOutConfig::from_vars(|k| map.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn settings() {
        assert_eq!(vars(&[]).unwrap(), None);
        assert_eq!(vars(&[("CSV2PQ_FAN_OUT_ABOVE", "0")]).unwrap(), None);
        let c = vars(&[("CSV2PQ_FAN_OUT_ABOVE", "10GiB")]).unwrap().unwrap();
        assert_eq!((c.above, c.range_bytes), (10 << 30, DEFAULT_RANGE_BYTES));
        assert_eq!(c.workers(1), 1);
        assert_eq!(c.workers((10 << 30) + 1), 11);
        assert_eq!(c.workers(u64::MAX), DEFAULT_MAX_WORKERS);
        let bad = [
            ("CSV2PQ_FAN_OUT_ABOVE", "lots"),
            ("CSV2PQ_FAN_OUT_RANGE_BYTES", "1KiB"),
            ("CSV2PQ_FAN_OUT_MAX_WORKERS", "0"),
        ];
        for (name, value) in bad {
            let e = vars(&[("CSV2PQ_FAN_OUT_ABOVE", "1GiB"), (name, value)]).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
    }

    #[test]
    fn steps_parse_and_other_events_are_not_steps() {
        let step = Step::from_payload(&serde_json::json!({
            "fanout": {"step": "convert", "bucket": "b", "plan_key": "k", "index": 3}
        }));
        assert!(matches!(step, Some(Ok(Step::Convert { index: 3, .. }))));
        let typo = Step::from_payload(&serde_json::json!({
            "fanout": {"step": "convert", "bucket": "b", "plan_key": "k", "indx": 3}
        }));
        assert!(matches!(typo, Some(Err(_))));
        assert!(Step::from_payload(&serde_json::json!({"Records": []})).is_none());
    }
}
