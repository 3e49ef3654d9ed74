//! The `bootstrap` as Lambda runs it: through the real Lambda Runtime API emulator
//! (`cargo lambda watch --only-lambda-apis`), invoked with `cargo lambda invoke`, writing to a
//! moto_server of its own. scripts/test.sh builds the binary and provides cargo-lambda
//! (`ROLEWARDEN_BOOTSTRAP`, `ROLEWARDEN_CARGO_LAMBDA`); `#[ignore]`d for a plain `cargo test`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::aws::{self, unique, OwnServer};
use rolewarden::aws::reader::AccountReader;
use rolewarden::decode::{read_slice, Event, Item};
use rolewarden::{Baseline, Engine, Finding};
use serde_json::Value;

pub(crate) fn required(var: &str) -> PathBuf {
    let path = std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the Lambda tests through scripts/test.sh")
    });
    let path = PathBuf::from(path);
    assert!(path.is_file(), "{var}: {} does not exist", path.display());
    path
}

pub(crate) fn bootstrap() -> PathBuf {
    required("ROLEWARDEN_BOOTSTRAP")
}

/// Kills the process when dropped, so a failed assertion leaves nothing running.
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `cargo lambda watch --only-lambda-apis` on 127.0.0.1; the environment it says the function
/// needs (`AWS_LAMBDA_RUNTIME_API=...` and friends).
pub(crate) fn start_runtime_api(port: u16) -> (Running, Vec<(String, String)>) {
    let mut child = Command::new(required("ROLEWARDEN_CARGO_LAMBDA"))
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
        ])
        .arg(port.to_string())
        .current_dir(crate::common::root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let running = Running(child);
    let mut env = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                panic!("cargo lambda watch printed no runtime address; got {env:?}")
            });
        if let Some((_, pair)) = line.split_once("INFO ") {
            if let Some((k, v)) = pair.trim().split_once('=') {
                if k.starts_with("AWS_LAMBDA_") && !k.contains(' ') {
                    env.push((k.to_owned(), v.to_owned()));
                }
            }
        }
        if line.contains("starting Runtime server") {
            break;
        }
    }
    assert!(
        env.iter().any(|(k, _)| k == "AWS_LAMBDA_RUNTIME_API"),
        "{env:?}"
    );
    (running, env)
}

/// The function name `cargo lambda watch` serves (`_` when it names none).
pub(crate) fn function_name(lambda_env: &[(String, String)]) -> String {
    lambda_env
        .iter()
        .find(|(k, _)| k == "AWS_LAMBDA_FUNCTION_NAME")
        .map_or("_".to_owned(), |(_, v)| v.clone())
}

pub(crate) fn invoke(port: u16, function: &str, file: &Path) -> Output {
    Command::new(required("ROLEWARDEN_CARGO_LAMBDA"))
        .args(["lambda", "invoke", "-A", "127.0.0.1", "-P"])
        .arg(port.to_string())
        .arg("--data-file")
        .arg(file)
        .arg(function)
        .output()
        .unwrap()
}

/// What the engine finds for one payload with the same baseline and the same account.
async fn expected(engine: &Engine, reader: &AccountReader, payload: &[u8]) -> Vec<Finding> {
    let mut items = Vec::new();
    read_slice(payload, &mut |i| items.push(i)).unwrap();
    let mut out = Vec::new();
    for item in items {
        if let Item::Record {
            record, envelope, ..
        } = item
        {
            let event = Event::new(*record, envelope);
            let snapshot = reader
                .snapshot(&engine.needs(&event), engine.baseline())
                .await;
            out.extend(engine.evaluate(&event, &snapshot).findings);
        }
    }
    out
}

#[test]
#[ignore = "needs cargo-lambda, the bootstrap and moto_server: run by scripts/test.sh"]
fn every_sample_through_the_lambda_runtime_api() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut server = OwnServer::start();
    let config = rt.block_on(aws::config_for(&server.url));
    rt.block_on(aws::seed_sample_roles(&aws_sdk_iam::Client::new(&config)));
    // A Connect service-linked role no instance uses: the schedule and the DeleteInstance
    // re-check must both report it (OR002).
    rt.block_on(async {
        aws_sdk_iam::Client::new(&config)
            .create_role()
            .role_name("AWSServiceRoleForAmazonConnect_ORPHAN")
            .path("/aws-service-role/connect.amazonaws.com/")
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"connect.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
            .send()
            .await
            .unwrap();
    });

    let port = aws::free_port();
    let (_watch, lambda_env) = start_runtime_api(port);
    let function = function_name(&lambda_env);
    let group = format!("/rolewarden/{}", unique("lambda"));
    let log = tempfile::NamedTempFile::new().unwrap();
    let function_process = Running(
        Command::new(bootstrap())
            .envs(lambda_env.iter().cloned())
            .env("AWS_ENDPOINT_URL", &server.url)
            .env("FINDINGS_LOG_GROUP", &group)
            .env("AWS_MAX_ATTEMPTS", "2")
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap(),
    );

    let engine = Engine::new(Baseline::embedded().unwrap());
    let reader = AccountReader::new(
        &config,
        &Default::default(),
        Duration::from_secs(300),
        engine.baseline(),
    );
    let mut samples: Vec<PathBuf> = std::fs::read_dir(crate::common::root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    samples.sort();
    // Event findings are predicted by the engine with the same account view; a sweep's are
    // checked by what they must contain (the orphaned Connect role), its ids by the log group.
    let mut all_expected: Vec<Option<Finding>> = Vec::new();
    let mut swept: Vec<(String, Vec<String>)> = Vec::new();
    for path in &samples {
        let out = invoke(port, &function, path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            out.status.success(),
            "{name}: {}\n{}\nbootstrap log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(log.path()).unwrap()
        );
        let response: Value = serde_json::from_slice(&out.stdout).unwrap();
        let want = rt.block_on(expected(&engine, &reader, &std::fs::read(path).unwrap()));
        let ids: Vec<String> = response["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        let predicted: Vec<&str> = want.iter().map(|f| f.id.as_str()).collect();
        assert!(
            ids.len() >= predicted.len() && ids[..predicted.len()] == predicted[..],
            "{name}: {response}"
        );
        let status = if name.starts_with("unwatched-") {
            "ignored"
        } else if name.starts_with("sweep-") || name.starts_with("recheck-") {
            "swept"
        } else {
            "evaluated"
        };
        assert_eq!(response["status"], status, "{name}: {response}");
        assert_eq!(response["sink"], format!("cloudwatch:{group}"));
        if status == "swept" {
            swept.push((name.clone(), ids[predicted.len()..].to_vec()));
        } else {
            assert_eq!(ids.len(), predicted.len(), "{name}: {response}");
        }
        let sweep_count = ids.len() - predicted.len();
        all_expected.extend(want.into_iter().map(Some));
        all_expected.extend((0..sweep_count).map(|_| None));
    }
    assert!(all_expected.len() > 40, "{}", all_expected.len());
    assert!(all_expected.iter().flatten().any(|f| f.rule_id == "PR006"));
    let stored: Vec<Finding> = rt
        .block_on(aws::read_log_group(&config, &group))
        .iter()
        .map(|m| serde_json::from_str(m).unwrap())
        .collect();
    assert_eq!(
        stored.len(),
        all_expected.len(),
        "every finding reached the log group"
    );
    for (got, want) in stored.iter().zip(&all_expected) {
        match want {
            Some(want) => assert_eq!(got, want, "field for field"),
            None => assert_eq!(got.event.name.as_deref(), Some("AccountSweep"), "{got:?}"),
        }
    }
    for (name, ids) in &swept {
        let rules: Vec<(&str, &str)> = stored
            .iter()
            .filter(|f| ids.contains(&f.id))
            .map(|f| {
                (
                    f.rule_id.as_str(),
                    f.resource.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        let orphan = rules.iter().any(|(rule, resource)| {
            *rule == "OR002" && resource.ends_with("/AWSServiceRoleForAmazonConnect_ORPHAN")
        });
        // The Lex re-check looks at Lex roles only; the schedule and Connect's see the orphan.
        let gaps: Vec<&Finding> = stored
            .iter()
            .filter(|f| ids.contains(&f.id) && f.rule_id == "RW002")
            .collect();
        assert!(
            gaps.is_empty(),
            "{name}: the sweep could not read everything: {gaps:#?}"
        );
        assert_eq!(orphan, !name.contains("lex"), "{name}: {rules:?}");
    }
    assert_eq!(swept.len(), 3, "{swept:?}");

    // What the function's memory setting must hold: the peak after every sample and 3 sweeps.
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", function_process.0.id())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    println!(
        "bootstrap peak RSS after {} invocations (3 of them sweeps): {} MB",
        samples.len(),
        peak_kb / 1024
    );
    assert!(peak_kb < 128 * 1024, "{peak_kb} kB");

    // The AWS API goes away: the invocation fails as Retryable, it never reports success.
    server.stop();
    let out = invoke(
        port,
        &function,
        &crate::common::root().join("events/sl001-fires-attach-policy-to-lex-slr.json"),
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("Retryable"), "{said}");
    assert!(said.contains("findings were not written"), "{said}");
}

#[test]
#[ignore = "needs the bootstrap: run by scripts/test.sh"]
fn an_invalid_baseline_fails_the_init_naming_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[rules]\ndisabled = [\"PR999\"]\n").unwrap();
    let out = Command::new(bootstrap())
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("ROLEWARDEN_BASELINE", &path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rolewarden cannot start")
            && stderr.contains("PR999")
            && stderr.contains("line 2"),
        "{stderr}"
    );
}

/// A stand-in Runtime API that only notes when the first `GET .../invocation/next` arrives.
fn first_poll_after(listener: &TcpListener, started: Instant) -> Duration {
    let (mut stream, _) = listener.accept().unwrap();
    let arrived = started.elapsed();
    let mut request = [0u8; 512];
    let n = stream.read(&mut request).unwrap();
    let line = String::from_utf8_lossy(&request[..n]);
    assert!(
        line.starts_with("GET /2018-06-01/runtime/invocation/next"),
        "{line}"
    );
    let _ = stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n");
    arrived
}

/// Every one of 20 cold starts reaches the Runtime API's first poll. The time it takes is
/// printed for the README's performance table, never asserted: this machine's speed varies
/// too much for a wall-clock bound to mean anything in a test. With
/// `ROLEWARDEN_BOOTSTRAP_COMPARE=PATH` (an older build), both binaries are started in turn, so
/// that the machine's drift hits both alike, and the ratio of their medians is printed.
#[test]
#[ignore = "needs the bootstrap: run by scripts/test.sh"]
fn cold_start_reaches_the_first_poll() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let mut programs = vec![bootstrap()];
    programs.extend(std::env::var_os("ROLEWARDEN_BOOTSTRAP_COMPARE").map(PathBuf::from));
    let mut times = vec![Vec::new(); programs.len()];
    for _ in 0..20 {
        for (program, times) in programs.iter().zip(&mut times) {
            let started = Instant::now();
            let child = Command::new(program)
                .env("AWS_LAMBDA_RUNTIME_API", &address)
                .env("AWS_LAMBDA_FUNCTION_NAME", "rolewarden")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("FINDINGS_LOG_GROUP", "/rolewarden/findings")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let _running = Running(child);
            times.push(first_poll_after(&listener, started));
        }
    }
    let mut medians = Vec::new();
    for (program, times) in programs.iter().zip(&mut times) {
        times.sort();
        let median = times[times.len() / 2];
        medians.push(median);
        println!(
            "cold start (exec to first GET /runtime/invocation/next) of {}, 20 runs: median {median:?}, min {:?}, max {:?}",
            program.display(),
            times[0],
            times[times.len() - 1]
        );
    }
    if let [ours, theirs] = medians[..] {
        println!(
            "cold start: median ratio {:.2} (first binary / ROLEWARDEN_BOOTSTRAP_COMPARE)",
            ours.as_secs_f64() / theirs.as_secs_f64()
        );
    }
}
