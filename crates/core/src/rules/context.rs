//! What a rule sees of one event: the event, the baseline, the account view, and the artefacts
//! several rules share (decoded policy documents, passed roles), each computed once.

use std::cell::OnceCell;

use serde::Serialize;

use crate::account::AccountView;
use crate::baseline::{looks_like_slr, Baseline, Profile};
use crate::decode::{lookup, Event};
use crate::policy::PolicyError;
use crate::policy::{KnownService, PolicyDocument};

/// A document field that could not be decoded (RW000).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecodeFailure {
    /// Where, e.g. `requestParameters.policyDocument`.
    pub field: String,
    pub reason: String,
}

/// A role handed to a service by the event.
#[derive(Debug, Clone, PartialEq)]
pub struct PassedRole<'b> {
    pub profile: &'b Profile,
    pub role_arn: String,
    /// The bot/alias/instance ARN the role is associated with, when the event tells.
    pub associated_resource: Option<String>,
    /// The request parameter path the role came from.
    pub parameter: String,
}

impl PassedRole<'_> {
    pub fn role_name(&self) -> &str {
        self.role_arn.rsplit('/').next().unwrap_or(&self.role_arn)
    }

    /// The role is one of this service's own service-linked roles (right name, right path).
    pub fn is_own_slr(&self) -> bool {
        self.role_arn.contains(":role/aws-service-role/")
            && self.profile.owns_slr_name(self.role_name())
    }
}

/// The IAM role an event acts on, when it is (named like) a service-linked role.
#[derive(Debug, Clone, PartialEq)]
pub struct SlrTarget<'b> {
    pub name: String,
    pub arn: String,
    /// The profile owning the name, when the service is one rolewarden knows.
    pub profile: Option<&'b Profile>,
}

enum Slot<'a> {
    Absent,
    Decoded(PolicyDocument<'a>),
    Failed(DecodeFailure),
}

pub struct Context<'a> {
    pub event: &'a Event,
    pub baseline: &'a Baseline,
    pub view: &'a dyn AccountView,
    permission: OnceCell<Slot<'a>>,
    trust: OnceCell<Slot<'a>>,
    lex_policy: OnceCell<Slot<'a>>,
    passed: OnceCell<Vec<PassedRole<'a>>>,
    grants: OnceCell<Vec<crate::policy::PassRoleGrant>>,
}

impl<'a> Context<'a> {
    pub fn new(event: &'a Event, baseline: &'a Baseline, view: &'a dyn AccountView) -> Self {
        Context {
            event,
            baseline,
            view,
            permission: OnceCell::new(),
            trust: OnceCell::new(),
            lex_policy: OnceCell::new(),
            passed: OnceCell::new(),
            grants: OnceCell::new(),
        }
    }

    /// The PassRole grants of the permissions policy this event writes (PR001-PR003 share them).
    pub fn pass_role_grants(&self) -> &[crate::policy::PassRoleGrant] {
        self.grants.get_or_init(|| {
            self.permission_policy()
                .map(|doc| self.effective_grants(doc))
                .unwrap_or_default()
        })
    }

    /// A document's PassRole grants, judged also on the service principals of the baseline's
    /// profiles (so PR003 sees what reaches Lex even through a wildcard).
    pub fn effective_grants(&self, doc: &PolicyDocument) -> Vec<crate::policy::PassRoleGrant> {
        let known: Vec<KnownService<'_>> = self
            .baseline
            .profiles
            .iter()
            .flat_map(|p| {
                // Resource ARNs carry the service's namespace: `lexv2.amazonaws.com` makes
                // `arn:aws:lex:...` bots, the namespace of the profile's API.
                let namespace = p.event_source.split('.').next().unwrap_or_default();
                p.principals.iter().map(move |principal| KnownService {
                    principal,
                    namespace,
                })
            })
            .collect();
        crate::policy::pass_role_grants_with(doc, &known)
    }

    fn is_iam(&self) -> bool {
        self.event.source() == super::IAM
    }

    /// The permissions policy a `CreatePolicy`/`Put*Policy` call sends, decoded.
    pub fn permission_policy(&self) -> Option<&PolicyDocument<'a>> {
        let slot = self.permission.get_or_init(|| {
            let name = self.event.name();
            if !self.is_iam() || !super::POLICY_WRITES.iter().any(|(_, n)| *n == name) {
                return Slot::Absent;
            }
            self.decode_field(&["policyDocument"])
        });
        match slot {
            Slot::Decoded(doc) => Some(doc),
            _ => None,
        }
    }

    /// The trust policy a `CreateRole`/`UpdateAssumeRolePolicy` call sets, decoded.
    pub fn trust_policy(&self) -> Option<&PolicyDocument<'a>> {
        let slot = self
            .trust
            .get_or_init(|| match (self.is_iam(), self.event.name()) {
                (true, "CreateRole") => self.decode_field(&[
                    "assumeRolePolicyDocument",
                    "response:role.assumeRolePolicyDocument",
                ]),
                (true, "UpdateAssumeRolePolicy") => self.decode_field(&["policyDocument"]),
                _ => Slot::Absent,
            });
        match slot {
            Slot::Decoded(doc) => Some(doc),
            _ => None,
        }
    }

    /// The resource-based policy a Lex V2 call writes, decoded: the whole document of
    /// `CreateResourcePolicy`/`UpdateResourcePolicy` (`policy`), or the one statement
    /// `CreateResourcePolicyStatement` adds, built from its request parameters.
    pub fn lex_resource_policy(&self) -> Option<&PolicyDocument<'a>> {
        let slot = self.lex_policy.get_or_init(|| {
            if !self.event.source().eq_ignore_ascii_case(super::LEX) {
                return Slot::Absent;
            }
            match self.event.name() {
                "CreateResourcePolicy" | "UpdateResourcePolicy" => self.decode_field(&["policy"]),
                "CreateResourcePolicyStatement" => self.statement_document(),
                _ => Slot::Absent,
            }
        });
        match slot {
            Slot::Decoded(doc) => Some(doc),
            _ => None,
        }
    }

    /// `CreateResourcePolicyStatement` as a one-statement document, so that it is judged by the
    /// same reading as a whole policy. Its parameters: `statementId`, `effect`, `principal` (a
    /// list of `{"service": ...}` or `{"arn": ...}`), `action` (a list), `condition` (operator
    /// to key to value), and the `resourceArn` it applies to.
    fn statement_document(&self) -> Slot<'a> {
        let e = self.event;
        let (Some(effect), Some(principals), Some(action)) = (
            e.param_text("effect"),
            e.param("principal").and_then(serde_json::Value::as_array),
            e.param("action"),
        ) else {
            return if e.failed() {
                Slot::Absent
            } else {
                Slot::Failed(DecodeFailure {
                    field: "requestParameters.principal".into(),
                    reason: "the call succeeded but the event carries no complete statement (`effect`, `principal`, `action`)".into(),
                })
            };
        };
        let mut services = Vec::new();
        let mut arns = Vec::new();
        for p in principals {
            for (key, value) in p.as_object().into_iter().flatten() {
                if key.eq_ignore_ascii_case("service") {
                    services.push(value.clone());
                } else if key.eq_ignore_ascii_case("arn") {
                    arns.push(value.clone());
                }
            }
        }
        let mut principal = serde_json::Map::new();
        if !services.is_empty() {
            principal.insert("Service".into(), services.into());
        }
        if !arns.is_empty() {
            principal.insert("AWS".into(), arns.into());
        }
        let mut statement = serde_json::Map::new();
        statement.insert("Effect".into(), effect.into());
        statement.insert("Principal".into(), principal.into());
        statement.insert("Action".into(), action.clone());
        for (key, param) in [
            ("Sid", "statementId"),
            ("Resource", "resourceArn"),
            ("Condition", "condition"),
        ] {
            if let Some(value) = e.param(param) {
                statement.insert(key.into(), value.clone());
            }
        }
        let document = serde_json::json!({"Version": "2012-10-17", "Statement": [statement]});
        // Built here: nothing to borrow from once this returns.
        match PolicyDocument::from_value_owned(&document) {
            Ok(doc) => Slot::Decoded(doc),
            Err(err) => Slot::Failed(DecodeFailure {
                field: "requestParameters".into(),
                reason: err.to_string(),
            }),
        }
    }

    /// Decodes the first present field. A missing field is only a failure when the call
    /// succeeded: a refused call often carries no parameters at all.
    fn decode_field(&self, candidates: &[&str]) -> Slot<'a> {
        // The document borrows from the event, which outlives this context.
        let event: &'a Event = self.event;
        for candidate in candidates {
            let (root, path, label) = match candidate.strip_prefix("response:") {
                Some(p) => (event.response(), p, format!("responseElements.{p}")),
                None => (
                    &event.params,
                    *candidate,
                    format!("requestParameters.{candidate}"),
                ),
            };
            match lookup(root, path) {
                None | Some(serde_json::Value::Null) => continue,
                Some(value) => {
                    return match PolicyDocument::from_value(value) {
                        Ok(doc) => Slot::Decoded(doc),
                        Err(e) => Slot::Failed(DecodeFailure {
                            field: label,
                            reason: e.to_string(),
                        }),
                    }
                }
            }
        }
        if self.event.failed() {
            Slot::Absent
        } else {
            Slot::Failed(DecodeFailure {
                field: candidates
                    .first()
                    .map(|c| format!("requestParameters.{c}"))
                    .unwrap_or_default(),
                reason: PolicyError::MissingDocument.to_string(),
            })
        }
    }

    /// Everything that could not be decoded, after forcing the documents this event carries.
    pub fn decode_failures(&self) -> Vec<DecodeFailure> {
        let _ = (
            self.permission_policy(),
            self.trust_policy(),
            self.lex_resource_policy(),
        );
        let mut out: Vec<DecodeFailure> = [
            self.permission.get(),
            self.trust.get(),
            self.lex_policy.get(),
        ]
        .into_iter()
        .flatten()
        .filter_map(|slot| match slot {
            Slot::Failed(f) => Some(f.clone()),
            _ => None,
        })
        .collect();
        for doc in [
            self.permission_policy(),
            self.trust_policy(),
            self.lex_resource_policy(),
        ]
        .into_iter()
        .flatten()
        {
            for problem in &doc.problems {
                out.push(DecodeFailure {
                    field: "policy statement".into(),
                    reason: problem.clone(),
                });
            }
        }
        if !self.event.failed() && !self.event.params.is_object() && !self.event.params.is_null() {
            out.push(DecodeFailure {
                field: "requestParameters".into(),
                reason: format!(
                    "expected an object, found {}",
                    crate::policy::document::json_type(&self.event.params)
                ),
            });
        }
        // Every watched call is a write that names what it acts on, so a succeeded one without
        // parameters was cut (by CloudTrail for size, or by whoever forwarded it): no rule can
        // judge it. Reported once, unless a missing document already said so.
        let empty = match &self.event.params {
            serde_json::Value::Null => true,
            serde_json::Value::Object(map) => map.is_empty(),
            _ => false,
        };
        if !self.event.failed() && empty && out.is_empty() {
            out.push(DecodeFailure {
                field: "requestParameters".into(),
                reason: "the call succeeded but the event carries no request parameters".into(),
            });
        }
        out
    }

    /// Roles this event hands to a profiled service.
    pub fn passed_roles(&self) -> &[PassedRole<'a>] {
        self.passed.get_or_init(|| {
            let event = self.event;
            let mut out = Vec::new();
            for profile in &self.baseline.profiles {
                if !profile.event_source.eq_ignore_ascii_case(event.source()) {
                    continue;
                }
                for spec in profile.passes.iter().filter(|s| s.event == event.name()) {
                    let shape_fits = spec.when_present.iter().all(|p| event.param(p).is_some())
                        && spec.when_absent.iter().all(|p| event.param(p).is_none());
                    if !shape_fits {
                        continue;
                    }
                    let Some(role_arn) = event.param_text(&spec.role) else {
                        continue;
                    };
                    out.push(PassedRole {
                        profile,
                        role_arn,
                        associated_resource: spec.resource.as_deref().and_then(|t| self.render(t)),
                        parameter: spec.role.clone(),
                    });
                }
            }
            out
        })
    }

    /// Fills `{partition}`, `{region}`, `{account}`, `{request.PATH}`, `{response.PATH}`; `None`
    /// if any is unknown.
    pub fn render(&self, template: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(rest.get(..open)?);
            let after = rest.get(open + 1..)?;
            let close = after.find('}')?;
            let name = after.get(..close)?;
            let value = match name {
                "partition" => self
                    .event
                    .region()
                    .map(|r| crate::arn::partition(r).to_owned()),
                "region" => self.event.region().map(str::to_owned),
                "account" => self.event.account().map(str::to_owned),
                _ => match name.split_once('.') {
                    Some(("request", path)) => self.event.param_text(path),
                    Some(("response", path)) => self.event.response_text(path),
                    _ => None,
                },
            }?;
            out.push_str(&value);
            rest = after.get(close + 1..)?;
        }
        out.push_str(rest);
        Some(out)
    }

    /// The partition of the event's account, from its region (`aws` when it names none).
    fn partition(&self) -> &'static str {
        self.event.region().map_or("aws", crate::arn::partition)
    }

    /// `roleName` of an IAM role event.
    pub fn role_name(&self) -> Option<String> {
        self.event.param_text("roleName")
    }

    /// The ARN of a role named in the event: from the response when IAM returned it, else
    /// built from the account (the path is then unknown and left out).
    pub fn role_arn(&self, name: &str) -> String {
        if let Some(arn) = self.event.response_text("role.arn") {
            return arn;
        }
        match self.event.account() {
            Some(account) => format!("arn:{}:iam::{account}:role/{name}", self.partition()),
            None => format!("role/{name}"),
        }
    }

    /// The service-linked role this IAM event acts on, if its `roleName` is one.
    pub fn slr_target(&self) -> Option<SlrTarget<'a>> {
        if !self.is_iam() {
            return None;
        }
        let name = self.role_name()?;
        let name = name.rsplit('/').next().unwrap_or(&name).to_owned();
        if !looks_like_slr(&name) {
            return None;
        }
        Some(SlrTarget {
            arn: self.role_arn(&name),
            profile: self.baseline.profile_for_slr(&name),
            name,
        })
    }

    /// The ARN of the identity or policy a policy event writes to: the role, user or group of
    /// `Put*Policy`/`Attach*Policy`, the policy of `CreatePolicy`/`CreatePolicyVersion`.
    pub fn policy_holder(&self) -> Option<String> {
        let e = self.event;
        if let Some(arn) = e.response_text("policy.arn").or_else(|| {
            e.param_text("policyArn")
                .filter(|_| e.name() == "CreatePolicyVersion")
        }) {
            return Some(arn);
        }
        let account = e.account().unwrap_or("UNKNOWN");
        if let Some(name) = e
            .param_text("policyName")
            .filter(|_| e.name() == "CreatePolicy")
        {
            let path = e.param_text("path").unwrap_or_else(|| "/".into());
            return Some(format!(
                "arn:{}:iam::{account}:policy{path}{name}",
                self.partition()
            ));
        }
        if let Some(role) = self.role_name() {
            return Some(self.role_arn(&role));
        }
        for (param, kind) in [("userName", "user"), ("groupName", "group")] {
            if let Some(name) = e.param_text(param) {
                return Some(format!(
                    "arn:{}:iam::{account}:{kind}/{name}",
                    self.partition()
                ));
            }
        }
        None
    }

    /// `role `x``, `user `x``, `group `x`` or `policy `x`` for messages.
    pub fn holder_label(&self) -> String {
        let e = self.event;
        for (param, kind) in [
            ("roleName", "role"),
            ("userName", "user"),
            ("groupName", "group"),
        ] {
            if let Some(name) = e.param_text(param) {
                return format!("{kind} `{name}`");
            }
        }
        match self.policy_holder() {
            Some(arn) => format!("policy `{arn}`"),
            None => "an unnamed identity".into(),
        }
    }

    /// `policy `P` on role `x`` (inline) or `policy `P`` (managed), for messages.
    pub fn policy_label(&self) -> String {
        let e = self.event;
        let name = e
            .param_text("policyName")
            .or_else(|| e.param_text("policyArn"))
            .unwrap_or_else(|| "(unnamed)".into());
        match e.name() {
            "CreatePolicy" | "CreatePolicyVersion" => format!("managed policy `{name}`"),
            _ => format!("inline policy `{name}` on {}", self.holder_label()),
        }
    }

    /// The common shape of a service-linked role finding.
    pub fn slr_draft(&self, target: &SlrTarget<'_>, what: &str) -> super::Draft {
        let service = target
            .profile
            .map_or_else(|| "an AWS service".to_owned(), |p| p.title.clone());
        super::Draft::new(format!(
            "service-linked role `{}` of {service}: {what} by {} ({})",
            target.name,
            self.event.name(),
            self.outcome()
        ))
        .resource(target.arn.clone())
        .evidence("role_name", &target.name)
        .evidence("service", target.profile.map(|p| &p.title))
        .evidence("outcome", self.outcome())
        .evidence("error_message", &self.event.record.error_message)
    }

    /// `refused (CODE)` or `succeeded`, for messages.
    pub fn outcome(&self) -> String {
        match self.event.error_code() {
            Some(code) => format!("refused ({code})"),
            None => "succeeded".into(),
        }
    }
}
