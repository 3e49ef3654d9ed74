//! Human-readable renderings: the grouped text report and the rule catalogue table.

use std::fmt::Write;

use crate::finding::{Finding, Severity};
use crate::rules;

/// Findings grouped by severity (highest first), then by rule.
pub fn render_text(findings: &[Finding]) -> String {
    let mut out = String::new();
    if findings.is_empty() {
        out.push_str("No findings.\n");
        return out;
    }
    for severity in Severity::ALL.iter().rev() {
        let of_severity: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.severity == *severity)
            .collect();
        if of_severity.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "{} ({})",
            severity.as_str().to_uppercase(),
            of_severity.len()
        );
        let mut rule_ids: Vec<&str> = of_severity.iter().map(|f| f.rule_id.as_str()).collect();
        rule_ids.sort_unstable();
        rule_ids.dedup();
        for rule_id in rule_ids {
            let of_rule: Vec<&&Finding> = of_severity
                .iter()
                .filter(|f| f.rule_id == rule_id)
                .collect();
            let name = of_rule.first().map_or("", |f| f.rule_name.as_str());
            let _ = writeln!(out, "  {rule_id} {name} ({})", of_rule.len());
            for f in of_rule {
                let _ = writeln!(out, "    - {}", f.message);
                let mut facts = Vec::new();
                if let Some(r) = &f.resource {
                    facts.push(format!("resource {r}"));
                }
                if let Some(a) = &f.actor {
                    facts.push(format!("actor {a}"));
                }
                if let (Some(name), Some(time)) = (&f.event.name, &f.event.time) {
                    facts.push(format!("event {name} at {time}"));
                }
                if let Some(id) = &f.event.id {
                    facts.push(format!("event id {id}"));
                }
                if !facts.is_empty() {
                    let _ = writeln!(out, "      {}", facts.join(" | "));
                }
                if let Some(e) = &f.enrichment {
                    let _ = writeln!(out, "      enrichment: {e}");
                }
                let _ = writeln!(out, "      fix: {}", f.remediation);
                let _ = writeln!(out, "      finding {}", f.id);
            }
        }
    }
    out
}

/// The rule catalogue as a Markdown table (the README embeds it; a test keeps them equal).
pub fn rules_markdown() -> String {
    let mut out =
        String::from("| ID | Name | Default severity | Fires when |\n|---|---|---|---|\n");
    for rule in rules::ALL {
        let m = rule.meta();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            m.id, m.name, m.severity, m.summary
        );
    }
    out
}

/// The catalogue for a terminal.
pub fn rules_text() -> String {
    let mut out = String::new();
    for rule in rules::ALL {
        let m = rule.meta();
        let _ = writeln!(
            out,
            "{:<6} {:<9} {:<42} {}",
            m.id,
            m.severity.as_str(),
            m.name,
            m.summary
        );
    }
    out
}
