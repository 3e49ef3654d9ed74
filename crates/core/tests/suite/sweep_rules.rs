//! Every account state in `tests/fixtures/sweep/`: a snapshot of its findings, and the sweep
//! rules' promises: a fixture that fires each rule and one that must not, deterministic finding
//! ids, and ids that do not change from one daily sweep to the next.

use std::path::{Path, PathBuf};

use crate::common::{root, test_engine, today};
use chrono::{DateTime, TimeDelta, Utc};
use rolewarden_core::rules::{self, Trigger};
use rolewarden_core::state::AccountState;
use rolewarden_core::{Baseline, Engine, Finding};

/// When every fixture is swept: ages are judged against it.
fn now() -> DateTime<Utc> {
    "2026-06-01T00:00:00Z".parse().unwrap()
}

fn fixtures_dir() -> PathBuf {
    root().join("tests/fixtures/sweep")
}

fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

fn read_state(path: &Path) -> AccountState {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sweep(engine: &Engine, path: &Path, now: DateTime<Utc>) -> Vec<Finding> {
    engine.sweep(&read_state(path), now).findings
}

#[test]
fn snapshots_of_every_fixture() {
    let engine = test_engine();
    insta::glob!("../../../../tests/fixtures/sweep", "*.json", |path| {
        let findings = sweep(&engine, path, now());
        insta::assert_json_snapshot!(findings);
    });
}

fn sweep_rule_ids() -> Vec<&'static str> {
    rules::ALL
        .iter()
        .map(|r| r.meta())
        .filter(|m| m.trigger == Trigger::Sweep)
        .map(|m| m.id)
        .collect()
}

#[test]
fn every_sweep_rule_has_a_firing_and_a_quiet_fixture() {
    let engine = test_engine();
    let names = fixtures();
    let ids = sweep_rule_ids();
    assert!(!ids.is_empty());
    let mut problems = Vec::new();
    for id in &ids {
        let prefix = id.to_ascii_lowercase();
        for (kind, must_fire) in [("fires", true), ("quiet", false)] {
            let of_kind: Vec<&String> = names
                .iter()
                .filter(|n| n.starts_with(&format!("{prefix}-{kind}-")))
                .collect();
            if of_kind.is_empty() {
                problems.push(format!(
                    "{id}: no `{prefix}-{kind}-*.json` fixture in tests/fixtures/sweep/"
                ));
            }
            for name in of_kind {
                let findings = sweep(&engine, &fixtures_dir().join(name), now());
                let fired = findings.iter().any(|f| f.rule_id == *id);
                if fired != must_fire {
                    problems.push(format!(
                        "{name}: expected {id} to {}, got {:?}",
                        if must_fire { "fire" } else { "stay quiet" },
                        findings.iter().map(|f| &f.rule_id).collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    // A fixture named after no sweep rule would be checked by nothing but its snapshot.
    for name in &names {
        let prefix = name.split('-').next().unwrap_or_default();
        if !ids.iter().any(|id| id.eq_ignore_ascii_case(prefix)) {
            problems.push(format!("{name}: `{prefix}` is not a sweep rule"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn sweep_findings_are_deterministic() {
    let engine = test_engine();
    for name in fixtures() {
        let path = fixtures_dir().join(&name);
        let first = sweep(&engine, &path, now());
        let second = sweep(&engine, &path, now());
        assert_eq!(first, second, "{name}");
        for f in &first {
            assert_eq!(f.id, f.compute_id(), "{name}");
            assert_eq!(f.event.name.as_deref(), Some("AccountSweep"), "{name}");
            assert_eq!(f.account.as_deref(), Some("111122223333"), "{name}");
        }
    }
}

/// A daily sweep of an unchanged account must not look like new alerts: the ids hold no
/// "days since" and no sweep time.
#[test]
fn the_next_day_sweep_gives_the_same_ids() {
    let engine = test_engine();
    let mut or001 = 0;
    for name in fixtures() {
        let path = fixtures_dir().join(&name);
        let ids = |now| -> Vec<(String, String)> {
            sweep(&engine, &path, now)
                .into_iter()
                .map(|f| (f.rule_id, f.id))
                .collect()
        };
        let today_ids = ids(now());
        let tomorrow_ids = ids(now() + TimeDelta::days(1));
        assert_eq!(today_ids, tomorrow_ids, "{name}");
        or001 += today_ids.iter().filter(|(rule, _)| rule == "OR001").count();
    }
    assert!(or001 >= 2, "the OR001 fixtures should fire");
}

/// OR001's two ages, at their edges: exactly `orphan_after_days` is not yet orphaned.
#[test]
fn or001_judges_age_strictly_past_the_threshold() {
    let engine = test_engine();
    let path = fixtures_dir().join("or001-fires-last-used-long-ago.json");
    let mut state = read_state(&path);
    let stale = state
        .roles
        .iter()
        .position(|r| r.name == "lexv2-kendra-search-2024")
        .unwrap();
    let last_used = state.roles[stale].last_used.unwrap();
    let fires = |state: &AccountState, now| {
        engine
            .sweep(state, now)
            .findings
            .iter()
            .any(|f| f.rule_id == "OR001")
    };
    assert!(!fires(&state, last_used + TimeDelta::days(90)));
    assert!(fires(
        &state,
        last_used + TimeDelta::days(90) + TimeDelta::seconds(1)
    ));
    // Never used and no creation date: no age to judge.
    state.roles[stale].last_used = None;
    state.roles[stale].create_date = None;
    assert!(!fires(&state, now()));
}

fn engine_with(baseline: &str) -> Engine {
    Engine::new(Baseline::parse(baseline, "sweep-test.toml", today()).unwrap()).with_today(today())
}

/// OR004 judges only patterns that name the swept account literally.
#[test]
fn or004_leaves_other_accounts_and_wildcard_accounts_alone() {
    let engine = engine_with(
        r#"
[[approved_passes]]
role = "arn:aws:iam::*:role/service-role/lex-conversation-logs"
service = "lex.amazonaws.com"

[[approved_passes]]
role = "arn:aws:iam::444455556666:role/service-role/lex-conversation-logs"
service = "lex.amazonaws.com"

[[approved_passes]]
role = "arn:aws:iam::111122223333:role/service-role/LEX-LOGS-*"
service = "lexv2.amazonaws.com"

[[approved_passes]]
role = "arn:aws:iam::111122223333:role/service-role/lex-kendra-*"
service = "lexv2.amazonaws.com"
"#,
    );
    let path = fixtures_dir().join("or004-fires-approved-role-missing.json");
    let findings = sweep(&engine, &path, now());
    let resources: Vec<&str> = findings
        .iter()
        .filter(|f| f.rule_id == "OR004")
        .filter_map(|f| f.resource.as_deref())
        .collect();
    // `LEX-LOGS-*` matches `lex-logs-support-bot` (case-insensitive); `lex-kendra-*` nothing.
    assert_eq!(
        resources,
        ["arn:aws:iam::111122223333:role/service-role/lex-kendra-*"]
    );
}

/// Without an account (no event named it, no role listed) OR004 cannot tell what "this
/// account" is, and stays silent.
#[test]
fn or004_needs_the_account() {
    let engine = test_engine();
    let state = AccountState::default();
    let findings = engine.sweep(&state, now()).findings;
    assert!(findings.is_empty(), "{findings:?}");
}

/// A re-check after a delete event and the daily sweep must give an orphaned role the same
/// finding id, whatever else each listed: another scope, another set of regions.
#[test]
fn a_recheck_and_the_full_sweep_agree_on_ids() {
    use rolewarden_core::state::{Listing, Scope};
    let engine = test_engine();
    let recheck = read_state(&fixtures_dir().join("or002-fires-lexv2-no-bot-left.json"));
    assert!(matches!(recheck.scope, Scope::Profiles(_)));
    let mut full = recheck.clone();
    full.scope = Scope::Full;
    // The schedule swept one more region, empty too, and listed Connect as well.
    full.regions.push("ap-southeast-2".into());
    // Lex V1 is past its end of support: the default lists nothing of it.
    for profile in ["lex-v2", "connect"] {
        let kind = engine
            .baseline()
            .profiles
            .iter()
            .find(|p| p.name == profile)
            .and_then(|p| p.dependents.as_ref())
            .unwrap()
            .kind;
        for region in full.regions.clone() {
            if !full
                .listings
                .iter()
                .any(|l| l.profile == profile && l.region == region)
            {
                full.listings.push(Listing {
                    profile: profile.into(),
                    kind,
                    region,
                    resources: Vec::new(),
                });
            }
        }
    }
    let ids = |state: &AccountState| -> Vec<String> {
        engine
            .sweep(state, now())
            .findings
            .into_iter()
            .filter(|f| f.rule_id == "OR002")
            .map(|f| f.id)
            .collect()
    };
    let from_recheck = ids(&recheck);
    assert_eq!(from_recheck.len(), 1);
    assert_eq!(from_recheck, ids(&full));
}
