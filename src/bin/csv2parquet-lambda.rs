//! `csv2parquet-lambda`: the AWS Lambda function. AWS clients and configuration are built once
//! at cold start (an invalid `CSV2PQ_*` variable fails there, naming it); each invocation runs
//! the shared handler.

use lambda_runtime::{service_fn, LambdaEvent};
use s3_csv2parquet::budget::resident::ResidentCeiling;
use s3_csv2parquet::lambda::config::LambdaConfig;
use s3_csv2parquet::lambda::fanout::StepFunctionsStart;
use std::sync::Arc;

use s3_csv2parquet::lambda::handler::{deadline_from_epoch_ms, Handler, LambdaReinvoke};
use s3_csv2parquet::s3::{build_client, S3Options};
use serde_json::Value;

/// jemalloc: lower peak RSS than glibc malloc for the pipeline's large buffers; options set at
/// build time in `.cargo/config.toml` (README, "Memory").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .init();
    let config = LambdaConfig::from_env()?;
    let _ceiling = ResidentCeiling::start(config.options.memory_limit);
    let client = build_client(&S3Options::default()).await;
    let mut handler = Handler::new(client, config).await?;
    // A reconcile pass that stops early goes on in a new invocation of this function.
    if let Ok(function) = std::env::var("AWS_LAMBDA_FUNCTION_NAME") {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let client = aws_sdk_lambda::Client::new(&sdk);
        handler = handler.with_reinvoke(Arc::new(LambdaReinvoke::new(client, function)));
        // An object of CSV2PQ_FAN_OUT_ABOVE bytes or more starts the fan-out state machine.
        let sfn = aws_sdk_sfn::Client::new(&sdk);
        handler = handler.with_fan_out(Arc::new(StepFunctionsStart::new(sfn)));
    }
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let handler = &handler;
        async move {
            let deadline = deadline_from_epoch_ms(event.context.deadline);
            handler
                .handle(&event.payload, deadline)
                .await
                .map_err(lambda_runtime::Diagnostic::from)
        }
    }))
    .await
}
