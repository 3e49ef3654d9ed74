#!/usr/bin/env python3
"""Times rolewarden, Parliament and (optionally) cloudsplaining on the same policy documents, and
counts which of the generated broad and scoped PassRole documents each one flags.

Run by scripts/compare-policies.sh, which generates the documents and the venv; see its header.
Each timed run is one whole process (exec to exit, output written to a file), so start-up, imports
and data loading count, as they do for a user. Runs are interleaved, tool after tool, round after
round, so a slow minute on a shared machine lands on every tool rather than on one.
"""

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time

PASSROLE_RULES = {"PR001", "PR002"}


def run(cmd, out_path, ok_codes):
    with open(out_path, "wb") as out, open(out_path + ".err", "wb") as err:
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=out, stderr=err)
        seconds = time.perf_counter() - start
    if proc.returncode not in ok_codes:
        with open(out_path + ".err", errors="replace") as err:
            tail = err.read()[-2000:]
        sys.exit(f"{cmd[0]} exited {proc.returncode}:\n{tail}")
    return seconds


def version(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return (out.stdout or out.stderr).strip().split()[-1]


def rolewarden_flags(out_path):
    """Stems with a PR001/PR002 finding. check-policy names its event `check-policy:<file stem>`."""
    flagged = set()
    with open(out_path) as f:
        for line in f:
            finding = json.loads(line)
            if finding["rule_id"] in PASSROLE_RULES:
                flagged.add(finding["event"]["id"].removeprefix("check-policy:"))
    return flagged


def parliament_flags(out_path):
    """Stems with a finding that names iam:PassRole. Parliament has no PassRole rule: what it says
    about these documents is RESOURCE_STAR with the actions granted on `*` in its detail (it does
    not expand `Action: "*"`, and judges `role/*` a valid resource for PassRole)."""
    flagged = set()
    with open(out_path) as f:
        for line in f:
            finding = json.loads(line)
            if "iam:passrole" in json.dumps(finding.get("detail")).lower():
                flagged.add(os.path.basename(finding["location"]["filepath"]).removesuffix(".json"))
    return flagged


def cloudsplaining_flags(out_dir):
    """Policy names whose findings (any category: privilege escalation, resource exposure,
    infrastructure modification...) name iam:PassRole."""
    with open(os.path.join(out_dir, "iam-findings-auth-details.json")) as f:
        results = json.load(f)
    flagged = set()
    for policy in results["customer_managed_policies"].values():
        for category in policy.values():
            if isinstance(category, dict) and "iam:passrole" in json.dumps(category.get("findings", [])).lower():
                flagged.add(policy["PolicyName"])
    return flagged


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rolewarden", required=True)
    parser.add_argument("--venv", required=True)
    parser.add_argument("--policies", required=True, help="directory of policy-NNNN.json")
    parser.add_argument("--labels", required=True)
    parser.add_argument("--auth-details", help="the same documents for cloudsplaining")
    parser.add_argument("--work", required=True, help="scratch directory for the tools' output")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cloudsplaining-rounds", type=int, default=1)
    args = parser.parse_args()

    with open(args.labels) as f:
        labels = json.load(f)
    kinds = collections.Counter(labels.values())
    files = sorted(os.path.join(args.policies, f"{stem}.json") for stem in labels)
    bin_dir = os.path.join(args.venv, "bin")

    tools = {
        "rolewarden": {
            "cmd": [args.rolewarden, "check-policy", "--format", "json", *files],
            "ok": {0, 1},  # 1: a finding reached --fail-on
            "version": [args.rolewarden, "--version"],
            "flags": rolewarden_flags,
            "rounds": args.rounds,
        },
        "parliament": {
            "cmd": [os.path.join(bin_dir, "parliament"), "--directory", args.policies, "--json"],
            "ok": {0, 1},  # 1: findings
            "version": [os.path.join(bin_dir, "parliament"), "--version"],
            "flags": parliament_flags,
            "rounds": args.rounds,
        },
    }
    if args.auth_details and args.cloudsplaining_rounds > 0:
        tools["cloudsplaining"] = {
            # -s: no browser. It also writes its HTML report and two JSON files (about 90 MB for
            # 2,000 policies); that is part of what a scan costs.
            "cmd": None,
            "ok": {0},
            "version": [os.path.join(bin_dir, "cloudsplaining"), "--version"],
            "flags": cloudsplaining_flags,
            "rounds": args.cloudsplaining_rounds,
        }

    times = collections.defaultdict(list)
    outputs = {}
    for rnd in range(max(t["rounds"] for t in tools.values())):
        for name, tool in tools.items():
            if rnd >= tool["rounds"]:
                continue
            out = os.path.join(args.work, f"{name}-{rnd}.out")
            cmd = tool["cmd"]
            if name == "cloudsplaining":
                out_dir = os.path.join(args.work, f"cloudsplaining-{rnd}")
                os.makedirs(out_dir)
                cmd = [os.path.join(bin_dir, "cloudsplaining"), "scan", "-i", args.auth_details, "-o", out_dir, "-s"]
                outputs.setdefault(name, out_dir)
            else:
                outputs.setdefault(name, out)
            seconds = run(cmd, out, tool["ok"])
            times[name].append(seconds)
            print(f"  round {rnd + 1}: {name:<14} {seconds:8.3f} s", file=sys.stderr)

    n = len(labels)
    print()
    print(f"{n} policy documents: {kinds['broad']} broad PassRole, {kinds['scoped']} scoped PassRole, {kinds['ordinary']} without PassRole")
    header = f"{'tool':<15}{'version':<10}{'runs':>5}{'seconds (median)':>18}{'docs/s':>10}{'broad flagged':>15}{'scoped flagged':>16}"
    print(header)
    print("-" * len(header))
    for name, tool in tools.items():
        median = statistics.median(times[name])
        flagged = tool["flags"](outputs[name])
        unknown = flagged - labels.keys()
        if unknown:
            sys.exit(f"{name}: flagged documents that were not generated: {sorted(unknown)[:5]}")
        broad = sum(labels[s] == "broad" for s in flagged)
        scoped = sum(labels[s] == "scoped" for s in flagged)
        ordinary = sum(labels[s] == "ordinary" for s in flagged)
        note = f"  (+{ordinary} without PassRole!)" if ordinary else ""
        print(
            f"{name:<15}{version(tool['version']):<10}{len(times[name]):>5}{median:>18.3f}{n / median:>10.0f}"
            f"{broad:>9} of {kinds['broad']}{scoped:>10} of {kinds['scoped']}{note}"
        )


if __name__ == "__main__":
    main()
