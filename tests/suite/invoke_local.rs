//! `scripts/invoke-local.sh`, as a user runs it: the `bootstrap` under `cargo lambda
//! watch`, invoked with sample files. What it prints is what the CLI finds for the same files,
//! and once it ends nothing it started is running: not after a normal run, not after Ctrl-C,
//! not when the function cannot start. scripts/test.sh provides the binary and cargo-lambda
//! (`ROLEWARDEN_BOOTSTRAP`, `ROLEWARDEN_CARGO_LAMBDA`); `#[ignore]`d for a plain `cargo test`.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::aws::{self, unique, OwnServer};
use serde_json::Value;

/// The script with the test step's binaries, and `env` on top of the test's environment.
fn script(args: &[&str], env: &[(&str, &str)]) -> Command {
    for var in ["ROLEWARDEN_BOOTSTRAP", "ROLEWARDEN_CARGO_LAMBDA"] {
        let path = std::env::var(var).unwrap_or_else(|_| {
            panic!("{var} is not set: run these tests through scripts/test.sh")
        });
        assert!(Path::new(&path).is_file(), "{var}: {path} does not exist");
    }
    let mut cmd = Command::new(crate::common::root().join("scripts/invoke-local.sh"));
    cmd.args(args).current_dir(crate::common::root());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One `==> FILE` section of the script's output: the answer and the finding lines.
#[derive(Debug)]
struct Section {
    file: String,
    answer: Value,
    written: Vec<Value>,
}

fn sections(stdout: &str) -> Vec<Section> {
    let mut out = Vec::new();
    for chunk in stdout.split("\n==> ").skip(1) {
        let (file, body) = chunk.split_once('\n').unwrap();
        let answer_text: String = body
            .lines()
            .skip_while(|l| *l != "answer:")
            .skip(1)
            .take_while(|l| *l != "}")
            .chain(["}"])
            .collect::<Vec<_>>()
            .join("\n");
        let answer = serde_json::from_str(&answer_text)
            .unwrap_or_else(|e| panic!("{file}: answer is not JSON ({e}):\n{answer_text}"));
        let written = body
            .lines()
            .filter(|l| l.starts_with("{\"id\":"))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        out.push(Section {
            file: file.to_owned(),
            answer,
            written,
        });
    }
    out
}

/// The pids and the port the script reports on stderr.
fn started(stderr: &str) -> (Vec<u32>, u16) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("cargo lambda watch (pid "))
        .unwrap_or_else(|| panic!("no start line in:\n{stderr}"));
    let pids: Vec<u32> = line
        .split("(pid ")
        .skip(1)
        .map(|s| s.split(')').next().unwrap().parse().unwrap())
        .collect();
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(pids.len(), 2, "{line}");
    (pids, port)
}

/// Nothing the script started is left: its two processes are gone, nobody listens on its port,
/// and no process carries the Runtime API address in its environment.
fn assert_nothing_left(stderr: &str) {
    let (pids, port) = started(stderr);
    for pid in &pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} is still running"
        );
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something still listens on 127.0.0.1:{port}"
    );
    let address = format!("AWS_LAMBDA_RUNTIME_API=http://127.0.0.1:{port}/");
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        assert!(
            !text(&environ).contains(&address),
            "process {:?} still has {address}",
            entry.file_name()
        );
    }
    assert!(
        stderr.contains("stopped the function and cargo lambda watch"),
        "{stderr}"
    );
}

/// The ids the CLI finds in `file`, with `args` before it.
fn cli_ids(args: &[&str], file: &str, env: &[(&str, &str)]) -> Vec<String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rolewarden"));
    cmd.args(["evaluate", "--format", "json"])
        .args(args)
        .arg(file)
        .current_dir(crate::common::root());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn ids(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

fn answer_ids(answer: &Value) -> Vec<String> {
    answer["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    (out, stdout, stderr)
}

#[test]
#[ignore = "needs cargo-lambda and the bootstrap: run by scripts/test.sh"]
fn without_an_account_the_function_finds_what_the_cli_finds() {
    let samples = [
        "events/pr005-fires-lexv2-createbot-unapproved-role.json",
        "events/sl001-fires-attach-policy-to-lex-slr.json",
    ];
    // Credentials and an endpoint the function must not see: without --aws it runs with none.
    let (out, stdout, stderr) = run(&mut script(
        &samples,
        &[
            ("AWS_ACCESS_KEY_ID", "must-not-be-used"),
            ("AWS_SECRET_ACCESS_KEY", "must-not-be-used"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_PROFILE", "must-not-be-used"),
        ],
    ));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 invocations, 0 failed"), "{stdout}");
    let sections = sections(&stdout);
    assert_eq!(
        sections.iter().map(|s| s.file.as_str()).collect::<Vec<_>>(),
        samples
    );
    for (section, sample) in sections.iter().zip(samples) {
        let want = cli_ids(&[], sample, &[]);
        assert!(!want.is_empty(), "{sample} fires");
        assert_eq!(ids(&section.written), want, "{sample}: written\n{stdout}");
        assert_eq!(answer_ids(&section.answer), want, "{sample}: answer");
        assert_eq!(section.answer["status"], "evaluated", "{sample}");
        assert_eq!(section.answer["sink"], "stdout", "{sample}");
    }
    // PR005 asks the account about the passed role: there is none to ask.
    let pr005 = &sections[0].written[0];
    assert_eq!(pr005["rule_id"], "PR005");
    let enrichment = pr005["enrichment"].as_str().unwrap();
    assert!(
        enrichment.starts_with("unavailable (") && enrichment.contains("no credentials"),
        "{enrichment}"
    );
    assert_nothing_left(&stderr);
}

#[tokio::test]
#[ignore = "needs cargo-lambda, the bootstrap and moto_server: run by scripts/test.sh"]
async fn with_aws_the_function_enriches_and_writes_to_the_log_group() {
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    aws::seed_sample_roles(&aws_sdk_iam::Client::new(&config)).await;
    let account = [
        ("AWS_ENDPOINT_URL", server.url.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let group = format!("/rolewarden/{}", unique("invoke-local"));
    let samples = [
        "events/pr006-fires-lexv2-createbot-overprivileged-role.json",
        "events/pr006-quiet-lexv2-createbot-minimal-role.json",
    ];
    let mut args = vec!["--aws", "--log-group", group.as_str()];
    args.extend(samples);
    let (out, stdout, stderr) = run(&mut script(&args, &account));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let sections = sections(&stdout);
    assert_eq!(sections.len(), 2, "{stdout}");
    let mut answered = Vec::new();
    for (section, sample) in sections.iter().zip(samples) {
        assert!(section.written.is_empty(), "findings go to the log group");
        assert_eq!(section.answer["sink"], format!("cloudwatch:{group}"));
        let want = cli_ids(&["--enrich"], sample, &account);
        assert_eq!(answer_ids(&section.answer), want, "{sample}\n{stdout}");
        answered.extend(want);
    }
    let stored: Vec<Value> = aws::read_log_group(&config, &group)
        .await
        .iter()
        .map(|m| serde_json::from_str(m).unwrap())
        .collect();
    assert_eq!(ids(&stored), answered);
    // PR006 fires only when the passed role's policies were read from the account.
    assert!(
        stored.iter().any(|f| f["rule_id"] == "PR006"),
        "{stored:#?}"
    );
    assert_nothing_left(&stderr);
}

#[test]
#[ignore = "needs cargo-lambda and the bootstrap: run by scripts/test.sh"]
fn ctrl_c_stops_everything() {
    use std::os::unix::process::CommandExt;
    // Ctrl-C in a terminal signals the whole foreground process group, not the script alone:
    // the command the script waits on dies of SIGINT too, which is what bash's handling of a
    // SIGINT received while waiting expects (the script alone signalled once ran to its end).
    let mut child = script(&["events/"], &[])
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // The first invocation has begun: everything is running.
    while !line.starts_with("==> ") {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "no invocation began"
        );
    }
    let kill = Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    // 130: interrupted, not finished before the signal arrived.
    assert_eq!(status.code(), Some(130), "{rest}\n{stderr}");
    assert!(!rest.contains(" invocations, "), "{rest}");
    assert_nothing_left(&stderr);
}

#[test]
#[ignore = "needs cargo-lambda and the bootstrap: run by scripts/test.sh"]
fn a_function_that_cannot_start_fails_the_run_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("bad.toml");
    std::fs::write(&baseline, "[rules]\ndisabled = [\"PR999\"]\n").unwrap();
    let (out, stdout, stderr) = run(&mut script(
        &[
            "--baseline",
            baseline.to_str().unwrap(),
            "events/sl001-fires-attach-policy-to-lex-slr.json",
        ],
        &[],
    ));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("invocation failed: the function stopped"),
        "{stdout}"
    );
    assert!(
        stderr.contains("rolewarden cannot start") && stderr.contains("PR999"),
        "{stderr}"
    );
    assert_nothing_left(&stderr);
}

#[test]
fn help_names_both_modes() {
    let out = Command::new(crate::common::root().join("scripts/invoke-local.sh"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = text(&out.stdout);
    for needle in [
        "--aws",
        "FINDINGS_SINK=stdout",
        "aws logs tail",
        "ROLEWARDEN_BOOTSTRAP",
    ] {
        assert!(help.contains(needle), "{needle}");
    }
    let out = Command::new(crate::common::root().join("scripts/invoke-local.sh"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no event file or folder given"));
}

/// `sam local invoke --env-vars sam-local-env.json` overrides only variables the template
/// declares, of a function it names by logical id: every key must be one of them.
#[test]
fn the_sam_env_file_names_the_function_and_its_variables() {
    let template = std::fs::read_to_string(crate::common::root().join("template.yaml")).unwrap();
    let function: Vec<&str> = template
        .lines()
        .skip_while(|l| *l != "  RolewardenFunction:")
        .skip(1)
        .take_while(|l| !l.starts_with("  ") || l.starts_with("   "))
        .collect();
    let declared: Vec<&str> = function
        .iter()
        .skip_while(|l| l.trim() != "Variables:")
        .skip(1)
        .take_while(|l| l.starts_with("          "))
        .filter_map(|l| l.trim().split_once(':').map(|(k, _)| k))
        .collect();
    assert!(declared.contains(&"FINDINGS_SINK"), "{declared:?}");
    let env: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::common::root().join("sam-local-env.json")).unwrap(),
    )
    .unwrap();
    let vars = env["RolewardenFunction"].as_object().unwrap();
    assert_eq!(env.as_object().unwrap().len(), 1, "{env}");
    for (key, value) in vars {
        assert!(
            declared.contains(&key.as_str()),
            "{key} is not in {declared:?}"
        );
        assert!(value.is_string(), "{key}: SAM passes strings");
    }
    assert_eq!(vars["FINDINGS_SINK"], "stdout");
}
