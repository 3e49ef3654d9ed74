//! Why a grant's effective reach differs from what its statement says: conditions whose values
//! restrict nothing, Deny statements that narrow it, and those rolewarden cannot rely on.

use super::evaluate::{CompiledStatement, Key, Request};
use super::passrole::{resource_of, Probe, Reach};
use super::probe::{Probes, MAX_COST, MAX_MATCH_STEPS};

/// The notes of the grant of `statement`, given what it reaches (`unbound`: its requests with
/// no associated resource or one nobody named) and the Deny statements that certainly narrow it
/// or might.
pub(super) fn notes(
    statement: &CompiledStatement,
    statements: &[CompiledStatement],
    probes: &Probes,
    reach: &Reach,
    unbound: &[&Probe],
    narrowing: &[usize],
    unsure: &[usize],
) -> Vec<String> {
    let mut out = Vec::new();
    for condition in &statement.conditions {
        let described = format!(
            "`{}` on `{}` ({})",
            condition.source.operator,
            condition.source.key,
            condition
                .source
                .values
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        match condition.key {
            Key::PassedToService if reach.any_service => out.push(format!(
                "{described} lets services nobody named through: it does not limit where the role goes"
            )),
            Key::AssociatedResource => {
                let holds = |absent: bool| {
                    unbound.iter().any(|p| {
                        let Some(resource) = resource_of(probes, p) else {
                            return false;
                        };
                        if resource.arn.is_none() != absent {
                            return false;
                        }
                        let (Some(role), Some(service)) =
                            (probes.roles.get(p.role), probes.services.get(p.service))
                        else {
                            return false;
                        };
                        let request = Request {
                            role: &role.arn,
                            passed_to_service: &service.principal,
                            associated_resource: resource.arn.as_deref(),
                        };
                        condition.truth(&request, probes.fresh, &probes.budget).possible()
                    })
                };
                let why = match (holds(true), holds(false)) {
                    (true, true) => "holds without the key and for resources in accounts nobody named",
                    (true, false) => "holds when the service sends no such key",
                    (false, true) => "matches resources in accounts nobody named",
                    (false, false) => continue,
                };
                out.push(format!(
                    "{described} {why}: it does not tie the role to a resource"
                ));
            }
            _ => {}
        }
    }
    if probes.truncated {
        out.push(format!(
            "the document names too many values to probe each (over {} tests): some named roles or resources were left out, roles and services nobody named were not",
            MAX_COST
        ));
    }
    if probes.budget.ran_out() {
        out.push(format!(
            "the document names too many values to test in full (over {} characters of pattern tests): the budget ran out, tests of named roles, services and resources beyond it were taken as possibly true, so an Allow may reach more and a Deny was not relied on; roles and services nobody named were judged in full",
            MAX_MATCH_STEPS
        ));
    }
    let unknowable: Vec<String> = statement
        .unknowables()
        .into_iter()
        .filter(|r| !r.starts_with("the policy variable"))
        .collect();
    if !unknowable.is_empty() {
        out.push(format!(
            "{} cannot be evaluated from the policy alone: the grant is judged as if it held",
            unknowable.join(", ")
        ));
    }
    for &d in narrowing {
        if let Some(deny) = statements.get(d) {
            out.push(format!("{} (Deny) narrows the grant", deny.label()));
        }
    }
    for &d in unsure {
        if let Some(deny) = statements.get(d) {
            out.push(format!(
                "{} (Deny) depends on {}, which rolewarden cannot evaluate statically, so it is taken to narrow nothing",
                deny.label(),
                deny.unknowables().join(", ")
            ));
        }
    }
    out
}
