//! Calls to AWS services that speak JSON (Smithy's `restJson1`: Amazon Connect, AWS Security
//! Hub, Amazon Lex V2 and V1 model building; `awsJson1_1`: CloudWatch Logs, Organizations;
//! `awsJson1_0`: DynamoDB, SQS) through the SDK's own orchestrator (`aws-smithy-runtime`),
//! without the service's generated client crate.
//!
//! Why: rolewarden makes one to three calls to each of these services (`connect:ListInstances`,
//! `securityhub:BatchImportFindings`, `lex:ListBots`, `lex:GetBots`; `logs:CreateLogGroup`,
//! `logs:CreateLogStream`, `logs:PutLogEvents`; `dynamodb:BatchGetItem`, `dynamodb:Query`,
//! `dynamodb:BatchWriteItem`; `organizations:DescribeOrganization`, `organizations:ListAccounts`;
//! `sqs:SendMessageBatch`), and their generated crates were the largest of the build:
//! aws-sdk-connect 168 s, aws-sdk-securityhub 85 s and aws-sdk-lexmodelsv2 50 s of CPU in the
//! arm64 release build, about half as much again in the test build; aws-sdk-cloudwatchlogs 61 s
//! and 45 s, aws-sdk-dynamodb 37 s and 28 s, aws-sdk-organizations 35 s and 26 s, aws-sdk-sqs
//! 12 s and 9 s on the fifth session's slower machine, for thousands of operations and types
//! never used (see the README's Performance section). What a call needs besides its body is the runtime the
//! generated clients use themselves, registered here as they register it: SigV4 signing with the
//! configuration's credentials and identity cache, the endpoint (`AWS_ENDPOINT_URL_<SERVICE>`,
//! `AWS_ENDPOINT_URL`, FIPS and dual-stack), standard retries with the SDK's classifiers,
//! timeouts, the user-agent, invocation-id and recursion-detection headers, and the operation's
//! `Metadata`, so [`super::CallCounter`] counts `Connect:ListInstances` exactly as before.
//! Errors are the SDK's [`SdkError`], so [`super::AwsError::from_sdk`] reads them unchanged.
//! The bodies are ours (serde), which is what the generated code does too. The two protocols
//! differ only in how a request names its operation (method and path, or `POST /` with an
//! `x-amz-target` header) and in the body's content type; answers and errors read the same.

use std::fmt;

use aws_config::SdkConfig;
use aws_runtime::auth::sigv4::{SigV4AuthScheme, SCHEME_ID as SIGV4};
use aws_runtime::auth::{SigV4OperationSigningConfig, SigningOptions};
use aws_runtime::retries::classifiers::AwsErrorCodeClassifier;
use aws_runtime::service_clock_skew::{ServiceClockSkewClassifier, ServiceClockSkewInterceptor};
use aws_runtime::user_agent::{ApiMetadata, UserAgentInterceptor};
use aws_smithy_runtime::client::identity::IdentityCache;
use aws_smithy_runtime::client::orchestrator::operation::Operation;
use aws_smithy_runtime::client::retries::classifiers::{
    HttpStatusCodeClassifier, TransientErrorClassifier,
};
use aws_smithy_runtime::client::retries::RetryPartition;
use aws_smithy_runtime::client::stalled_stream_protection::StalledStreamProtectionInterceptor;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::auth::static_resolver::StaticAuthSchemeOptionResolver;
use aws_smithy_runtime_api::client::auth::{AuthSchemeOptionResolverParams, SharedAuthScheme};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
use aws_smithy_runtime_api::client::runtime_plugin::StaticRuntimePlugin;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::Layer;
use aws_smithy_types::error::metadata::{ErrorMetadata, ProvideErrorMetadata};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::region::{Region, SigningRegion};
use aws_types::service_config::ServiceConfigKey;
use aws_types::SigningName;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;

use super::CallCounter;
use crate::arn::Partition;

/// An AWS service spoken to in REST-JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The SDK's service id: the `Metadata` service name (`Connect:ListInstances`) and the
    /// suffix of its endpoint variable (`AWS_ENDPOINT_URL_CONNECT`).
    pub id: &'static str,
    /// The generated SDK crate's short name (`connect`, `lexmodelsv2`): the user-agent's API
    /// name and, with the region, the retry partition the generated client would share.
    pub sdk_name: &'static str,
    /// The SigV4 signing name.
    pub signing_name: &'static str,
    /// The endpoint's host before the region (`connect` in `connect.us-east-1.amazonaws.com`).
    pub host: &'static str,
    /// The FIPS endpoint's host without dual-stack in the aws and aws-us-gov partitions, where
    /// the service's endpoint rules do not make it `<host>-fips`.
    pub fips_host: Option<&'static str>,
    /// In aws-us-gov, the FIPS endpoint without dual-stack is the regular one (Connect's).
    pub gov_fips_is_regular: bool,
    /// A global service (Organizations): called in its partition's global region
    /// (`us-east-1` for every region of `aws`) and signed for it, whatever the configured
    /// region; in aws-us-gov its regular endpoints are FIPS, dual-stack or not.
    pub global: bool,
}

pub const CONNECT: Service = Service {
    id: "Connect",
    sdk_name: "connect",
    signing_name: "connect",
    host: "connect",
    fips_host: None,
    gov_fips_is_regular: true,
    global: false,
};

pub const SECURITY_HUB: Service = Service {
    id: "SecurityHub",
    sdk_name: "securityhub",
    signing_name: "securityhub",
    host: "securityhub",
    fips_host: None,
    gov_fips_is_regular: false,
    global: false,
};

pub const LEX_V2: Service = Service {
    id: "Lex Models V2",
    sdk_name: "lexmodelsv2",
    signing_name: "lex",
    host: "models-v2-lex",
    fips_host: None,
    gov_fips_is_regular: false,
    global: false,
};

/// CloudWatch Logs, the findings sink (`awsJson1_1`: [`Request::aws_json`] with [`LOGS_TARGET`]).
pub const CLOUDWATCH_LOGS: Service = Service {
    id: "CloudWatch Logs",
    sdk_name: "cloudwatchlogs",
    signing_name: "logs",
    host: "logs",
    fips_host: None,
    gov_fips_is_regular: true,
    global: false,
};

/// DynamoDB, the finding state (`awsJson1_0`: [`Request::aws_json`] with [`DYNAMODB_TARGET`]).
/// Its regional endpoint always; the generated client's account-based endpoints
/// (`<account>.ddb.<region>.amazonaws.com`, when the credentials name their account) reach the
/// same tables, and its `local` region (DynamoDB Local on localhost:8000) is
/// `AWS_ENDPOINT_URL_DYNAMODB` here.
pub const DYNAMODB: Service = Service {
    id: "DynamoDB",
    sdk_name: "dynamodb",
    signing_name: "dynamodb",
    host: "dynamodb",
    fips_host: None,
    gov_fips_is_regular: true,
    global: false,
};

/// Organizations, the organization's accounts (`awsJson1_1`, [`ORGANIZATIONS_TARGET`]).
pub const ORGANIZATIONS: Service = Service {
    id: "Organizations",
    sdk_name: "organizations",
    signing_name: "organizations",
    host: "organizations",
    fips_host: None,
    gov_fips_is_regular: true,
    global: true,
};

/// SQS, the organization sweep's queue (`awsJson1_0`, [`SQS_TARGET`]).
pub const SQS: Service = Service {
    id: "SQS",
    sdk_name: "sqs",
    signing_name: "sqs",
    host: "sqs",
    fips_host: None,
    gov_fips_is_regular: true,
    global: false,
};

/// How an awsJson service names an operation: the `x-amz-target` prefix
/// (`Logs_20140328.PutLogEvents`) and the protocol version's content type.
#[derive(Debug, Clone, Copy)]
pub struct JsonTarget {
    prefix: &'static str,
    content_type: &'static str,
    /// SQS moved from the query protocol to JSON and keeps its old error codes
    /// (`AWS.SimpleQueueService.NonExistentQueue`) for clients that ask with
    /// `x-amzn-query-mode`, as the generated client does; [`ServiceError`] reads them.
    query_mode: bool,
}

pub const LOGS_TARGET: JsonTarget = JsonTarget {
    prefix: "Logs_20140328",
    content_type: AWS_JSON_1_1,
    query_mode: false,
};

pub const DYNAMODB_TARGET: JsonTarget = JsonTarget {
    prefix: "DynamoDB_20120810",
    content_type: AWS_JSON_1_0,
    query_mode: false,
};

pub const ORGANIZATIONS_TARGET: JsonTarget = JsonTarget {
    prefix: "AWSOrganizationsV20161128",
    content_type: AWS_JSON_1_1,
    query_mode: false,
};

pub const SQS_TARGET: JsonTarget = JsonTarget {
    prefix: "AmazonSQS",
    content_type: AWS_JSON_1_0,
    query_mode: true,
};

/// Lex V1's model building API (past its end of support; bots left there are still listed).
pub const LEX_V1: Service = Service {
    id: "Lex Model Building Service",
    sdk_name: "lexmodelbuildingservice",
    signing_name: "lex",
    host: "models.lex",
    fips_host: Some("models-fips.lex"),
    gov_fips_is_regular: false,
    global: false,
};

/// One request: method, path with its query (relative: the operation holds the endpoint) and
/// a JSON body.
#[derive(Debug)]
pub struct Request {
    method: &'static str,
    path_and_query: String,
    /// A body that cannot be written as JSON fails the call before it is sent, as the SDK's
    /// own serializers do (`SdkError::ConstructionFailure`).
    body: Option<Result<Vec<u8>, serde_json::Error>>,
    content_type: &'static str,
    /// awsJson's operation name (`x-amz-target`); restJson names it by method and path.
    target: Option<String>,
    query_mode: bool,
}

const REST_JSON: &str = "application/json";
const AWS_JSON_1_0: &str = "application/x-amz-json-1.0";
const AWS_JSON_1_1: &str = "application/x-amz-json-1.1";

/// What a query value may hold unescaped: RFC 3986's unreserved characters, which SigV4's
/// canonical query string also leaves as they are.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl Request {
    /// `GET path?name=value&...`, the parameters that are `None` left out.
    pub fn get(path: &str, query: &[(&str, Option<&str>)]) -> Self {
        let query: Vec<String> = query
            .iter()
            .filter_map(|(name, value)| {
                value.map(|v| format!("{name}={}", utf8_percent_encode(v, QUERY_VALUE)))
            })
            .collect();
        let path_and_query = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", query.join("&"))
        };
        Request {
            method: "GET",
            path_and_query,
            body: None,
            content_type: REST_JSON,
            target: None,
            query_mode: false,
        }
    }

    /// `POST path` with `body` as JSON.
    pub fn post(path: &str, body: &impl Serialize) -> Self {
        Self::with_body("POST", path, body)
    }

    /// `PUT path` with `body` as JSON.
    pub fn put(path: &str, body: &impl Serialize) -> Self {
        Self::with_body("PUT", path, body)
    }

    /// `DELETE path`.
    pub fn delete(path: &str) -> Self {
        Request {
            method: "DELETE",
            path_and_query: path.to_owned(),
            body: None,
            content_type: REST_JSON,
            target: None,
            query_mode: false,
        }
    }

    /// awsJson's `POST /` of `operation` (`PutLogEvents`) of the service `target` names, with
    /// `body` as JSON.
    pub fn aws_json(target: JsonTarget, operation: &str, body: &impl Serialize) -> Self {
        Request {
            content_type: target.content_type,
            target: Some(format!("{}.{operation}", target.prefix)),
            query_mode: target.query_mode,
            ..Self::with_body("POST", "/", body)
        }
    }

    fn with_body(method: &'static str, path: &str, body: &impl Serialize) -> Self {
        Request {
            method,
            path_and_query: path.to_owned(),
            body: Some(serde_json::to_vec(body)),
            content_type: REST_JSON,
            target: None,
            query_mode: false,
        }
    }

    fn into_http(self) -> Result<HttpRequest, BoxError> {
        let mut request = HttpRequest::new(SdkBody::empty());
        request.set_method(self.method)?;
        request.set_uri(self.path_and_query.as_str())?;
        if let Some(target) = self.target {
            request.headers_mut().insert("x-amz-target", target);
        }
        if self.query_mode {
            request.headers_mut().insert("x-amzn-query-mode", "true");
        }
        if let Some(body) = self.body {
            let body = body?;
            request
                .headers_mut()
                .insert("content-type", self.content_type);
            request
                .headers_mut()
                .insert("content-length", body.len().to_string());
            *request.body_mut() = SdkBody::from(body);
        }
        Ok(request)
    }
}

/// A service's refusal (any answer outside 2xx), with the error code both protocols put in the
/// `x-amzn-ErrorType` header or the body's `__type`/`code`, and the message.
#[derive(Debug)]
pub struct ServiceError {
    status: u16,
    meta: ErrorMetadata,
}

impl ServiceError {
    fn read(answer: &HttpResponse) -> Self {
        // Field by field, as the generated clients read it: error bodies differ in case
        // (`message`, `Message`) and may hold both `code` (which wins) and `__type`.
        let body: serde_json::Value = answer
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        let field = |names: &[&str]| {
            names
                .iter()
                .find_map(|name| body.get(name).and_then(serde_json::Value::as_str))
        };
        // SQS's query-compatible code first (`AWS.SimpleQueueService.NonExistentQueue;Sender`),
        // as its generated client reads it; then `Code:http://internal.amazon.com/...` in the
        // header, `namespace#Code` in the body.
        let query_code = answer
            .headers()
            .get("x-amzn-query-error")
            .and_then(|c| c.split(';').next())
            .filter(|c| !c.is_empty());
        let code = answer
            .headers()
            .get("x-amzn-errortype")
            .or_else(|| field(&["code", "__type", "Code"]))
            .and_then(|c| c.split(':').next())
            .and_then(|c| c.rsplit('#').next())
            .filter(|c| !c.is_empty());
        let code = query_code.or(code);
        let message = field(&["message", "Message", "errorMessage"]);
        let mut meta = ErrorMetadata::builder();
        if let Some(code) = code {
            meta = meta.code(code);
        }
        if let Some(message) = message {
            meta = meta.message(message);
        }
        let headers = answer.headers();
        if let Some(id) = headers
            .get("x-amzn-requestid")
            .or_else(|| headers.get("x-amz-request-id"))
        {
            meta = meta.custom("aws_request_id", id);
        }
        ServiceError {
            status: answer.status().as_u16(),
            meta: meta.build(),
        }
    }

    pub fn status(&self) -> u16 {
        self.status
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = self.meta.code() {
            write!(f, ": {code}")?;
        }
        if let Some(message) = self.meta.message() {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServiceError {}

impl ProvideErrorMetadata for ServiceError {
    fn meta(&self) -> &ErrorMetadata {
        &self.meta
    }
}

/// How a call failed: the SDK's own error type.
pub type Failure = SdkError<ServiceError, HttpResponse>;

/// An answer that is 2xx but not the JSON the operation returns.
#[derive(Debug, Error)]
#[error("the answer (HTTP {status}) is not what {operation} returns: {source}")]
pub struct Unreadable {
    status: u16,
    operation: &'static str,
    source: serde_json::Error,
}

/// No region to send the call to.
#[derive(Debug, Error)]
#[error("no region is configured (AWS_REGION)")]
pub struct NoRegion;

/// A list of an answer, absent or `null` read as empty, as the generated deserializers read it:
/// `#[serde(default, deserialize_with = "rest_json::list")]`.
pub fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Option::<Vec<T>>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// An endpoint setting the service's endpoint rules refuse (the generated client refuses it
/// too, when the call is made).
#[derive(Debug, Clone, Error)]
pub enum EndpointError {
    #[error("invalid configuration: FIPS and a custom endpoint (AWS_ENDPOINT_URL) together are not supported")]
    FipsWithCustomEndpoint,
    #[error("invalid configuration: dual-stack and a custom endpoint (AWS_ENDPOINT_URL) together are not supported")]
    DualStackWithCustomEndpoint,
}

/// One operation of `service`, answering `O`: built once, invoked for each call.
pub struct Call<O> {
    /// An endpoint error fails every call before it is sent, as the generated client's does.
    operation: Result<Operation<Request, O, ServiceError>, EndpointError>,
}

// Not derived: that would ask `O: Clone`, and the operation is shared, not copied.
impl<O> Clone for Call<O> {
    fn clone(&self) -> Self {
        Call {
            operation: self.operation.clone(),
        }
    }
}

impl<O> Call<O>
where
    O: DeserializeOwned + fmt::Debug + Send + Sync + 'static,
{
    /// `service`'s operation `name` in the configuration's region, its calls counted by
    /// `calls`.
    pub fn new(
        config: &SdkConfig,
        service: Service,
        name: &'static str,
        calls: &CallCounter,
    ) -> Result<Self, NoRegion> {
        let region = config.region().cloned().ok_or(NoRegion)?;
        Ok(Self::in_region(config, region, service, name, calls))
    }

    /// `service`'s operation `name` in `region`, its calls counted by `calls`.
    pub fn in_region(
        config: &SdkConfig,
        region: Region,
        service: Service,
        name: &'static str,
        calls: &CallCounter,
    ) -> Self {
        let Endpoint {
            url: endpoint,
            signing_region,
        } = match endpoint(config, service, &region) {
            Ok(endpoint) => endpoint,
            Err(e) => return Call { operation: Err(e) },
        };
        let retry_partition = RetryPartition::new(format!("{}-{region}", service.sdk_name));

        // What the generated client puts in the configuration and runtime components.
        let mut layer = Layer::new(service.id);
        layer.store_put(SigningName::from_static(service.signing_name));
        layer.store_put(SigningRegion::from(
            signing_region.map_or_else(|| region.clone(), Region::from_static),
        ));
        layer.store_put(region);
        let mut signing_options = SigningOptions::default();
        signing_options.double_uri_encode = true;
        signing_options.content_sha256_header = false;
        signing_options.normalize_uri_path = true;
        layer.store_put(SigV4OperationSigningConfig {
            signing_options,
            ..Default::default()
        });
        layer.store_put(AuthSchemeOptionResolverParams::new(()));
        layer.store_put(ApiMetadata::new(
            service.sdk_name,
            env!("CARGO_PKG_VERSION"),
        ));
        // Each region's clients share a retry quota, as the generated client's do.
        layer.store_put(retry_partition);
        if let Some(stalled) = config.stalled_stream_protection() {
            layer.store_put(stalled);
        }
        let mut components = RuntimeComponentsBuilder::new(service.id)
            .with_auth_scheme(SharedAuthScheme::new(SigV4AuthScheme::new()))
            .with_auth_scheme_option_resolver(Some(StaticAuthSchemeOptionResolver::new(vec![
                SIGV4,
            ])))
            .with_identity_cache(Some(
                config
                    .identity_cache()
                    .unwrap_or_else(|| IdentityCache::lazy().build()),
            ))
            .with_retry_classifier(TransientErrorClassifier::<ServiceError>::new())
            .with_retry_classifier(AwsErrorCodeClassifier::<ServiceError>::new())
            .with_retry_classifier(HttpStatusCodeClassifier::default())
            .with_retry_classifier(ServiceClockSkewClassifier::<ServiceError>::new());
        if let Some(credentials) = config.credentials_provider() {
            components = components.with_identity_resolver(SIGV4, credentials);
        }

        let mut builder = Operation::builder()
            .service_name(service.id)
            .operation_name(name)
            .endpoint_url(&endpoint)
            .standard_retry(
                &config
                    .retry_config()
                    .cloned()
                    .unwrap_or_else(RetryConfig::standard),
            )
            .timeout_config(
                config
                    .timeout_config()
                    .cloned()
                    .unwrap_or_else(TimeoutConfig::disabled),
            )
            .runtime_plugin(
                StaticRuntimePlugin::new()
                    .with_config(layer.freeze())
                    .with_runtime_components(components),
            )
            .interceptor(ServiceClockSkewInterceptor::new())
            .interceptor(StalledStreamProtectionInterceptor::default())
            .interceptor(UserAgentInterceptor::new())
            .interceptor(aws_runtime::invocation_id::InvocationIdInterceptor::new())
            .interceptor(aws_runtime::request_info::RequestInfoInterceptor::new())
            .interceptor(aws_runtime::recursion_detection::RecursionDetectionInterceptor::new())
            .interceptor(calls.clone())
            .with_connection_poisoning()
            .serializer(Request::into_http)
            .deserializer(move |answer: &HttpResponse| {
                if !answer.status().is_success() {
                    return Err(OrchestratorError::operation(ServiceError::read(answer)));
                }
                // An empty answer is an empty object, as the generated deserializers read it.
                let body = match answer.body().bytes() {
                    Some(bytes) if !bytes.trim_ascii().is_empty() => bytes,
                    _ => b"{}",
                };
                serde_json::from_slice(body).map_err(|source| {
                    OrchestratorError::other(Unreadable {
                        status: answer.status().as_u16(),
                        operation: name,
                        source,
                    })
                })
            });
        if let Some(version) = config.behavior_version() {
            builder = builder.behavior_version(version);
        }
        // The configuration's client, which `super::load_config` always sets; without one the
        // orchestrator cannot send at all (and a debug build asserts it), so the same client.
        builder = match config.http_client() {
            Some(client) => builder.http_client(client),
            None => builder.http_client(super::https::client()),
        };
        if let Some(sleep) = config.sleep_impl() {
            builder = builder.sleep_impl(sleep);
        }
        if let Some(time) = config.time_source() {
            builder = builder.time_source(time);
        }
        Call {
            operation: Ok(builder.build()),
        }
    }

    pub async fn send(&self, request: Request) -> Result<O, Failure> {
        match &self.operation {
            Ok(operation) => operation.invoke(request).await,
            Err(e) => Err(SdkError::construction_failure(e.clone())),
        }
    }

    /// Every item of a listing, page after page: `request` asks for the page after a token
    /// (the first page without one), `take` moves a page's items into the list and returns the
    /// page's next token. As the SDK's paginators do, an absent, empty or repeated token ends
    /// the listing.
    pub async fn list<T>(
        &self,
        request: impl Fn(Option<&str>) -> Request,
        mut take: impl FnMut(O, &mut Vec<T>) -> Option<String>,
    ) -> Result<Vec<T>, Failure> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self.send(request(token.as_deref())).await?;
            match take(page, &mut items).filter(|t| !t.is_empty()) {
                Some(next) if token.as_deref() != Some(next.as_str()) => token = Some(next),
                _ => return Ok(items),
            }
        }
    }
}

/// Where a call goes, and the region it is signed for when that is not the configured one.
#[derive(Debug, PartialEq)]
struct Endpoint {
    url: String,
    signing_region: Option<&'static str>,
}

/// Where `service`'s calls go: `AWS_ENDPOINT_URL_<SERVICE>` (or the profile's `endpoint_url`
/// for the service), else `AWS_ENDPOINT_URL`, else the service's regional endpoint.
fn endpoint(
    config: &SdkConfig,
    service: Service,
    region: &Region,
) -> Result<Endpoint, EndpointError> {
    let configured = if config.get_origin("endpoint_url").is_client_config() {
        None
    } else {
        ServiceConfigKey::builder()
            .service_id(service.id)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .ok()
            .and_then(|key| config.service_config()?.load_config(key))
    };
    resolve(
        service,
        region.as_ref(),
        config.use_fips().unwrap_or(false),
        config.use_dual_stack().unwrap_or(false),
        configured.or_else(|| config.endpoint_url().map(str::to_owned)),
    )
}

/// The endpoint rules of these services (`<host>[-fips].<region>.<suffix>`, with their
/// exceptions), as the generated clients resolve them; `tests/fixtures/endpoints/` holds the
/// generated clients' own test cases, which the tests run this against.
fn resolve(
    service: Service,
    region: &str,
    fips: bool,
    dual_stack: bool,
    custom: Option<String>,
) -> Result<Endpoint, EndpointError> {
    if let Some(url) = custom {
        // Signed for the configured region, as the generated clients' rules sign a custom
        // endpoint (global services included).
        return match (fips, dual_stack) {
            (true, _) => Err(EndpointError::FipsWithCustomEndpoint),
            (_, true) => Err(EndpointError::DualStackWithCustomEndpoint),
            _ => Ok(Endpoint {
                url,
                signing_region: None,
            }),
        };
    }
    let partition = Partition::of(region);
    let (region, signing_region) = if service.global {
        (partition.global_region, Some(partition.global_region))
    } else {
        (region, None)
    };
    let suffix = if dual_stack {
        partition.dual_stack_suffix
    } else {
        partition.suffix
    };
    let host = match (fips, dual_stack) {
        (false, _) => service.host.to_owned(),
        (true, _) if partition.id == "aws-us-gov" && service.global => service.host.to_owned(),
        (true, false) if partition.id == "aws-us-gov" && service.gov_fips_is_regular => {
            service.host.to_owned()
        }
        (true, false) if matches!(partition.id, "aws" | "aws-us-gov") => match service.fips_host {
            Some(host) => host.to_owned(),
            None => format!("{}-fips", service.host),
        },
        (true, _) => format!("{}-fips", service.host),
    };
    Ok(Endpoint {
        url: format!("https://{host}.{region}.{suffix}"),
        signing_region,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated clients' own endpoint test cases (tests/fixtures/endpoints/, taken from
    /// each crate's `src/config/endpoint.rs`): every one with a region that this layer's
    /// parameters express (DynamoDB's account-id and resource-ARN cases are left out of its
    /// fixture, and its `local` region here).
    #[test]
    fn endpoints_are_those_of_the_generated_clients() {
        let fixtures = [
            (
                CONNECT,
                include_str!("../../tests/fixtures/endpoints/connect.json"),
            ),
            (
                SECURITY_HUB,
                include_str!("../../tests/fixtures/endpoints/securityhub.json"),
            ),
            (
                LEX_V2,
                include_str!("../../tests/fixtures/endpoints/lexmodelsv2.json"),
            ),
            (
                LEX_V1,
                include_str!("../../tests/fixtures/endpoints/lexmodelbuilding.json"),
            ),
            (
                CLOUDWATCH_LOGS,
                include_str!("../../tests/fixtures/endpoints/cloudwatchlogs.json"),
            ),
            (
                DYNAMODB,
                include_str!("../../tests/fixtures/endpoints/dynamodb.json"),
            ),
            (
                ORGANIZATIONS,
                include_str!("../../tests/fixtures/endpoints/organizations.json"),
            ),
            (SQS, include_str!("../../tests/fixtures/endpoints/sqs.json")),
        ];
        let mut checked = 0;
        for (service, text) in fixtures {
            let fixture: serde_json::Value = serde_json::from_str(text).unwrap();
            for case in fixture["cases"].as_array().unwrap() {
                // Without a region the call is refused before any rule (`NoRegion`).
                let Some(region) = case["region"].as_str() else {
                    continue;
                };
                // DynamoDB Local's pseudo-region (see [`DYNAMODB`]): an endpoint variable here.
                if region == "local" {
                    continue;
                }
                let got = resolve(
                    service,
                    region,
                    case["fips"].as_bool().unwrap(),
                    case["dual_stack"].as_bool().unwrap(),
                    case["endpoint"].as_str().map(str::to_owned),
                );
                match case["url"].as_str() {
                    Some(url) => {
                        let got = got.as_ref().ok().map(|e| e.url.as_str());
                        assert_eq!(got, Some(url), "{} {case}", service.id)
                    }
                    None => assert!(got.is_err(), "{} {case}: {got:?}", service.id),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 297);
    }

    #[test]
    fn regions_of_partitions_the_cases_leave_out() {
        let at = |region| {
            resolve(SECURITY_HUB, region, false, false, None)
                .unwrap()
                .url
        };
        assert_eq!(
            at("eusc-de-east-1"),
            "https://securityhub.eusc-de-east-1.amazonaws.eu"
        );
        assert_eq!(
            at("eu-isoe-west-1"),
            "https://securityhub.eu-isoe-west-1.cloud.adc-e.uk"
        );
        assert_eq!(
            at("us-isof-south-1"),
            "https://securityhub.us-isof-south-1.csp.hci.ic.gov"
        );
        assert_eq!(
            resolve(LEX_V1, "cn-north-1", true, false, None)
                .unwrap()
                .url,
            "https://models.lex-fips.cn-north-1.amazonaws.com.cn"
        );
    }

    /// The generated client's rules for a global service, on regions its test cases leave out:
    /// every region of a partition calls and signs for the partition's global region, except
    /// through a custom endpoint, which is signed for the configured region.
    #[test]
    fn a_global_service_is_called_and_signed_in_its_partitions_global_region() {
        let global = |region, fips| resolve(ORGANIZATIONS, region, fips, false, None).unwrap();
        assert_eq!(
            global("eu-west-1", false),
            Endpoint {
                url: "https://organizations.us-east-1.amazonaws.com".into(),
                signing_region: Some("us-east-1"),
            }
        );
        assert_eq!(
            global("cn-north-1", true),
            Endpoint {
                url: "https://organizations-fips.cn-northwest-1.amazonaws.com.cn".into(),
                signing_region: Some("cn-northwest-1"),
            }
        );
        assert_eq!(
            global("us-gov-east-1", true),
            Endpoint {
                url: "https://organizations.us-gov-west-1.amazonaws.com".into(),
                signing_region: Some("us-gov-west-1"),
            }
        );
        let custom = Some("http://127.0.0.1:5000".to_owned());
        assert_eq!(
            resolve(ORGANIZATIONS, "eu-west-1", false, false, custom).unwrap(),
            Endpoint {
                url: "http://127.0.0.1:5000".into(),
                signing_region: None,
            }
        );
        assert_eq!(
            resolve(SQS, "eu-west-1", false, false, None)
                .unwrap()
                .signing_region,
            None
        );
    }

    #[test]
    fn absent_and_null_lists_are_empty() {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default, deserialize_with = "list")]
            items: Vec<u8>,
        }
        for text in [r#"{}"#, r#"{"items":null}"#] {
            assert!(
                serde_json::from_str::<Page>(text).unwrap().items.is_empty(),
                "{text}"
            );
        }
        let page: Page = serde_json::from_str(r#"{"items":[1,2]}"#).unwrap();
        assert_eq!(page.items, [1, 2]);
    }

    #[test]
    fn query_values_are_escaped_as_sigv4_expects() {
        let request = Request::get(
            "/instance",
            &[("maxResults", Some("10")), ("nextToken", Some("a+b/c= ~"))],
        );
        assert_eq!(
            request.path_and_query,
            "/instance?maxResults=10&nextToken=a%2Bb%2Fc%3D%20~"
        );
        assert_eq!(
            Request::get("/instance", &[("nextToken", None)]).path_and_query,
            "/instance"
        );
    }

    #[test]
    fn aws_json_names_its_operation_in_a_header_and_posts_to_the_root() {
        let request = Request::aws_json(
            LOGS_TARGET,
            "CreateLogGroup",
            &serde_json::json!({"logGroupName": "g"}),
        )
        .into_http()
        .unwrap();
        assert_eq!(request.method(), "POST");
        assert_eq!(request.uri(), "/");
        let headers = request.headers();
        assert_eq!(
            headers.get("x-amz-target"),
            Some("Logs_20140328.CreateLogGroup")
        );
        assert_eq!(
            headers.get("content-type"),
            Some("application/x-amz-json-1.1")
        );
        assert_eq!(
            request.body().bytes(),
            Some(&br#"{"logGroupName":"g"}"#[..])
        );

        let query = Request::aws_json(DYNAMODB_TARGET, "Query", &serde_json::json!({}))
            .into_http()
            .unwrap();
        assert_eq!(
            query.headers().get("x-amz-target"),
            Some("DynamoDB_20120810.Query")
        );
        assert_eq!(
            query.headers().get("content-type"),
            Some("application/x-amz-json-1.0")
        );

        let rest = Request::post("/findings/import", &serde_json::json!({}))
            .into_http()
            .unwrap();
        assert_eq!(rest.headers().get("content-type"), Some("application/json"));
        assert_eq!(rest.headers().get("x-amz-target"), None);
    }

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        let mut answer =
            HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body.to_owned()));
        for (name, value) in headers {
            answer
                .headers_mut()
                .insert(name.to_string(), value.to_string());
        }
        answer
    }

    #[test]
    fn error_codes_come_from_the_header_first_then_the_body() {
        let e = ServiceError::read(&answer(
            403,
            &[(
                "x-amzn-ErrorType",
                "AccessDeniedException:http://internal.amazon.com/coral/",
            )],
            r#"{"message":"not allowed"}"#,
        ));
        assert_eq!(e.code(), Some("AccessDeniedException"));
        assert_eq!(e.message(), Some("not allowed"));
        assert_eq!(
            e.to_string(),
            "HTTP 403: AccessDeniedException: not allowed"
        );

        let e = ServiceError::read(&answer(
            400,
            &[],
            r#"{"__type":"com.amazonaws.securityhub#InvalidAccessException","Message":"not subscribed"}"#,
        ));
        assert_eq!(e.code(), Some("InvalidAccessException"));
        assert_eq!(e.message(), Some("not subscribed"));

        // SQS asked in query mode: the query protocol's code, as its generated client reads it.
        let e = ServiceError::read(&answer(
            400,
            &[(
                "x-amzn-query-error",
                "AWS.SimpleQueueService.NonExistentQueue;Sender",
            )],
            r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"gone"}"#,
        ));
        assert_eq!(e.code(), Some("AWS.SimpleQueueService.NonExistentQueue"));
        assert_eq!(e.message(), Some("gone"));

        let e = ServiceError::read(&answer(400, &[], r#"{"code":"ThrottlingException"}"#));
        assert_eq!(e.code(), Some("ThrottlingException"));

        // Not JSON at all (a proxy's page): no code, the status still said.
        let e = ServiceError::read(&answer(502, &[], "<html>bad gateway</html>"));
        assert_eq!(e.code(), None);
        assert_eq!(e.status(), 502);
    }
}
