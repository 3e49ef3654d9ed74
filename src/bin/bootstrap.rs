//! The Lambda function. `main` only: tracing, settings and baseline (validated once), SDK
//! clients (built once), then the runtime loop. The work is in `rolewarden::lambda`.

// The handler's future (generic over the account source and sink, awaited inside the runtime's
// service) is deeper than the compiler's default layout query depth of 128.
#![recursion_limit = "256"]

use std::process::ExitCode;

use lambda_runtime::{service_fn, LambdaEvent};
use rolewarden::lambda::{Answer, App, HandlerError, Invocation, Settings};
use rolewarden::Engine;
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    init_tracing();
    let package_dir = std::env::var_os("LAMBDA_TASK_ROOT").map(std::path::PathBuf::from);
    let settings = match Settings::from_env(&|k| std::env::var(k).ok(), package_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => return init_failed(&e),
    };
    let baseline = match settings.load_baseline() {
        Ok(b) => b,
        Err(e) => return init_failed(&e),
    };
    for warning in &baseline.warnings {
        tracing::warn!(baseline = %baseline.source_name, "{warning}");
    }
    let config = rolewarden::aws::load_config().await;
    let app = App::new(Engine::new(baseline), &config, &settings);
    tracing::info!(
        sinks = ?settings.sinks,
        log_group = %settings.log_group,
        reader_role = settings.reader_role.as_ref().map(|r| r.name.as_str()).unwrap_or("none"),
        sweep_queue = settings.sweep_queue_url.as_deref().unwrap_or("none"),
        "rolewarden ready"
    );
    let app = &app;
    let handler = service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        let invocation =
            Invocation::from_context(event.context.deadline, &event.context.invoked_function_arn);
        let response: Result<Answer, HandlerError> = app
            .invoke(event.payload.get().as_bytes(), &invocation)
            .await;
        match &response {
            Ok(r) => tracing::info!(
                request_id = %event.context.request_id,
                status = r.status(),
                event_id = r.event_id().unwrap_or_default(),
                findings = r.findings(),
                "invocation done"
            ),
            Err(e) => tracing::error!(
                request_id = %event.context.request_id,
                error_type = e.error_type(),
                "{e}"
            ),
        }
        response
    });
    match lambda_runtime::run(handler).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("runtime loop ended: {e}");
            ExitCode::FAILURE
        }
    }
}

/// JSON when the function's log format is JSON (`AWS_LAMBDA_LOG_FORMAT=JSON`), plain text
/// otherwise; level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`, default `info`. Written to stderr so
/// `FINDINGS_SINK=stdout` keeps stdout to findings alone.
fn init_tracing() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into())
        .to_ascii_lowercase();
    let filter = tracing_subscriber::EnvFilter::try_new(&level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_target(false);
    if std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn init_failed(e: &dyn std::fmt::Display) -> ExitCode {
    tracing::error!("rolewarden cannot start: {e}");
    ExitCode::FAILURE
}
