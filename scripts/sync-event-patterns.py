#!/usr/bin/env python3
"""Write the EventBridge rules of template.yaml and forwarder.yaml from `rolewarden event-pattern`.

The rule catalogue (through the baseline's profiles) decides which CloudTrail events rolewarden
consumes; `rolewarden event-pattern` prints one EventBridge pattern per source. This script owns
the block between the `# BEGIN GENERATED event rules` and `# END GENERATED event rules` markers
of both templates: one rule per source the command prints (plus its Lambda permission in
template.yaml), the dead-letter queue policy that names every rule, and in template.yaml the
central bus policy, whose `events:source` condition lists exactly those sources. A source the
command stops printing loses its rule and its place in the bus policy; a new one (aws.kendra from
a baseline profile...) gains both, so forwarded events of a new source are not refused by the
central bus. tests/deploy/test_event_patterns.py fails while the templates differ from this output.

Usage:
  scripts/sync-event-patterns.py              # rewrite the blocks in place
  scripts/sync-event-patterns.py --check      # exit 1 (and show a diff) when a block is stale
  scripts/sync-event-patterns.py --baseline my-baseline.toml   # patterns for a custom baseline

The binary is $ROLEWARDEN_BIN when set, else `cargo run -q --bin rolewarden --`.
Standard library only: it runs before any venv exists.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "  # BEGIN GENERATED event rules"
END = "  # END GENERATED event rules"

# IAM is a global service: its CloudTrail events are delivered to EventBridge in us-east-1 only.
GLOBAL_SOURCES = {"aws.iam"}
US_EAST_1_CONDITION = "IsUsEast1"


def rolewarden_command() -> list[str]:
    binary = os.environ.get("ROLEWARDEN_BIN")
    if binary:
        return shlex.split(binary)
    return ["cargo", "run", "-q", "--bin", "rolewarden", "--"]


def event_patterns(baseline: str | None) -> dict[str, dict]:
    cmd = rolewarden_command() + ["event-pattern"]
    if baseline:
        cmd += ["--baseline", baseline]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    patterns = json.loads(out)
    if not isinstance(patterns, dict) or not patterns:
        raise SystemExit(f"`{' '.join(cmd)}` printed no patterns")
    return patterns


def logical_name(source: str) -> str:
    """aws.iam -> Iam, aws.connect -> Connect, aws.some-thing -> SomeThing."""
    service = source.removeprefix("aws.")
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", service) if part)


def yaml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", key) else json.dumps(key)


YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def yaml_scalar(value) -> str:
    """Plain when YAML reads it back as the same string, else JSON (which YAML reads too)."""
    if (
        isinstance(value, str)
        and re.fullmatch(r"[A-Za-z][A-Za-z0-9._/-]*( [A-Za-z0-9._/-]+)*", value)
        and value.lower() not in YAML_WORDS
    ):
        return value
    return json.dumps(value)


def yaml_block(value, indent: int) -> list[str]:
    """A JSON value (objects, arrays, scalars) as block YAML."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{yaml_key(key)}:")
                lines.extend(yaml_block(item, indent + 2))
            else:
                lines.append(f"{pad}{yaml_key(key)}: {yaml_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inner = yaml_block(item, indent + 2)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines.extend(inner[1:])
            else:
                lines.append(f"{pad}- {yaml_scalar(item)}")
    else:
        lines.append(f"{pad}{yaml_scalar(value)}")
    return lines


def condition_lines(source: str) -> list[str]:
    if source in GLOBAL_SOURCES:
        return [
            "    # IAM is global: its CloudTrail events reach EventBridge in us-east-1 only, so this rule",
            f"    # exists only there (Condition {US_EAST_1_CONDITION}); see the header.",
            f"    Condition: {US_EAST_1_CONDITION}",
        ]
    return []


def rule_arn_list(
    sources: list[str], rule_suffix: str, prefix: str, extra: list[str], conditional: tuple[tuple[str, str], ...] = ()
) -> list[str]:
    lines = []
    for source in sources:
        rule = f"{prefix}{logical_name(source)}{rule_suffix}"
        if source in GLOBAL_SOURCES:
            lines.append(f"                  - !If [{US_EAST_1_CONDITION}, !GetAtt {rule}.Arn, !Ref AWS::NoValue]")
        else:
            lines.append(f"                  - !GetAtt {rule}.Arn")
    lines.extend(f"                  - !GetAtt {rule}.Arn" for rule in extra)
    lines.extend(
        f"                  - !If [{condition}, !GetAtt {rule}.Arn, !Ref AWS::NoValue]" for condition, rule in conditional
    )
    return lines


def queue_policy(name: str, queue: str, sid: str, arns: list[str]) -> list[str]:
    return [
        f"  {name}:",
        "    Type: AWS::SQS::QueuePolicy",
        "    Properties:",
        f"      Queues: [!Ref {queue}]",
        "      PolicyDocument:",
        '        Version: "2012-10-17"',
        "        Statement:",
        f"          - Sid: {sid}",
        "            Effect: Allow",
        "            Principal:",
        "              Service: events.amazonaws.com",
        "            Action: sqs:SendMessage",
        f"            Resource: !GetAtt {queue}.Arn",
        "            Condition:",
        "              ArnEquals:",
        "                aws:SourceArn:",
        *arns,
    ]


def bus_policy(sources: list[str]) -> list[str]:
    """template.yaml: the organization may put events on the central default bus, and only events
    whose source is one of the rules' sources (condition key events:source)."""
    return [
        "  # Member accounts' forwarders (forwarder.yaml) put events on this default bus. Both conditions",
        "  # must hold (EventBridge: every key of a condition must match; any one value of a key does):",
        "  # - aws:PrincipalOrgID: principals of the organization only;",
        "  # - events:source: only the sources this stack's rules consume (`rolewarden event-pattern`),",
        "  #   so no account of the organization can put an event of another source (its own custom",
        "  #   events, say) on this bus and reach the other rules that live on it. A multi-valued",
        "  #   StringEquals on events:source is EventBridge's documented form for PutEvents in a bus",
        "  #   policy (EventBridge User Guide: eb-event-bus-perms, eb-use-conditions).",
        "  # Forged aws.* events cannot come in either way: EventBridge refuses PutEvents calls with a",
        '  # source starting with "aws."; only rules forwarding real CloudTrail events deliver them.',
        "  OrganizationPutEventsPolicy:",
        "    Type: AWS::Events::EventBusPolicy",
        "    Condition: HasOrganization",
        "    Properties:",
        "      EventBusName: default",
        "      StatementId: rolewarden-organization-put-events",
        "      Statement:",
        "        Effect: Allow",
        '        Principal: "*"',
        "        Action: events:PutEvents",
        "        Resource: !Sub arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default",
        "        Condition:",
        "          StringEquals:",
        "            aws:PrincipalOrgID: !Ref OrganizationId",
        "            # IAM included in every region: member accounts forward it from their us-east-1.",
        "            events:source:",
        *(f"              - {yaml_scalar(source)}" for source in sources),
    ]


def template_block(patterns: dict[str, dict]) -> list[str]:
    """template.yaml: the bus policy admits the organization's events of these sources; each
    source's rule invokes the function; failures go to EventsDeadLetterQueue."""
    sources = sorted(patterns)
    lines: list[str] = bus_policy(sources)
    for source in sources:
        name = logical_name(source)
        lines += [f"  {name}EventsRule:", "    Type: AWS::Events::Rule", *condition_lines(source)]
        lines += [
            "    Properties:",
            f"      Description: rolewarden - the {source} CloudTrail events the rule catalogue consumes, failed calls included",
            "      State: ENABLED",
            "      EventPattern:",
            *yaml_block(patterns[source], 8),
            "      Targets:",
            "        - Id: rolewarden",
            "          Arn: !GetAtt RolewardenFunction.Arn",
            "          RetryPolicy:",
            "            MaximumRetryAttempts: !Ref EventTargetMaxRetries",
            "            MaximumEventAgeInSeconds: !Ref EventTargetMaxEventAgeSeconds",
            "          DeadLetterConfig:",
            "            Arn: !GetAtt EventsDeadLetterQueue.Arn",
            f"  {name}EventsPermission:",
            "    Type: AWS::Lambda::Permission",
        ]
        if source in GLOBAL_SOURCES:
            lines.append(f"    Condition: {US_EAST_1_CONDITION}")
        lines += [
            "    Properties:",
            "      Action: lambda:InvokeFunction",
            "      FunctionName: !GetAtt RolewardenFunction.Arn",
            "      Principal: events.amazonaws.com",
            f"      SourceArn: !GetAtt {name}EventsRule.Arn",
        ]
    lines += queue_policy(
        "EventsDeadLetterQueuePolicy",
        "EventsDeadLetterQueue",
        "EventBridgeRulesOfThisStack",
        # The trail bucket's "Object Created" rule (issue 17), when TrailBucketName is set.
        rule_arn_list(sources, "EventsRule", "", ["SweepScheduleRule"], (("HasTrailBucket", "TrailObjectsRule"),)),
    )
    return lines


def forwarder_block(patterns: dict[str, dict]) -> list[str]:
    """forwarder.yaml: each source's rule sends to the central bus; failures go to its own DLQ."""
    sources = sorted(patterns)
    lines: list[str] = []
    for source in sources:
        name = logical_name(source)
        lines += [f"  Forward{name}EventsRule:", "    Type: AWS::Events::Rule", *condition_lines(source)]
        lines += [
            "    Properties:",
            f"      Description: rolewarden forwarder - the {source} CloudTrail events rolewarden consumes, to the central bus",
            "      State: ENABLED",
            "      EventPattern:",
            *yaml_block(patterns[source], 8),
            "      Targets:",
            "        - Id: rolewarden-central-bus",
            "          Arn: !Ref CentralEventBusArn",
            "          RoleArn: !GetAtt ForwarderRole.Arn",
            "          RetryPolicy:",
            "            MaximumRetryAttempts: !Ref EventTargetMaxRetries",
            "            MaximumEventAgeInSeconds: !Ref EventTargetMaxEventAgeSeconds",
            "          DeadLetterConfig:",
            "            Arn: !GetAtt ForwarderDeadLetterQueue.Arn",
        ]
    lines += queue_policy(
        "ForwarderDeadLetterQueuePolicy",
        "ForwarderDeadLetterQueue",
        "EventBridgeRulesOfThisStack",
        rule_arn_list(sources, "EventsRule", "Forward", []),
    )
    return lines


TEMPLATES = {"template.yaml": template_block, "forwarder.yaml": forwarder_block}


def render(path: Path, block: list[str]) -> str:
    text = path.read_text()
    lines = text.split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith(BEGIN))
        end = next(i for i, line in enumerate(lines) if line.startswith(END))
    except StopIteration:
        raise SystemExit(f"{path.name}: the `{BEGIN.strip()}` / `{END.strip()}` markers are missing")
    if end < start:
        raise SystemExit(f"{path.name}: END marker before BEGIN marker")
    return "\n".join(lines[: start + 1] + block + lines[end:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a template is stale")
    parser.add_argument("--baseline", help="baseline TOML the deployed function uses")
    args = parser.parse_args()

    patterns = event_patterns(args.baseline)
    stale = 0
    for name, make_block in TEMPLATES.items():
        path = ROOT / name
        current = path.read_text()
        wanted = render(path, make_block(patterns))
        if current == wanted:
            print(f"{name}: up to date ({', '.join(sorted(patterns))})")
            continue
        if args.check:
            stale += 1
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    wanted.splitlines(keepends=True),
                    f"{name} (now)",
                    f"{name} (from rolewarden event-pattern)",
                )
            )
        else:
            path.write_text(wanted)
            print(f"{name}: rewritten ({', '.join(sorted(patterns))})")
    if stale:
        print(f"\n{stale} template(s) differ from `rolewarden event-pattern`: run scripts/sync-event-patterns.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
