//! Connect and Security Hub through src/aws/rest_json.rs (the SDK's orchestrator without the
//! generated clients): paging against moto, signatures checked by moto, and what a bare HTTP
//! server sees of retries, signing and headers (moto cannot fail a call on demand).

use aws_sdk_iam::config::Credentials;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use rolewarden::asff::{to_asff, AsffFinding};
use rolewarden::aws::gather::Sweeper;
use rolewarden::aws::rest_json::{Call, Request, CONNECT};
use rolewarden::aws::securityhub::SecurityHubWriter;
use rolewarden::aws::{AwsError, CallCounter, ErrorKind};
use rolewarden::baseline::DependentKind;

use crate::aws_securityhub::{enable, importer, sample_findings, stored};
use crate::aws_sweep::create_instance;
use crate::common::aws::{self, OwnServer};
use crate::common::bare;

const ACCOUNT: &str = "111122223333";

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn connect_instances_are_listed_page_by_page_and_each_page_counted() {
    let server = OwnServer::start();
    let config = aws::config_for(&server.url).await;
    // moto answers ListInstances 10 at a time.
    let aliases: Vec<String> = (0..12).map(|i| format!("support-{i:02}")).collect();
    for alias in &aliases {
        create_instance(&config, alias).await;
    }
    let calls = CallCounter::default();
    let listed = Sweeper::new(&config, &calls)
        .list_dependents(DependentKind::ConnectInstances, "us-east-1", Some(ACCOUNT))
        .await
        .unwrap();
    let mut names: Vec<String> = listed.iter().map(|d| d.name.clone()).collect();
    names.sort();
    assert_eq!(names, aliases);
    assert!(
        listed.iter().all(|d| d
            .arn
            .starts_with("arn:aws:connect:us-east-1:111122223333:instance/")),
        "{listed:?}"
    );
    // The operation's metadata is the generated client's: the sweep's call formula holds.
    assert_eq!(
        calls.snapshot().into_iter().collect::<Vec<_>>(),
        vec![("Connect:ListInstances".to_owned(), 2)]
    );
}

/// IAM's user with keys, made by the unsigned calls a signature-checking server allows
/// (`common::aws::UNSIGNED_CALLS`: these three).
async fn signing_user(url: &str) -> Credentials {
    let iam = aws_sdk_iam::Client::new(&aws::config_for(url).await);
    iam.create_user()
        .user_name("importer")
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("importer")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    iam.put_user_policy()
        .user_name("importer")
        .policy_name("everything")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    Credentials::new(key.access_key_id, key.secret_access_key, None, None, "test")
}

#[tokio::test]
#[ignore = "needs moto_server: run by scripts/test.sh"]
async fn security_hub_checks_the_signature_of_every_import() {
    let server = OwnServer::start_checking_signatures();
    let good = signing_user(&server.url).await;
    let config = aws::keyed_config("us-east-1", good.clone(), Some(&server.url)).await;
    enable(&config).await;
    let now = chrono::Utc::now();
    let findings: Vec<AsffFinding> = sample_findings()
        .iter()
        .take(3)
        .map(|f| to_asff(f, &importer(), now))
        .collect();
    SecurityHubWriter::new(&config, &CallCounter::default())
        .import(&findings)
        .await
        .unwrap();
    assert_eq!(stored(&config).await.len(), 3);

    // The same call signed with the wrong secret: refused, nothing more stored.
    let forged = Credentials::new(good.access_key_id(), "not-the-secret", None, None, "test");
    let forged = aws::keyed_config("us-east-1", forged, Some(&server.url)).await;
    let e = SecurityHubWriter::new(&forged, &CallCounter::default())
        .import(&findings)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("HTTP 403"), "{e}");
    assert_eq!(stored(&config).await.len(), 3);
}

/// Endpoint variables of one service, as `AWS_ENDPOINT_URL_<SERVICE>` sets them.
#[derive(Debug)]
struct ServiceEndpoint {
    service_id: &'static str,
    url: String,
}

impl LoadServiceConfig for ServiceEndpoint {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        (key.service_id() == self.service_id && key.env() == "AWS_ENDPOINT_URL")
            .then(|| self.url.clone())
    }
}

fn header<'h>(head: &'h [String], name: &str) -> &'h str {
    head.iter()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {head:?}"))
}

#[tokio::test]
async fn a_failing_answer_is_retried_each_attempt_signed_and_counted_once() {
    let (url, heads) = bare::serve(vec![
        bare::answer(
            503,
            Some("x-amzn-ErrorType: ServiceUnavailableException"),
            "{}",
        ),
        bare::answer(
            200,
            None,
            r#"{"InstanceSummaryList":[{"Id":"i-1","Arn":"arn:aws:connect:eu-west-2:111122223333:instance/i-1","InstanceAlias":"support","ServiceRole":"arn:aws:iam::111122223333:role/aws-service-role/connect.amazonaws.com/AWSServiceRoleForAmazonConnect_X"}]}"#,
        ),
    ]);
    // Only Connect's own endpoint variable points here; the general one goes nowhere.
    let config = aws::keyed_config("eu-west-2", aws::example_keys(), None)
        .await
        .into_builder()
        .service_config(ServiceEndpoint {
            service_id: "Connect",
            url,
        })
        .build();
    let calls = CallCounter::default();
    let listed = Sweeper::new(&config, &calls)
        .list_dependents(DependentKind::ConnectInstances, "eu-west-2", None)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "support");
    assert_eq!(
        listed[0].role.as_deref(),
        Some("arn:aws:iam::111122223333:role/aws-service-role/connect.amazonaws.com/AWSServiceRoleForAmazonConnect_X")
    );
    assert_eq!(calls.total(), 1, "{:?}", calls.snapshot());

    let first = heads.recv().unwrap();
    let second = heads.recv().unwrap();
    for (head, attempt) in [(&first, 1), (&second, 2)] {
        assert_eq!(head[0], "GET /instance HTTP/1.1");
        assert!(
            header(head, "authorization").starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
                && header(head, "authorization").contains("/eu-west-2/connect/aws4_request"),
            "{head:?}"
        );
        assert!(header(head, "amz-sdk-request").starts_with(&format!("attempt={attempt}; max=3")));
        assert!(
            header(head, "x-amz-user-agent").contains("api/connect"),
            "{head:?}"
        );
    }
    // One invocation, each attempt signed for the service and region (checked above).
    assert_eq!(
        header(&first, "amz-sdk-invocation-id"),
        header(&second, "amz-sdk-invocation-id")
    );
}

#[tokio::test]
async fn a_refusal_keeps_its_code_and_message() {
    let (url, _heads) = bare::serve(vec![bare::answer(
        403,
        Some("x-amzn-ErrorType: AccessDeniedException:http://internal.amazon.com/coral/"),
        r#"{"message":"User is not authorized to perform: connect:ListInstances"}"#,
    )]);
    let config = aws::keyed_config("us-east-1", aws::example_keys(), Some(&url)).await;
    let e =
        Call::<serde_json::Value>::new(&config, CONNECT, "ListInstances", &CallCounter::default())
            .unwrap()
            .send(Request::get("/instance", &[]))
            .await
            .unwrap_err();
    let e = AwsError::from_sdk("connect:ListInstances", &e);
    assert!(
        matches!(&e.kind, ErrorKind::Service { code, message: Some(m) }
            if code == "AccessDeniedException" && m.contains("connect:ListInstances")),
        "{e}"
    );
    assert!(!e.is_retryable());
}
