//! CloudTrail from S3 (issue 17) against moto's S3: `evaluate s3://...` finds exactly what the
//! same log files give from disk, lists only the days asked for, and reports a corrupt object
//! as RW000 naming its key; the function reads new log files ("Object Created") and answers
//! S3 Batch Operations tasks (schemas 1.0 and 2.0) with the right result code. The moto tests
//! are `#[ignore]`d; scripts/test.sh runs them with `-- --ignored`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::aws::{self, OwnServer};
use crate::common::{bare, TestSink};
use aws_config::SdkConfig;
use rolewarden::account::Snapshot;
use rolewarden::aws::s3::TrailReader;
use rolewarden::aws::CallCounter;
use rolewarden::lambda::{Answer, App, FindingSink, Invocation};
use rolewarden::pipeline::{evaluate_reader, Output as Out, Pipeline};
use rolewarden::{Baseline, Engine};
use serde_json::{json, Value};

const A: &str = "111122223333";
const B: &str = "444455556666";
const DAYS: [&str; 3] = ["2026/11/01", "2026/11/02", "2026/11/03"];
const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];

/// The CloudTrail records of the sample events that fire (all but RW000's), as `account` wrote them: each file
/// gets event ids of its own, so every finding id names one file.
fn records(account: &str, tag: &str) -> Vec<Value> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(crate::common::root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            // The RW000 samples are bad events on purpose: the one unreadable object is the
            // corrupt file.
            let name = p.file_name().unwrap().to_string_lossy();
            name.contains("-fires-") && !name.starts_with("rw000")
        })
        .collect();
    names.sort();
    names
        .iter()
        .filter_map(|p| {
            let event: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).ok()?;
            let mut record = event.get("detail")?.clone();
            record["recipientAccountId"] = json!(account);
            record["eventID"] = json!(format!("{tag}-{}", p.file_stem()?.to_string_lossy()));
            Some(record)
        })
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn key(account: &str, region: &str, day: &str, n: &str) -> String {
    let stamp = day.replace('/', "");
    format!(
        "AWSLogs/o-abc123def4/{account}/CloudTrail/{region}/{day}/{account}_CloudTrail_{region}_{stamp}T0000Z_{n}.json.gz"
    )
}

/// Two accounts, two regions, three days, one file each, and one corrupt file; written to the
/// bucket and under `disk` at the same keys. Returns every key, the corrupt one last.
async fn seed(s3: &aws_sdk_s3::Client, bucket: &str, disk: &Path) -> Vec<String> {
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    let mut files = Vec::new();
    for account in [A, B] {
        for region in REGIONS {
            for day in DAYS {
                let tag = format!("{account}-{region}-{}", day.replace('/', ""));
                let body = json!({ "Records": records(account, &tag) });
                files.push((
                    key(account, region, day, "a1"),
                    gzip(body.to_string().as_bytes()),
                ));
            }
        }
    }
    // A gzip header, then garbage.
    let mut corrupt = gzip(b"{\"Records\": []}");
    corrupt.truncate(12);
    corrupt.extend_from_slice(&[0xff; 64]);
    files.push((key(A, "us-east-1", DAYS[1], "zz"), corrupt));
    for (key, bytes) in &files {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(bytes.clone().into())
            .send()
            .await
            .unwrap();
        let path = disk.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    files.into_iter().map(|(k, _)| k).collect()
}

/// A server of its own with the trail of [`seed`] in bucket `trail` (and on disk).
struct Seeded {
    rt: tokio::runtime::Runtime,
    server: OwnServer,
    config: SdkConfig,
    disk: tempfile::TempDir,
    keys: Vec<String>,
}

/// A runtime for the test's own calls, a server of its own, its configuration.
fn own_server() -> (tokio::runtime::Runtime, OwnServer, SdkConfig) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = OwnServer::start();
    let config = rt.block_on(aws::config_for(&server.url));
    (rt, server, config)
}

fn seeded() -> Seeded {
    let (rt, server, config) = own_server();
    let disk = tempfile::tempdir().unwrap();
    let keys = rt.block_on(seed(&s3_client(&config), "trail", disk.path()));
    Seeded {
        rt,
        server,
        config,
        disk,
        keys,
    }
}

fn rolewarden(server: &OwnServer, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args(args)
        .env("AWS_ENDPOINT_URL", &server.url)
        .current_dir(crate::common::root())
        .output()
        .unwrap()
}

fn findings(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ids(findings: &[Value]) -> Vec<String> {
    findings
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

#[test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
fn a_trail_bucket_gives_what_its_files_give_from_disk() {
    let Seeded {
        server, disk, keys, ..
    } = seeded();
    let corrupt = keys.last().unwrap().clone();

    // Account A, us-east-1, the last two days: two good files and the corrupt one.
    let out = rolewarden(
        &server,
        &[
            "evaluate",
            "--format",
            "json",
            "s3://trail/AWSLogs/",
            "--since",
            "2026-11-02",
            "--until",
            "2026-11-03",
            "--accounts",
            A,
            "--regions",
            "us-east-1",
            "--concurrency",
            "3",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let from_s3 = findings(&out);
    let (unreadable, found): (Vec<Value>, Vec<Value>) =
        from_s3.into_iter().partition(|f| f["rule_id"] == "RW000");
    assert_eq!(unreadable.len(), 1, "{unreadable:?}");
    let origin = format!("s3://trail/{corrupt}");
    assert_eq!(unreadable[0]["resource"], origin.as_str(), "{unreadable:?}");
    assert!(stderr.contains(&origin), "{stderr}");

    // The same two files from disk, in key order.
    let wanted: Vec<String> = [DAYS[1], DAYS[2]]
        .iter()
        .map(|day| {
            disk.path()
                .join(key(A, "us-east-1", day, "a1"))
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["evaluate", "--format", "json"];
    args.extend(wanted.iter().map(String::as_str));
    let local = Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(local.status.code(), Some(0));
    let from_disk = findings(&local);
    assert!(!from_disk.is_empty());
    assert_eq!(ids(&found), ids(&from_disk));
    // The listing follows the layout: `AWSLogs/` (to find the organization's folder), then one
    // listing per day asked for; the account and region are written out, not listed.
    assert!(
        stderr.contains("S3:ListObjectsV2 3") && stderr.contains("S3:GetObject 3"),
        "{stderr}"
    );

    // Enriched from the live account by four workers at once, each blocking on the one
    // runtime for its IAM reads and its object's chunks: the run completes.
    let enriched = rolewarden(
        &server,
        &[
            "evaluate",
            "--format",
            "json",
            "--enrich",
            "s3://trail/AWSLogs/",
            "--accounts",
            A,
            "--concurrency",
            "4",
        ],
    );
    let stderr = String::from_utf8_lossy(&enriched.stderr).into_owned();
    assert_eq!(enriched.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("IAM:GetRole"), "{stderr}");
    assert_eq!(
        findings(&enriched)
            .iter()
            .filter(|f| f["rule_id"] == "RW000")
            .count(),
        1
    );

    // One account's folder, one region, up to a day: the region is listed once (no start
    // date, so no day prefixes), the keys after that day are left out.
    let out = rolewarden(
        &server,
        &[
            "evaluate",
            "--format",
            "json",
            &format!("s3://trail/AWSLogs/o-abc123def4/{B}/"),
            "--until",
            "2026-11-01",
            "--regions",
            "eu-west-1",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("S3:ListObjectsV2 1") && stderr.contains("S3:GetObject 1"),
        "{stderr}"
    );
    let one_file = Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args(["evaluate", "--format", "json"])
        .arg(disk.path().join(key(B, "eu-west-1", DAYS[0], "a1")))
        .output()
        .unwrap();
    assert!(!findings(&one_file).is_empty());
    assert_eq!(ids(&findings(&out)), ids(&findings(&one_file)));

    // Everything, one object at a time and eight at a time: the same output, in key order.
    let one = rolewarden(
        &server,
        &[
            "evaluate",
            "--format",
            "json",
            "s3://trail/",
            "--concurrency",
            "1",
        ],
    );
    let eight = rolewarden(&server, &["evaluate", "--format", "json", "s3://trail"]);
    assert_eq!(one.status.code(), Some(2));
    assert_eq!(one.stdout, eight.stdout);
    let (unreadable, all): (Vec<Value>, Vec<Value>) = findings(&eight)
        .into_iter()
        .partition(|f| f["rule_id"] == "RW000");
    assert_eq!(unreadable.len(), 1);
    assert_eq!(unreadable[0]["resource"], origin.as_str());
    // Every good file from disk, in key order: the same findings in the same order.
    let mut good: Vec<&String> = keys.iter().filter(|k| **k != corrupt).collect();
    good.sort();
    let paths: Vec<String> = good
        .iter()
        .map(|k| disk.path().join(k).display().to_string())
        .collect();
    let mut args = vec!["evaluate", "--format", "json"];
    args.extend(paths.iter().map(String::as_str));
    let local = Command::new(env!("CARGO_BIN_EXE_rolewarden"))
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(ids(&all), ids(&findings(&local)));

    // One object by its key.
    let single = rolewarden(
        &server,
        &[
            "evaluate",
            "--format",
            "json",
            &format!("s3://trail/{}", keys[0]),
        ],
    );
    assert_eq!(single.status.code(), Some(0));
    assert_eq!(findings(&single).len(), from_disk.len() / 2);
}

/// The same event read from EventBridge and from a trail file gives the same finding id: the
/// id is a digest of the rule, the CloudTrail event id and the resource, not of the envelope.
#[test]
fn eventbridge_and_the_trail_give_the_same_finding_id() {
    let engine = Engine::new(Baseline::embedded().unwrap());
    let event =
        std::fs::read(crate::common::root().join("events/pr001-fires-passrole-on-star.json"))
            .unwrap();
    let envelope: Value = serde_json::from_slice(&event).unwrap();
    let trail_file = json!({ "Records": [envelope["detail"]] }).to_string();
    let ids = |bytes: &[u8]| {
        let mut pipeline = Pipeline::new(&engine);
        let mut ids = Vec::new();
        evaluate_reader(
            &mut pipeline,
            bytes,
            "x",
            &mut |_| Snapshot::default(),
            &mut |o| {
                if let Out::Finding(f) = o {
                    ids.push(f.id);
                }
            },
        )
        .unwrap();
        ids
    };
    let from_eventbridge = ids(&event);
    assert!(!from_eventbridge.is_empty());
    assert_eq!(from_eventbridge, ids(&gzip(trail_file.as_bytes())));
}

fn created(bucket: &str, key: &str) -> Vec<u8> {
    json!({
        "version": "0", "id": "7d3a5e0c-0000-4000-8000-000000000001",
        "detail-type": "Object Created", "source": "aws.s3", "account": A,
        "time": "2026-11-03T00:05:00Z", "region": "us-east-1",
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": {"version": "0", "bucket": {"name": bucket},
                   "object": {"key": key, "size": 1}, "reason": "PutObject"}
    })
    .to_string()
    .into_bytes()
}

fn tasks(version: &str, bucket: &str, keys: &[&str]) -> Vec<u8> {
    let tasks: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let encoded = key.replace('_', "%5F");
            if version == "1.0" {
                json!({"taskId": format!("t{i}"), "s3Key": encoded, "s3VersionId": null,
                       "s3BucketArn": format!("arn:aws:s3:::{bucket}")})
            } else {
                json!({"taskId": format!("t{i}"), "s3Key": encoded, "s3VersionId": null,
                       "s3Bucket": bucket})
            }
        })
        .collect();
    let mut job = json!({"id": "job-1"});
    if version == "2.0" {
        job["userArguments"] = json!({});
    }
    json!({"invocationSchemaVersion": version, "invocationId": "inv-1", "job": job, "tasks": tasks})
        .to_string()
        .into_bytes()
}

fn codes(answer: &Answer) -> Vec<(String, String)> {
    let Answer::Tasks(r) = answer else {
        panic!("not a Batch Operations answer: {answer:?}")
    };
    r.results
        .iter()
        .map(|t| (t.task_id.clone().unwrap(), t.result_code.clone().unwrap()))
        .collect()
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn the_function_reads_new_log_files_and_batch_tasks() {
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    let disk = tempfile::tempdir().unwrap();
    let keys = seed(&s3_client(&config), "trail", disk.path()).await;
    let good = keys[0].as_str();
    let corrupt = keys.last().unwrap().as_str();
    let group = "/rolewarden/trail";
    let app = crate::aws::app(&config, group);
    let invocation = Invocation::default();

    // A new log file: its findings land in the log group.
    let Answer::Summary(r) = app
        .invoke(&created("trail", good), &invocation)
        .await
        .unwrap()
    else {
        panic!("not a summary")
    };
    assert_eq!(r.status, "evaluated");
    assert!(!r.findings.is_empty());
    assert_eq!(r.api_calls["S3:GetObject"], 1);
    let written = aws::read_log_group(&config, group).await;
    for id in &r.findings {
        assert!(
            written.iter().any(|line| line.contains(id.as_str())),
            "{id}"
        );
    }
    // A file that is not a log file is left alone.
    let Answer::Summary(r) = app
        .invoke(&created("trail", "AWSLogs/readme.txt"), &invocation)
        .await
        .unwrap()
    else {
        panic!("not a summary")
    };
    assert_eq!(r.status, "ignored");
    // A corrupt one is an RW000 naming its key, and the answer says it was written.
    let Answer::Summary(r) = app
        .invoke(&created("trail", corrupt), &invocation)
        .await
        .unwrap()
    else {
        panic!("not a summary")
    };
    assert_eq!(
        (r.status, r.unreadable, r.findings.len()),
        ("evaluated", 1, 1)
    );

    // Batch Operations, both schemas: a good key, a missing key, a corrupt file, not a log file.
    let missing = good.replace("a1.json.gz", "missing.json.gz");
    for version in ["1.0", "2.0"] {
        let answer = app
            .invoke(
                &tasks(
                    version,
                    "trail",
                    &[good, &missing, corrupt, "AWSLogs/notes.txt"],
                ),
                &invocation,
            )
            .await
            .unwrap();
        assert_eq!(
            codes(&answer),
            [
                ("t0".to_owned(), "Succeeded".to_owned()),
                ("t1".to_owned(), "PermanentFailure".to_owned()),
                ("t2".to_owned(), "PermanentFailure".to_owned()),
                ("t3".to_owned(), "PermanentFailure".to_owned()),
            ],
            "{version}: {answer:?}"
        );
        let Answer::Tasks(r) = &answer else {
            unreachable!()
        };
        assert_eq!(r.invocation_schema_version.as_deref(), Some(version));
        assert_eq!(r.treat_missing_keys_as.as_deref(), Some("PermanentFailure"));
    }
    // The missing and the corrupt object are RW000 findings naming their keys.
    let written = aws::read_log_group(&config, group).await;
    for key in [missing.as_str(), corrupt] {
        assert!(
            written
                .iter()
                .any(|l| l.contains("RW000") && l.contains(key)),
            "{key}"
        );
    }

    // Findings that cannot be written: TemporaryFailure, so Batch Operations tries again.
    let refusing = reading_s3_into(&config, TestSink::refusing());
    let answer = refusing
        .invoke(&tasks("2.0", "trail", &[good]), &invocation)
        .await
        .unwrap();
    assert_eq!(
        codes(&answer),
        [("t0".to_owned(), "TemporaryFailure".to_owned())]
    );
    // And a new log file whose findings cannot be written fails the invocation (retried).
    let err = refusing
        .invoke(&created("trail", good), &invocation)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Retryable");
}

/// The same invocations through the Lambda Runtime API (`cargo lambda watch`), the `bootstrap`
/// binary reading moto's S3: the answers Lambda and Batch Operations would get.
#[test]
#[ignore = "needs moto_server and cargo-lambda: run by scripts/test.sh"]
fn trail_invocations_through_the_runtime_api() {
    use crate::lambda_runtime::{bootstrap, function_name, invoke, start_runtime_api, Running};
    let Seeded {
        rt,
        server,
        config,
        keys,
        ..
    } = seeded();
    let port = aws::free_port();
    let (_watch, lambda_env) = start_runtime_api(port);
    let function = function_name(&lambda_env);
    let group = format!("/rolewarden/{}", aws::unique("trail"));
    let _function = Running(
        Command::new(bootstrap())
            .envs(lambda_env.iter().cloned())
            .env("AWS_ENDPOINT_URL", &server.url)
            .env("FINDINGS_LOG_GROUP", &group)
            .env("AWS_MAX_ATTEMPTS", "2")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let call = |payload: Vec<u8>| -> Value {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), payload).unwrap();
        let out = invoke(port, &function, file.path());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let created = call(created("trail", &keys[0]));
    assert_eq!(created["status"], "evaluated", "{created}");
    let ids = created["findings"].as_array().unwrap().clone();
    assert!(!ids.is_empty());
    let missing = keys[0].replace("a1.json.gz", "missing.json.gz");
    for version in ["1.0", "2.0"] {
        let answer = call(tasks(
            version,
            "trail",
            &[keys[0].as_str(), missing.as_str()],
        ));
        assert_eq!(answer["invocationSchemaVersion"], version, "{answer}");
        assert_eq!(answer["results"][0]["resultCode"], "Succeeded", "{answer}");
        assert_eq!(
            answer["results"][1]["resultCode"], "PermanentFailure",
            "{answer}"
        );
        assert!(answer["results"][1]["resultString"]
            .as_str()
            .unwrap()
            .contains(&missing));
    }
    let written = rt.block_on(aws::read_log_group(&config, &group));
    for id in &ids {
        assert!(
            written.iter().any(|l| l.contains(id.as_str().unwrap())),
            "{id}"
        );
    }
}

/// MB/s of gzipped trail read from the local server by the CLI at concurrency 1 and 8, next to
/// `gzip -dc` of the same bytes (the floor any reader pays). Printed, never asserted.
#[test]
#[ignore = "needs moto_server: run by scripts/test.sh; a measurement"]
fn trail_read_speed() {
    let (rt, server, config) = own_server();
    let s3 = s3_client(&config);
    let disk = tempfile::tempdir().unwrap();
    // Files of the sample events' records (nearly all watched: the rules' worst case per MB),
    // 5,000 records each.
    let samples: Vec<String> = walk(&crate::common::root().join("events"))
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let templates = rolewarden::synth::records_from_samples(samples.iter().map(String::as_str));
    let files: usize = std::env::var("ROLEWARDEN_TRAIL_FILES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(16);
    let mut total = 0u64;
    rt.block_on(async {
        s3.create_bucket().bucket("speed").send().await.unwrap();
        for i in 0..files {
            let mut body = Vec::new();
            rolewarden::synth::write_log_file(&mut body, &templates, 5_000).unwrap();
            let bytes = gzip(&body);
            total += bytes.len() as u64;
            let key = key(A, "us-east-1", DAYS[i % 3], &format!("{i:04}"));
            let path = disk.path().join(&key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
            s3.put_object()
                .bucket("speed")
                .key(key)
                .body(bytes.into())
                .send()
                .await
                .unwrap();
        }
    });
    let time = |f: &mut dyn FnMut()| {
        let started = std::time::Instant::now();
        f();
        started.elapsed().as_secs_f64()
    };
    let mb = total as f64 / 1e6;
    for concurrency in ["1", "8"] {
        // CPU time too (GNU time), which the shared machine's load does not inflate as much
        // as wall time: the README's cost per MB comes from it.
        let mut cpu = String::new();
        let secs = time(&mut || {
            // Without GNU time, wall time only.
            let gnu_time = Path::new("/usr/bin/time").exists();
            let mut command = if gnu_time {
                let mut c = Command::new("/usr/bin/time");
                c.args(["-f", "cpu %U %S"])
                    .arg(env!("CARGO_BIN_EXE_rolewarden"));
                c
            } else {
                Command::new(env!("CARGO_BIN_EXE_rolewarden"))
            };
            let out = command
                .args([
                    "evaluate",
                    "--format",
                    "json",
                    "s3://speed/",
                    "--concurrency",
                    concurrency,
                ])
                .env("AWS_ENDPOINT_URL", &server.url)
                .stdout(std::process::Stdio::null())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{stderr}");
            cpu = stderr
                .lines()
                .rfind(|l| l.starts_with("cpu "))
                .unwrap_or_default()
                .to_owned();
        });
        let cpu_secs: f64 = cpu
            .split_whitespace()
            .skip(1)
            .filter_map(|n| n.parse::<f64>().ok())
            .sum();
        println!(
            "trail speed: concurrency {concurrency}: {mb:.1} MB of gzip in {secs:.2} s = {:.1} MB/s; CPU {cpu_secs:.2} s = {:.1} ms per MB",
            mb / secs,
            cpu_secs * 1000.0 / mb
        );
    }
    let paths: Vec<PathBuf> = walk(disk.path());
    let secs = time(&mut || {
        let out = Command::new("gzip")
            .arg("-dc")
            .args(&paths)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(out.success());
    });
    println!(
        "trail speed: gzip -dc: {mb:.1} MB in {secs:.2} s = {:.1} MB/s",
        mb / secs
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The function reading S3 through `config`, writing its findings to `sink`.
fn reading_s3_into<S: FindingSink>(
    config: &SdkConfig,
    sink: S,
) -> App<rolewarden::aws::accounts::Accounts, S> {
    App::with_parts(
        Engine::new(Baseline::embedded().unwrap()),
        rolewarden::aws::accounts::Accounts::new(
            config,
            &CallCounter::default(),
            std::time::Duration::ZERO,
            &Baseline::embedded().unwrap(),
            None,
            None,
        ),
        sink,
        CallCounter::default(),
    )
    .reading_s3(TrailReader::new(config, &CallCounter::default()))
}

#[tokio::test]
async fn a_log_file_that_breaks_off_is_retried_whole_and_nothing_is_written() {
    // The start of a log file whose first record fires.
    let event: Value = serde_json::from_slice(
        &std::fs::read(
            crate::common::root().join("events/sl001-fires-attach-policy-to-lex-slr.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let whole = format!("{{\"Records\":[{}]}}", event["detail"]).into_bytes();
    // The function reading a trail bucket that answers `body`, its head promising `promised`
    // bytes (more than the body: a transfer that breaks off); and what it writes to.
    let serving = |body: &[u8], promised: usize| {
        let (url, _) = bare::serve(vec![bare::answer_promising(200, None, body, promised)]);
        async move {
            // Not the environment's: this test runs without the suite's AWS variables.
            let config = aws::keyed_config("us-east-1", aws::example_keys(), Some(&url)).await;
            let sink = TestSink::default();
            (reading_s3_into(&config, sink.clone()), sink)
        }
    };
    let log_file = key(A, "us-east-1", DAYS[0], "a1");
    let invocation = Invocation::default();

    // Whole, the file gives a finding, written.
    let (app, sink) = serving(&whole, whole.len()).await;
    app.invoke(&created("trail", &log_file), &invocation)
        .await
        .unwrap();
    assert_eq!(sink.taken().len(), 1);

    // Cut after that record but ending cleanly: the record is evaluated and its finding
    // written, with the RW000 of the unfinished file.
    let start = whole.get(..whole.len() - 2).unwrap().to_vec();
    let (app, sink) = serving(&start, start.len()).await;
    app.invoke(&created("trail", &log_file), &invocation)
        .await
        .unwrap();
    assert_eq!(sink.taken().len(), 2);

    // The same bytes with the rest promised and never sent: the transfer broke off.
    let (app, sink) = serving(&start, whole.len() * 2).await;
    // A new log file: the invocation fails as retryable (Lambda delivers the event again).
    let err = app
        .invoke(&created("trail", &log_file), &invocation)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Retryable", "{err}");
    // The object's body broke off, not the call: the file is read again whole.
    assert!(err.to_string().contains("GetObject body"), "{err}");
    // A Batch Operations task: TemporaryFailure, not a permanent RW000.
    let answer = app
        .invoke(&tasks("2.0", "trail", &[&log_file]), &invocation)
        .await
        .unwrap();
    assert_eq!(
        codes(&answer),
        [("t0".to_owned(), "TemporaryFailure".to_owned())]
    );
    // What was read before the break gives findings (above); none of them was written.
    assert_eq!(sink.taken().len(), 0);
}
