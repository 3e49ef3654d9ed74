//! Why a call to AWS gave no usable answer: which call, what it was about, and what went wrong,
//! read once from the SDK's [`SdkError`] so callers can match on it (a gap, an unavailable
//! lookup, a failed write) and turn it into text only where the core takes text.

use std::fmt;

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use thiserror::Error;

use crate::policy::PolicyError;

/// A call to AWS that gave no usable answer: `iam:GetRole `lex-logs`: AccessDenied: ...`.
#[derive(Debug, Error)]
#[error("{}: {kind}", self.heading())]
pub struct AwsError {
    /// `service:Operation` as in IAM policies: `iam:GetRole`, `logs:PutLogEvents`.
    pub operation: &'static str,
    /// The entity the call was about, when it names one.
    pub about: Option<About>,
    pub kind: ErrorKind,
}

/// The entity a call was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    Role(String),
    RolePolicy {
        role: String,
        policy: String,
    },
    Policy(String),
    PolicyVersion {
        policy: String,
        version: String,
    },
    /// An S3 object or prefix, as `s3://bucket/key`.
    Object(String),
}

/// What went wrong with a call.
#[derive(Debug, Error)]
pub enum ErrorKind {
    /// The service refused the call (`AccessDenied`, `Throttling` after the SDK's retries).
    #[error("{}", service_text(code, message.as_deref()))]
    Service {
        code: String,
        message: Option<String>,
    },
    /// No answer within the attempt timeout of [`super::load_config`].
    #[error("timed out")]
    TimedOut,
    /// The request did not reach the service: the transport error and its sources.
    #[error("cannot reach the AWS API: {0}")]
    Unreachable(String),
    /// The request could not be built: the SDK's error and its sources.
    #[error("{0}")]
    NotSent(String),
    /// The service failed (HTTP 500, 502, 503, 504), whatever error code it named (if any):
    /// worth trying again.
    #[error("the service failed (HTTP {status}){}", failure_text(code.as_deref(), message.as_deref()))]
    ServerError {
        status: u16,
        // Boxed text: an `AwsError` stays as small as it is with a refusal's `Service`.
        code: Option<Box<str>>,
        message: Option<Box<str>>,
    },
    /// The service answered, but not with what the call is for: an answer the SDK cannot read,
    /// an error without a code, a field the answer should hold and does not.
    #[error("{0}")]
    Unusable(String),
    /// A policy document in the answer cannot be decoded.
    #[error(transparent)]
    Document(PolicyError),
    /// The sweep's time budget ran out first: the call was not started, or was abandoned.
    #[error("time budget exhausted before the answer came")]
    OutOfTime,
}

impl AwsError {
    /// `operation` failed as `err` says.
    pub fn from_sdk<E>(operation: &'static str, err: &SdkError<E, Answer>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        Self::new(operation, ErrorKind::from_sdk(err))
    }

    /// Worth trying again later: throttled, the service failing, or no answer in time. A
    /// refusal (`AccessDenied`, `NoSuchKey`) or an answer that cannot be read is not.
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            ErrorKind::TimedOut | ErrorKind::Unreachable(_) => true,
            ErrorKind::ServerError { .. } => true,
            // The SDK's own lists (`SlowDown`, `Throttling`, `ThrottlingException`,
            // `RequestTimeout`...), which its retry classifier uses.
            ErrorKind::Service { code, .. } => {
                THROTTLING_ERRORS.contains(&code.as_str())
                    || TRANSIENT_ERRORS.contains(&code.as_str())
            }
            _ => false,
        }
    }

    pub fn new(operation: &'static str, kind: ErrorKind) -> Self {
        AwsError {
            operation,
            about: None,
            kind,
        }
    }

    /// `operation` answered without what it is for (`the answer holds no role`).
    pub fn unusable(operation: &'static str, what: impl Into<String>) -> Self {
        Self::new(operation, ErrorKind::Unusable(what.into()))
    }

    pub fn about(mut self, about: About) -> Self {
        self.about = Some(about);
        self
    }

    /// The service's error code, when the service answered with one.
    pub fn code(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::Service { code, .. } => Some(code),
            ErrorKind::ServerError { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// What the message starts with: the call and its subject, or for a document that cannot be
    /// decoded, the document (`inline policy `p` of role `r``), which says more than the call.
    fn heading(&self) -> String {
        match (&self.kind, &self.about) {
            (ErrorKind::Document(_), Some(about)) => about.document(),
            (_, Some(about)) => format!("{} {about}", self.operation),
            (_, None) => self.operation.to_owned(),
        }
    }
}

impl About {
    /// The policy document an answer about this entity carries.
    fn document(&self) -> String {
        match self {
            About::Role(name) => format!("trust policy of role `{name}`"),
            About::RolePolicy { role, policy } => {
                format!("inline policy `{policy}` of role `{role}`")
            }
            About::Policy(arn) => format!("managed policy `{arn}`"),
            About::PolicyVersion { policy, version } => {
                format!("managed policy `{policy}` {version}")
            }
            About::Object(url) => format!("object `{url}`"),
        }
    }
}

impl fmt::Display for About {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            About::Role(name) => write!(f, "`{name}`"),
            About::RolePolicy { role, policy } => write!(f, "`{role}`/`{policy}`"),
            About::Policy(arn) => write!(f, "`{arn}`"),
            About::PolicyVersion { policy, version } => write!(f, "`{policy}` {version}"),
            About::Object(url) => write!(f, "`{url}`"),
        }
    }
}

/// The HTTP statuses the SDK's own classifier retries whatever the error code says.
const TRANSIENT_STATUSES: [u16; 4] = [500, 502, 503, 504];

/// The raw answer of a call, as every SDK error carries it.
type Answer = aws_smithy_runtime_api::http::Response;

impl ErrorKind {
    /// What `err` says went wrong, without the SDK's Debug dump.
    pub fn from_sdk<E>(err: &SdkError<E, Answer>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match err {
            SdkError::ServiceError(e) => {
                let inner = e.err();
                let status = e.raw().status().as_u16();
                match inner.code() {
                    // A 500/502/503/504 is the service failing whatever it calls it (S3 answers
                    // a HEAD, and a proxy may answer anything, with a bare 5xx).
                    code if TRANSIENT_STATUSES.contains(&status) => ErrorKind::ServerError {
                        status,
                        code: code.map(Box::from),
                        message: inner.message().map(Box::from),
                    },
                    Some(code) => ErrorKind::Service {
                        code: code.to_owned(),
                        message: inner.message().map(str::to_owned),
                    },
                    None => ErrorKind::Unusable(DisplayErrorContext(err).to_string()),
                }
            }
            SdkError::TimeoutError(_) => ErrorKind::TimedOut,
            SdkError::DispatchFailure(_) => ErrorKind::Unreachable(chain(err)),
            SdkError::ConstructionFailure(_) => ErrorKind::NotSent(chain(err)),
            _ => ErrorKind::Unusable(chain(err)),
        }
    }
}

/// `: code: message` after a failed service's status, as much of it as the answer named.
fn failure_text(code: Option<&str>, message: Option<&str>) -> String {
    match code {
        Some(code) => format!(": {}", service_text(code, message)),
        None => message.map(|m| format!(": {m}")).unwrap_or_default(),
    }
}

fn service_text(code: &str, message: Option<&str>) -> String {
    match message {
        Some(message) => format!("{code}: {message}"),
        None => code.to_owned(),
    }
}

/// The service error code of a failed call (`NoSuchEntity`, `AccessDenied`, `Throttling`), if
/// the service answered at all.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(e) => e.err().code(),
        _ => None,
    }
}

/// An error and its sources, `outer: inner: innermost`, without the SDK's Debug dump.
fn chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access_denied() -> ErrorKind {
        ErrorKind::Service {
            code: "AccessDenied".into(),
            message: Some("not authorized".into()),
        }
    }

    #[test]
    fn a_call_names_its_operation_and_subject() {
        let e = AwsError::new("iam:GetRole", access_denied()).about(About::Role("r".into()));
        assert_eq!(
            e.to_string(),
            "iam:GetRole `r`: AccessDenied: not authorized"
        );
        assert_eq!(e.code(), Some("AccessDenied"));
        let e = AwsError::new("iam:GetPolicyVersion", ErrorKind::TimedOut).about(
            About::PolicyVersion {
                policy: "arn:aws:iam::1:policy/p".into(),
                version: "v2".into(),
            },
        );
        assert_eq!(
            e.to_string(),
            "iam:GetPolicyVersion `arn:aws:iam::1:policy/p` v2: timed out"
        );
        let e = AwsError::unusable("logs:PutLogEvents", "rejected events");
        assert_eq!(e.to_string(), "logs:PutLogEvents: rejected events");
        assert_eq!(e.code(), None);
    }

    #[test]
    fn a_document_that_cannot_be_decoded_is_named_as_a_document() {
        let e = AwsError::new(
            "iam:GetRolePolicy",
            ErrorKind::Document(PolicyError::MissingStatement),
        )
        .about(About::RolePolicy {
            role: "r".into(),
            policy: "p".into(),
        });
        assert_eq!(
            e.to_string(),
            "inline policy `p` of role `r`: policy document has no `Statement`"
        );
    }

    #[test]
    fn the_sdk_error_is_read_by_kind() {
        type Err = SdkError<aws_sdk_iam::operation::get_role::GetRoleError, Answer>;
        let refused = || std::io::Error::other("connection refused");
        let unreachable: Err = SdkError::dispatch_failure(
            aws_smithy_runtime_api::client::result::ConnectorError::io(Box::new(refused())),
        );
        let text = AwsError::from_sdk("iam:GetRole", &unreachable).to_string();
        assert!(
            text.starts_with("iam:GetRole: cannot reach the AWS API: ")
                && text.ends_with("connection refused"),
            "{text}"
        );
        let late: Err = SdkError::timeout_error(refused());
        assert!(matches!(ErrorKind::from_sdk(&late), ErrorKind::TimedOut));
        let unbuilt: Err = SdkError::construction_failure(refused());
        let kind = ErrorKind::from_sdk(&unbuilt);
        assert!(
            matches!(&kind, ErrorKind::NotSent(text) if text.contains("connection refused")),
            "{kind:?}"
        );
        assert!(AwsError::from_sdk("iam:GetRole", &unreachable).is_retryable());
        assert!(AwsError::from_sdk("iam:GetRole", &late).is_retryable());
        assert!(!AwsError::from_sdk("iam:GetRole", &unbuilt).is_retryable());
    }

    /// A service error as the SDK hands it over: `code` (if any) and the raw answer's status.
    fn answered(code: Option<&str>, status: u16) -> AwsError {
        use aws_sdk_s3::error::ErrorMetadata;
        use aws_sdk_s3::operation::get_object::GetObjectError;
        use aws_sdk_s3::primitives::SdkBody;
        use aws_smithy_runtime_api::http::{Response, StatusCode};
        let mut meta = ErrorMetadata::builder();
        if let Some(code) = code {
            meta = meta.code(code);
        }
        let err = GetObjectError::generic(meta.build());
        let raw = Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        AwsError::from_sdk("s3:GetObject", &SdkError::service_error(err, raw))
    }

    #[test]
    fn throttling_and_failing_services_are_retryable_refusals_are_not() {
        assert!(answered(Some("SlowDown"), 503).is_retryable());
        assert!(answered(Some("ThrottlingException"), 400).is_retryable());
        assert!(answered(Some("InternalError"), 500).is_retryable());
        assert!(answered(None, 503).is_retryable());
        assert!(answered(Some("SomethingNew"), 502).is_retryable());
        assert!(answered(Some("ProvisionedThroughputExceededException"), 400).is_retryable());
        assert!(!answered(None, 501).is_retryable());
        // The code stays readable, and the text is the code, not the SDK's Debug dump.
        let slow = answered(Some("SlowDown"), 503);
        assert_eq!(slow.code(), Some("SlowDown"));
        assert_eq!(
            slow.to_string(),
            "s3:GetObject: the service failed (HTTP 503): SlowDown"
        );
        assert!(answered(None, 500).to_string().contains("HTTP 500"));
        assert!(!answered(Some("AccessDenied"), 403).is_retryable());
        assert!(!answered(Some("NoSuchKey"), 404).is_retryable());
        assert!(!answered(None, 404).is_retryable());
    }
}
