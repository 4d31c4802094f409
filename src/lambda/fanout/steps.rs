//! The fan-out steps the state machine runs (see the module docs of [`super`]).

use std::ops::Range;
use std::time::Instant;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::{Job, Step, WorkerResult};
use crate::convert::ConvertReport;
use crate::error::{error_chain, Error, ErrorKind, Result};
use crate::fanout::{self, check_options, convert_range, settle, Outcome, Plan, PlanSpec};
use crate::lambda::event::ObjectRef;
use crate::lambda::object::{superseded, unquoted, up_to_date, Decision, Deps, Target};
use crate::lambda::response::{Converted, ObjectResult};
use crate::lambda::store::{Destination, S3Store};
use crate::s3::fanout::{remove_prefix, FragmentObject};
use crate::s3::stitch::stitch_objects;
use crate::s3::{Op, S3Error};
use crate::sink::SinkFactory;
use crate::source::ByteSource;
use crate::stitch::Stitch;

/// Parts a stitch has in flight at least: a server-side copy holds no memory here, and one
/// copy request moves on the order of 100 MB/s (an assumption, not measured here), so a
/// terabyte's output needs many at once to fit one invocation. Gathered (uploaded) parts
/// are under 10 MiB each.
const COPY_PARTS_IN_FLIGHT: usize = 16;
/// The event name of the objects of a fan-out's steps.
const FANOUT_EVENT: &str = "csv2parquet:FanOut";
/// The name of the job object under its prefix.
const JOB_NAME: &str = "plan.json";

/// A step's answer about the object: `{"status": "done", "result": ...}`.
fn done(result: ObjectResult) -> Result<Value> {
    Ok(json!({ "status": "done", "result": result }))
}

impl Deps<'_> {
    /// Run `step`; `cancel` fires at the deadline margin.
    pub(crate) async fn fan_out_step(
        &self,
        step: Step,
        cancel: &CancellationToken,
    ) -> Result<Value> {
        let s3 = self.store.s3().ok_or_else(|| {
            Error::config("CSV2PQ_FAN_OUT_ABOVE", "the fan-out steps need an S3 store")
        })?;
        match step {
            Step::Plan {
                bucket,
                key,
                version_id,
            } => {
                let object = ObjectRef {
                    version_id,
                    ..ObjectRef::named(&bucket, &key, FANOUT_EVENT)
                };
                self.plan_job(s3, object).await
            }
            Step::Convert {
                bucket,
                plan_key,
                index,
            } => {
                let answer = self
                    .convert_job(s3, &bucket, &plan_key, index, cancel)
                    .await?;
                serde_json::to_value(answer).map_err(|e| Error::Internal(format!("answer: {e}")))
            }
            Step::Stitch {
                bucket,
                plan_key,
                results,
            } => {
                self.stitch_job(s3, &bucket, &plan_key, results, cancel)
                    .await
            }
            Step::Cleanup { bucket, plan_key } => {
                let prefix = job_prefix(&plan_key)?;
                let owner = s3.requests().expected_bucket_owner.as_deref();
                let removed = remove_prefix(s3.client(), &bucket, prefix, owner).await;
                Ok(json!({ "status": "cleaned", "removed": removed }))
            }
        }
    }

    /// A permanent failure is reported (and the object done with); a transient one is the
    /// step's error, for the state machine to retry.
    async fn give_up(
        &self,
        object: &ObjectRef,
        target: Target,
        etag: Option<String>,
        e: Error,
        started: Instant,
    ) -> Result<Value> {
        if e.is_retryable() {
            return Err(e);
        }
        done(self.failure(object, target, etag, e, started).await)
    }

    /// The plan step: decide as for an event, plan the ranges, write the job.
    async fn plan_job(&self, s3: &S3Store, object: ObjectRef) -> Result<Value> {
        let started = Instant::now();
        let target = match self.target(&object) {
            Ok(t) => t,
            Err(result) => return done(*result),
        };
        let options = self.options();
        if let Err(e) = options.validate().and_then(|_| check_options(&options)) {
            return self.give_up(&object, target, None, e, started).await;
        }
        match self.newer_version(&object).await {
            Ok(None) => {}
            Ok(Some(reason)) => return done(superseded(target, reason)),
            Err(e) => return self.give_up(&object, target, None, e, started).await,
        }
        let source = self.store.source(&object);
        let info = match source.head().await {
            Ok(i) => i,
            Err(e) => return self.give_up(&object, target, None, e, started).await,
        };
        let etag = info.etag.as_deref().map(unquoted);
        let fingerprint = options.fingerprint();
        let data = match self
            .decide(&target, None, etag.as_deref(), &fingerprint)
            .await
        {
            Ok(Decision::Convert { data, .. }) => data,
            Ok(Decision::UpToDate) => return done(up_to_date(target, etag.unwrap_or_default())),
            Err(e) => return self.give_up(&object, target, etag, e, started).await,
        };
        let workers = self
            .config
            .fan_out
            .as_ref()
            .map_or(1, |f| f.workers(info.size.unwrap_or(0)));
        let plan = match fanout::plan(source.as_ref(), &options, workers, 1).await {
            Ok(p) => p,
            Err(e) => return self.give_up(&object, target, etag, e, started).await,
        };
        let prefix = format!("{}.fragments/{}/", target.key, crate::s3::new_run_id());
        let ranges: Vec<usize> = (0..plan.ranges().len()).collect();
        let job = Job {
            input_bucket: object.bucket,
            input_key: object.key,
            version_id: object.version_id,
            etag,
            output_key: target.key.clone(),
            precondition: data.precondition,
            options: fingerprint,
            prefix,
            plan: PlanSpec::from(&plan),
        };
        let plan_key = format!("{}{JOB_NAME}", job.prefix);
        put_job(s3, &target.bucket, &plan_key, &job).await?;
        tracing::info!(input = %target.input, ranges = ranges.len(), job = %plan_key, "fan-out planned");
        Ok(json!({
            "status": "planned",
            "bucket": target.bucket,
            "plan_key": plan_key,
            "ranges": ranges,
            "input": target.input,
            "output": target.output,
        }))
    }

    /// The job at `bucket/plan_key` and its plan, checked against this function's options.
    async fn job(&self, s3: &S3Store, bucket: &str, plan_key: &str) -> Result<(Job, Plan)> {
        let job = get_job(s3, bucket, plan_key).await?;
        if job.options != self.options().fingerprint() {
            return Err(Error::config(
                "CSV2PQ_*",
                format!(
                    "the function's options changed during the fan-out of s3://{}/{} (planned with {}, now {})",
                    job.input_bucket,
                    job.input_key,
                    job.options,
                    self.options().fingerprint()
                ),
            ));
        }
        let plan = Plan::try_from(job.plan.clone())?;
        Ok((job, plan))
    }

    /// The input of `job`, checked to be the version planned: `Err(reason)` when it changed.
    async fn job_source(
        &self,
        job: &Job,
    ) -> Result<std::result::Result<Box<dyn ByteSource>, String>> {
        let source = self.store.source(&job.object());
        let now = source.head().await?.etag.as_deref().map(unquoted);
        if now != job.etag {
            return Ok(Err(format!(
                "the input changed during the fan-out (ETag {}, now {})",
                job.etag.as_deref().unwrap_or("none"),
                now.as_deref().unwrap_or("none")
            )));
        }
        Ok(Ok(source))
    }

    /// The convert step: range `index` of the job into its fragment.
    async fn convert_job(
        &self,
        s3: &S3Store,
        bucket: &str,
        plan_key: &str,
        index: usize,
        cancel: &CancellationToken,
    ) -> Result<WorkerResult> {
        let failed = |why: String| WorkerResult {
            index,
            failed: Some(why),
            ..WorkerResult::default()
        };
        let (job, plan) = match self.job(s3, bucket, plan_key).await {
            Ok(j) => j,
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => return Ok(failed(error_chain(&e))),
        };
        let range =
            plan.ranges().get(index).cloned().ok_or_else(|| {
                Error::Internal(format!("fan-out: no range {index} in {plan_key}"))
            })?;
        let source = match self.job_source(&job).await? {
            Ok(s) => s,
            Err(why) => return Ok(failed(why)),
        };
        let sinks = fragment_sinks(s3, bucket, &job);
        let options = self.options();
        let result = convert_range(
            source.as_ref(),
            &options,
            &plan,
            index,
            range,
            &sinks,
            cancel,
        )
        .await;
        match Outcome::from(result) {
            Outcome::Done(report) => Ok(worker_result(index, &report)),
            Outcome::EndsInQuote(_) => Ok(WorkerResult {
                index,
                ends_in_quote: true,
                ..WorkerResult::default()
            }),
            Outcome::Failed(Some(e)) if e.is_retryable() => Err(e),
            Outcome::Failed(Some(e)) if e.kind() == ErrorKind::Cancelled => {
                Ok(failed(self.deadline_text(index)))
            }
            Outcome::Failed(e) => Ok(failed(e.map_or_else(String::new, |e| error_chain(&e)))),
        }
    }

    /// The error text of a range the deadline cut.
    fn deadline_text(&self, index: usize) -> String {
        format!(
            "{DEADLINE}: range {index} did not finish {} s before the invocation timeout; lower CSV2PQ_FAN_OUT_RANGE_BYTES or raise the function's timeout or memory",
            self.config.deadline_margin.as_secs()
        )
    }

    /// The stitch step: verify the ranges, stitch the fragments into the output, report.
    async fn stitch_job(
        &self,
        s3: &S3Store,
        bucket: &str,
        plan_key: &str,
        results: Vec<WorkerResult>,
        cancel: &CancellationToken,
    ) -> Result<Value> {
        let started = Instant::now();
        let (job, plan) = self.job(s3, bucket, plan_key).await?;
        let object = job.object();
        let target = Target {
            input: object.url(),
            bucket: bucket.to_string(),
            key: job.output_key.clone(),
            output: format!("s3://{bucket}/{}", job.output_key),
        };
        let owner = s3.requests().expected_bucket_owner.as_deref();
        let answer = async {
            let source = match self.job_source(&job).await? {
                Ok(s) => s,
                Err(why) => return done(superseded(target, why)),
            };
            let options = self.options();
            let sinks = fragment_sinks(s3, bucket, &job);
            let run = |id: usize, range: Range<u64>| {
                let (source, options, plan, sinks) = (source.as_ref(), &options, &plan, &sinks);
                async move {
                    convert_range(source, options, plan, id, range, sinks, cancel)
                        .await
                        .map(|r| worker_result(id, &r))
                }
            };
            let outcomes = outcomes(&plan, results)?;
            let settled = settle(plan.ranges(), outcomes, run).await;
            let (_, ids, workers) = match settled {
                Ok(s) => s,
                Err(e) => {
                    return self
                        .give_up(&object, target, job.etag.clone(), e, started)
                        .await
                }
            };
            let keys: Vec<String> = ids.iter().map(|&i| job.fragment(i)).collect();
            let destination = Destination {
                key: job.output_key.clone(),
                precondition: job.precondition.clone(),
            };
            let parts = s3.parts_in_flight().max(COPY_PARTS_IN_FLIGHT);
            let sink = s3.sink_with_parts(bucket, &destination, parts);
            match stitch_objects(s3.client(), bucket, &keys, sink, &plan.metadata).await {
                Ok(stitched) => done(stitched_result(
                    target, &job, &plan, &workers, &stitched, started,
                )),
                Err(e) if e.kind() == ErrorKind::Conflict => {
                    let fingerprint = job.options.clone();
                    let lost =
                        self.lost_race(&object, target, job.etag.clone(), &fingerprint, e, started);
                    done(lost.await)
                }
                Err(e) => {
                    self.give_up(&object, target, job.etag.clone(), e, started)
                        .await
                }
            }
        }
        .await;
        // A transient failure keeps the fragments for the retry (the state machine's catch
        // removes them when the retries run out).
        if answer.is_ok() {
            remove_prefix(s3.client(), bucket, &job.prefix, owner).await;
        }
        answer
    }
}

/// The text a range cut by the deadline is reported with.
const DEADLINE: &str = "deadline";

/// The workers' answers as outcomes, in range order; every range must have one.
fn outcomes(plan: &Plan, mut results: Vec<WorkerResult>) -> Result<Vec<Outcome<WorkerResult>>> {
    results.sort_by_key(|r| r.index);
    let n = plan.ranges().len();
    if results.len() != n || results.iter().enumerate().any(|(i, r)| r.index != i) {
        return Err(Error::Internal(format!(
            "fan-out: the stitch needs one result for each of the {n} ranges, got {}",
            results.len()
        )));
    }
    Ok(results
        .into_iter()
        .map(|r| match (&r.failed, r.ends_in_quote, r.rows) {
            (Some(why), _, _) if why.starts_with(DEADLINE) => {
                Outcome::Failed(Some(Error::Cancelled(why.clone())))
            }
            (Some(_), _, _) => Outcome::Failed(None),
            (None, true, _) => Outcome::EndsInQuote(None),
            (None, false, Some(_)) => Outcome::Done(r),
            (None, false, None) => Outcome::Failed(None),
        })
        .collect())
}

/// A range's answer from its report.
fn worker_result(index: usize, report: &ConvertReport) -> WorkerResult {
    WorkerResult {
        index,
        rows: Some(report.rows),
        bytes_in: report.bytes_in,
        nulled: report.nulled,
        utf8_replaced: report.utf8_replaced,
        ..WorkerResult::default()
    }
}

/// The converted object's result.
fn stitched_result(
    target: Target,
    job: &Job,
    plan: &Plan,
    workers: &[WorkerResult],
    stitched: &Stitch,
    started: Instant,
) -> ObjectResult {
    let sum = |f: fn(&WorkerResult) -> u64| workers.iter().map(f).sum::<u64>();
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(outcome = "converted", input = %target.input, ranges = workers.len(), rows = stitched.rows, bytes_out = stitched.size, output = %target.output, seconds, "fan-out stitched");
    ObjectResult::Converted(Box::new(Converted {
        input: target.input,
        etag: job.etag.clone(),
        output: target.output,
        rows: sum(|w| w.rows.unwrap_or(0)),
        nulled: sum(|w| w.nulled),
        rejected: 0,
        utf8_replaced: sum(|w| w.utf8_replaced),
        widened: Vec::new(),
        rejects: None,
        bytes_in: sum(|w| w.bytes_in),
        bytes_out: stitched.size,
        row_groups: stitched.row_groups,
        schema: plan.inferred.schema.clone(),
        dialect: plan.inferred.dialect.clone(),
        seconds,
    }))
}

/// The sinks of a job's fragments.
fn fragment_sinks<'a>(
    s3: &'a S3Store,
    bucket: &'a str,
    job: &'a Job,
) -> impl Fn(usize, &Range<u64>) -> Result<Box<dyn SinkFactory>> + Sync + 'a {
    move |i: usize, _range: &Range<u64>| -> Result<Box<dyn SinkFactory>> {
        Ok(Box::new(FragmentObject::new(
            s3.client().clone(),
            bucket,
            &job.fragment(i),
            s3.parts_in_flight(),
            s3.requests().clone(),
        )))
    }
}

/// The prefix of the job at `plan_key`.
fn job_prefix(plan_key: &str) -> Result<&str> {
    plan_key
        .strip_suffix(JOB_NAME)
        .filter(|p| p.ends_with('/') && p.contains(".fragments/"))
        .ok_or_else(|| Error::Internal(format!("fan-out: {plan_key:?} is no job key")))
}

impl Job {
    /// The input, as an event names it.
    fn object(&self) -> ObjectRef {
        ObjectRef {
            etag: self.etag.clone(),
            version_id: self.version_id.clone(),
            ..ObjectRef::named(&self.input_bucket, &self.input_key, FANOUT_EVENT)
        }
    }
}

/// Write `job` to `bucket/key`.
async fn put_job(s3: &S3Store, bucket: &str, key: &str, job: &Job) -> Result<()> {
    let body = serde_json::to_vec(job).map_err(|e| Error::Internal(format!("fan-out job: {e}")))?;
    let r = s3.requests();
    s3.client()
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .set_server_side_encryption(r.sse.clone())
        .set_ssekms_key_id(r.sse_kms_key_id.clone())
        .set_expected_bucket_owner(r.expected_bucket_owner.clone())
        .body(body.into())
        .send()
        .await
        .map_err(|e| {
            S3Error::request(Op::PutObject, format!("s3://{bucket}/{key}"), e)
                .for_purpose("the fan-out job")
        })?;
    Ok(())
}

/// Read the job at `bucket/key`.
async fn get_job(s3: &S3Store, bucket: &str, key: &str) -> Result<Job> {
    let location = format!("s3://{bucket}/{key}");
    let out = s3
        .client()
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_expected_bucket_owner(s3.requests().expected_bucket_owner.clone())
        .send()
        .await
        .map_err(|e| {
            S3Error::request(Op::GetObject, &location, e).for_purpose("the fan-out job")
        })?;
    let body = out.body.collect().await.map_err(|e| Error::Store {
        op: "GetObject".into(),
        location: location.clone(),
        retryable: true,
        kind: ErrorKind::Io,
        source: Box::new(e),
    })?;
    serde_json::from_slice(&body.into_bytes())
        .map_err(|e| Error::Internal(format!("{location}: not a fan-out job: {e}")))
}
