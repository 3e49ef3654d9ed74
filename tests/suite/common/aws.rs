//! The local AWS API server the AWS tests run against: moto_server behind tests/moto/server.py,
//! started on 127.0.0.1 by scripts/test.sh, which exports `AWS_ENDPOINT_URL` and friends.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_iam::config::Credentials;
use rolewarden::aws::rest_json;

/// The server's URL. The AWS tests are `#[ignore]`d so a plain `cargo test` passes without it;
/// run them through scripts/test.sh.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run the AWS tests through scripts/test.sh, which starts moto_server")
    })
}

pub async fn config() -> SdkConfig {
    endpoint();
    rolewarden::aws::load_config().await
}

/// The configuration of a caller with these keys in `region`, its calls sent to `endpoint`
/// (else to AWS's, where nothing answers here); not the environment's.
pub async fn keyed_config(region: &str, keys: Credentials, endpoint: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(rolewarden::aws::https::client())
        .region(aws_config::Region::new(region.to_owned()))
        .credentials_provider(keys);
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// Keys no server checks.
pub fn example_keys() -> Credentials {
    Credentials::new("AKIDEXAMPLE", "secret", None, None, "test")
}

/// A name no other test (or earlier run against the same server) uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{nanos:x}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

pub const LEX_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lexv2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Creates a role (or leaves the one already there), replacing its inline policies with
/// `inline` and attaching `attached`.
pub async fn seed_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
    path: &str,
    trust: &str,
    inline: &[(&str, &str)],
    attached: &[&str],
) {
    match iam
        .create_role()
        .role_name(name)
        .path(path)
        .assume_role_policy_document(trust)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if rolewarden::aws::error_code(&e) == Some("EntityAlreadyExists") => {}
        Err(e) => panic!("CreateRole {name}: {e:?}"),
    }
    for (policy, document) in inline {
        iam.put_role_policy()
            .role_name(name)
            .policy_name(*policy)
            .policy_document(*document)
            .send()
            .await
            .unwrap();
    }
    for arn in attached {
        iam.attach_role_policy()
            .role_name(name)
            .policy_arn(*arn)
            .send()
            .await
            .unwrap();
    }
}

const LOGS_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:eu-west-2:111122223333:log-group:lex-logs:*"}]}"#;
const S3_EVERYTHING: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"TooMuch","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
const DYNAMODB_EVERYTHING: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}"#;

/// The two Lex logging roles the PR006 samples pass, as the account holds them:
/// `lex-logs-minimal` (logs only) and `lex-logs-overprivileged` (logs, an inline `TooMuch` with
/// s3:* and an attached customer managed policy with dynamodb:*). Idempotent; returns the
/// attached policy's ARN.
pub async fn seed_sample_roles(iam: &aws_sdk_iam::Client) -> String {
    let extra = match iam
        .create_policy()
        .policy_name("lex-logs-extra-dynamodb")
        .policy_document(DYNAMODB_EVERYTHING)
        .send()
        .await
    {
        Ok(out) => out.policy.unwrap().arn.unwrap(),
        Err(e) if rolewarden::aws::error_code(&e) == Some("EntityAlreadyExists") => iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .send()
            .await
            .unwrap()
            .policies
            .unwrap_or_default()
            .into_iter()
            .find(|p| p.policy_name.as_deref() == Some("lex-logs-extra-dynamodb"))
            .and_then(|p| p.arn)
            .unwrap(),
        Err(e) => panic!("CreatePolicy: {e:?}"),
    };
    seed_role(
        iam,
        "lex-logs-minimal",
        "/service-role/",
        LEX_TRUST,
        &[("logs", LOGS_ONLY)],
        &[],
    )
    .await;
    let attached = iam
        .list_attached_role_policies()
        .role_name("lex-logs-overprivileged")
        .send()
        .await
        .ok()
        .and_then(|o| o.attached_policies)
        .unwrap_or_default();
    let attach: Vec<&str> = if attached
        .iter()
        .any(|p| p.policy_arn.as_deref() == Some(extra.as_str()))
    {
        Vec::new()
    } else {
        vec![extra.as_str()]
    };
    seed_role(
        iam,
        "lex-logs-overprivileged",
        "/service-role/",
        LEX_TRUST,
        &[("logs", LOGS_ONLY), ("TooMuch", S3_EVERYTHING)],
        &attach,
    )
    .await;
    extra
}

/// Marks a role used, as AWS would: AssumeRole, then a call signed with those credentials.
pub async fn use_role(config: &SdkConfig, role_arn: &str) {
    let sts = aws_sdk_sts::Client::new(config);
    let creds = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("rolewarden-test")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let assumed = config
        .to_builder()
        .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(
            aws_sdk_iam::config::Credentials::new(
                creds.access_key_id,
                creds.secret_access_key,
                Some(creds.session_token),
                None,
                "assumed",
            ),
        ))
        .build();
    aws_sdk_iam::Client::new(&assumed)
        .list_roles()
        .max_items(1)
        .send()
        .await
        .unwrap();
}

/// A customer managed policy; its ARN.
pub async fn seed_policy(iam: &aws_sdk_iam::Client, name: &str, document: &str) -> String {
    iam.create_policy()
        .policy_name(name)
        .policy_document(document)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
        .arn
        .unwrap()
}

/// An awsJson service the tests call: its endpoint rules and how it names operations.
pub type JsonService = (
    rolewarden::aws::rest_json::Service,
    rolewarden::aws::rest_json::JsonTarget,
);

pub const LOGS: JsonService = (rest_json::CLOUDWATCH_LOGS, rest_json::LOGS_TARGET);
pub const ORGANIZATIONS: JsonService = (rest_json::ORGANIZATIONS, rest_json::ORGANIZATIONS_TARGET);
pub const SQS: JsonService = (rest_json::SQS, rest_json::SQS_TARGET);

/// A call of `config`'s account and region to an awsJson service, through the same call layer
/// rolewarden uses (it has no generated client for these services; the answer is read here
/// field by field, as the service documents it).
pub async fn json_call(
    config: &SdkConfig,
    (service, target): JsonService,
    operation: &'static str,
    body: serde_json::Value,
) -> serde_json::Value {
    use rolewarden::aws::rest_json::{Call, Request};
    Call::<serde_json::Value>::new(config, service, operation, &Default::default())
        .unwrap()
        .send(Request::aws_json(target, operation, &body))
        .await
        .unwrap_or_else(|e| {
            let e = rolewarden::aws::AwsError::from_sdk(operation, &e);
            panic!("{}:{operation}: {e}", service.id)
        })
}

/// A new account of the organization `config`'s account manages: its id.
pub async fn create_account(config: &SdkConfig, name: &str) -> String {
    let answer = json_call(
        config,
        ORGANIZATIONS,
        "CreateAccount",
        serde_json::json!({"AccountName": name, "Email": format!("{name}@example.com")}),
    )
    .await;
    answer["CreateAccountStatus"]["AccountId"]
        .as_str()
        .unwrap_or_else(|| panic!("CreateAccount answered {answer}"))
        .to_owned()
}

/// Every message of every stream of a log group, stream by stream in name order, each stream
/// read from its head to the end (GetLogEvents signals the end by returning its own token).
pub async fn read_log_group(config: &SdkConfig, group: &str) -> Vec<String> {
    let streams = json_call(
        config,
        LOGS,
        "DescribeLogStreams",
        serde_json::json!({ "logGroupName": group }),
    )
    .await;
    let mut names: Vec<String> = streams["logStreams"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["logStreamName"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for stream in names {
        let mut token: Option<String> = None;
        loop {
            let mut ask = serde_json::json!({
                "logGroupName": group,
                "logStreamName": stream,
                "startFromHead": true,
            });
            if let Some(token) = &token {
                ask["nextToken"] = token.as_str().into();
            }
            let page = json_call(config, LOGS, "GetLogEvents", ask).await;
            let events = page["events"].as_array().cloned().unwrap_or_default();
            out.extend(
                events
                    .iter()
                    .filter_map(|e| e["message"].as_str().map(str::to_owned)),
            );
            let next = page["nextForwardToken"].as_str().map(str::to_owned);
            if events.is_empty() || next == token {
                break;
            }
            token = next;
        }
    }
    out
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Calls a signature-checking server takes unsigned: CreateUser, CreateAccessKey, PutUserPolicy.
pub const UNSIGNED_CALLS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Account,
    Organization,
    SignaturesChecked,
}

/// A moto_server of the test's own (tests that stop it, move its clock, or need an empty
/// account); killed when dropped.
pub struct OwnServer {
    pub child: Child,
    pub url: String,
    files: tempfile::TempDir,
}

impl OwnServer {
    pub fn start() -> Self {
        Self::start_with(Mode::Account)
    }

    /// A server that checks every request's SigV4 signature (for the services whose requests
    /// moto can verify), once the first three calls have set up a user with keys.
    pub fn start_checking_signatures() -> Self {
        Self::start_with(Mode::SignaturesChecked)
    }

    /// A server that plays a whole organization: no account pinned (the default account,
    /// 123456789012, is the central one; credentials from AssumeRole act in the role's
    /// account), and AssumeRole into a role that does not exist is AccessDenied, as in AWS.
    pub fn start_organization() -> Self {
        Self::start_with(Mode::Organization)
    }

    fn start_with(mode: Mode) -> Self {
        let python = std::env::var("ROLEWARDEN_TEST_PYTHON").unwrap_or_else(|_| {
            panic!("ROLEWARDEN_TEST_PYTHON is not set: run through scripts/test.sh")
        });
        let port = free_port();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/moto/server.py");
        let files = tempfile::tempdir().unwrap();
        std::fs::write(files.path().join("clock"), "0").unwrap();
        std::fs::write(files.path().join("lexv1-bots.json"), "[]").unwrap();
        let mut command = Command::new(python);
        command
            .arg(script)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_CLOCK_OFFSET_FILE", files.path().join("clock"))
            .env("MOTO_LEXV1_BOTS_FILE", files.path().join("lexv1-bots.json"));
        if mode == Mode::SignaturesChecked {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", UNSIGNED_CALLS.to_string());
        }
        if mode == Mode::Organization {
            // AWS managed policies are loaded into every account's IAM as it is first used
            // (about a second each); the organization's accounts need none of them.
            command
                .env_remove("MOTO_ACCOUNT_ID")
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
                .env("MOTO_STS_REQUIRE_ROLE", "true");
        } else {
            // The account of the sample events in events/.
            command
                .env("MOTO_ACCOUNT_ID", "111122223333")
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true");
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on {url}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        OwnServer { child, url, files }
    }

    /// Moves IAM's clock: what is created or used next is stamped `days` from now.
    pub fn set_clock_days(&self, days: i64) {
        std::fs::write(self.files.path().join("clock"), (days * 86_400).to_string()).unwrap();
    }

    /// The Lex V1 bots GetBots answers (moto has no Lex V1; see tests/moto/server.py).
    pub fn set_lex_v1_bots(&self, names: &[&str]) {
        let bots: Vec<serde_json::Value> = names
            .iter()
            .map(|n| serde_json::json!({"name": n, "status": "READY", "version": "$LATEST"}))
            .collect();
        std::fs::write(
            self.files.path().join("lexv1-bots.json"),
            serde_json::to_string(&bots).unwrap(),
        )
        .unwrap();
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The SDK configuration pointed at `url` instead of the shared server. Set on the loader, so it
/// wins over `AWS_ENDPOINT_URL` (which a service client prefers to an endpoint merely copied into
/// an `SdkConfig`). The HTTP client is the product's own: no SDK crate here brings a default one.
pub async fn config_for(url: &str) -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(rolewarden::aws::https::client())
        .endpoint_url(url)
        .load()
        .await
}
