"""The templates route exactly what the rule catalogue consumes: their EventBridge rules equal
`rolewarden event-pattern`, one rule per source, none more, and IAM is watched in us-east-1 only.

The binary's live output is the reference, never a copy: when the catalogue grows (aws.connect,
Lex DeleteBot...), these tests fail until scripts/sync-event-patterns.py rewrites the templates.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
import yaml

import cfn_template
from cfn_template import Stack, event_rules, rule_source
from conftest import ROOT, TEMPLATES, rolewarden_command

# IAM is a global service: EventBridge delivers its CloudTrail events in us-east-1 only.
GLOBAL_SOURCES = {"aws.iam"}
REGIONS = ("us-east-1", "eu-west-2", "ap-southeast-2")
CENTRAL_BUS = "arn:aws:events:us-east-1:111122223333:event-bus/default"


def deployment(templates: dict, name: str, region: str = "us-east-1") -> Stack:
    parameters = {"CentralEventBusArn": CENTRAL_BUS} if name == "forwarder.yaml" else {}
    account = "444455556666" if name == "forwarder.yaml" else "111122223333"
    return Stack(templates[name], region=region, account=account, parameters=parameters)


def normalized(value):
    """EventBridge patterns are order-insensitive: compare with sorted lists."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((normalized(v) for v in value), key=repr)
    return value


def test_generated_blocks_are_current():
    """Byte for byte: the generated block is what the generator writes from the live output."""
    env = dict(os.environ, ROLEWARDEN_BIN=" ".join(rolewarden_command()))
    result = subprocess.run(
        [sys.executable, "scripts/sync-event-patterns.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, (
        "template.yaml/forwarder.yaml differ from `rolewarden event-pattern`; "
        "run scripts/sync-event-patterns.py\n" + result.stdout + result.stderr
    )


@pytest.mark.parametrize("name", TEMPLATES)
def test_rules_equal_event_pattern_output(templates, event_patterns, name):
    """In us-east-1 (where every rule exists) each printed source has one rule with its exact
    pattern, and every rule with a pattern is one the command prints."""
    rules = event_rules(deployment(templates, name))
    by_source: dict[str, dict] = {}
    for logical_id, properties in rules.items():
        source = rule_source(properties["EventPattern"])
        assert source not in by_source, f"{name}: two rules for {source}"
        by_source[source] = properties["EventPattern"]
    assert sorted(by_source) == sorted(event_patterns), (
        f"{name}: rules for {sorted(by_source)}, `rolewarden event-pattern` prints {sorted(event_patterns)}"
    )
    for source, pattern in event_patterns.items():
        assert normalized(by_source[source]) == normalized(pattern), f"{name}: the {source} rule differs"


def test_patterns_keep_failed_calls(event_patterns, templates):
    """Refused calls are evidence: no pattern filters on errorCode (or anything but the names)."""
    for source, pattern in event_patterns.items():
        assert set(pattern) == {"source", "detail-type", "detail"}, source
        assert set(pattern["detail"]) == {"eventSource", "eventName"}, source
        assert pattern["detail-type"] == ["AWS API Call via CloudTrail"], source
    for name in TEMPLATES:
        for rule in event_rules(deployment(templates, name)).values():
            assert "errorCode" not in str(rule["EventPattern"]), name


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("region", REGIONS)
def test_iam_rule_exists_only_in_us_east_1(templates, event_patterns, name, region):
    rules = event_rules(deployment(templates, name, region))
    sources = {rule_source(r["EventPattern"]) for r in rules.values()}
    if region == "us-east-1":
        assert sources == set(event_patterns)
    else:
        assert sources == set(event_patterns) - GLOBAL_SOURCES, f"{name} in {region}: {sorted(sources)}"


@pytest.mark.parametrize("name", TEMPLATES)
def test_iam_rule_condition_is_the_region(templates, name):
    """Not just any condition: the one deciding the IAM rule compares the region with us-east-1."""
    template = templates[name]
    assert template["Conditions"]["IsUsEast1"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    stack = deployment(templates, name)
    for logical_id in event_rules(stack):
        resource = template["Resources"][logical_id]
        if rule_source(resource["Properties"]["EventPattern"]) in GLOBAL_SOURCES:
            assert resource.get("Condition") == "IsUsEast1", logical_id
        else:
            assert "Condition" not in resource, logical_id


@pytest.mark.parametrize("trail", ["", "org-trail-111122223333"])
def test_central_rules_invoke_the_function_with_retries_and_dead_letters(templates, trail):
    # With TrailBucketName (issue 17) the trail's "Object Created" rule is one more of them.
    stack = Stack(templates["template.yaml"], account="111122223333", parameters={"TrailBucketName": trail})
    function_arn = stack.get_att("RolewardenFunction", "Arn")
    dlq_arn = stack.get_att("EventsDeadLetterQueue", "Arn")
    rules = stack.resources("AWS::Events::Rule")
    assert "SweepScheduleRule" in rules
    assert ("TrailObjectsRule" in rules) == bool(trail)
    permissions = {
        stack.resolve(p["Properties"]["SourceArn"]): stack.resolve(p["Properties"])
        for p in stack.resources("AWS::Lambda::Permission").values()
    }
    queue_policy = stack.resolve(stack.template["Resources"]["EventsDeadLetterQueuePolicy"]["Properties"])
    (statement,) = queue_policy["PolicyDocument"]["Statement"]
    allowed_rules = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage" and statement["Resource"] == dlq_arn
    for logical_id in rules:
        properties = stack.resolve(rules[logical_id]["Properties"])
        rule_arn = stack.get_att(logical_id, "Arn")
        (target,) = properties["Targets"]
        assert target["Arn"] == function_arn, logical_id
        assert target["DeadLetterConfig"] == {"Arn": dlq_arn}, logical_id
        assert int(target["RetryPolicy"]["MaximumRetryAttempts"]) > 0, logical_id
        assert int(target["RetryPolicy"]["MaximumEventAgeInSeconds"]) >= 3600, logical_id
        assert permissions[rule_arn]["Principal"] == "events.amazonaws.com", logical_id
        assert permissions[rule_arn]["FunctionName"] == function_arn, logical_id
        assert rule_arn in allowed_rules, f"EventsDeadLetterQueuePolicy does not admit {logical_id}"
    assert len(allowed_rules) == len(rules), "the queue policy admits a rule this stack does not have"
    assert len(permissions) == len(rules), "a Lambda permission without its rule, or the reverse"


def test_sweep_schedule(templates):
    template = templates["template.yaml"]
    rule = template["Resources"]["SweepScheduleRule"]["Properties"]
    assert rule["ScheduleExpression"] == {"Ref": "SweepSchedule"}
    assert template["Parameters"]["SweepSchedule"]["Default"].startswith("rate(")


@pytest.mark.parametrize("region", REGIONS)
def test_forwarder_rules_put_on_the_central_bus_only(templates, region):
    stack = deployment(templates, "forwarder.yaml", region)
    role_arn = stack.get_att("ForwarderRole", "Arn")
    dlq_arn = stack.get_att("ForwarderDeadLetterQueue", "Arn")
    rules = event_rules(stack)
    assert rules, region
    for logical_id, properties in rules.items():
        (target,) = properties["Targets"]
        assert target["Arn"] == CENTRAL_BUS and target["RoleArn"] == role_arn, logical_id
        assert target["DeadLetterConfig"] == {"Arn": dlq_arn}, logical_id
        assert int(target["RetryPolicy"]["MaximumRetryAttempts"]) > 0, logical_id
    policy = stack.resolve(stack.template["Resources"]["ForwarderDeadLetterQueuePolicy"]["Properties"])
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert sorted(statement["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        stack.get_att(logical_id, "Arn") for logical_id in rules
    )
    role = stack.resolve(stack.template["Resources"]["ForwarderRole"]["Properties"])
    (policy,) = role["Policies"]
    (grant,) = policy["PolicyDocument"]["Statement"]
    assert grant["Action"] == "events:PutEvents" and grant["Resource"] == CENTRAL_BUS


def bus_policy_sources(stack: Stack) -> list[str]:
    policy = stack.template["Resources"]["OrganizationPutEventsPolicy"]
    condition = stack.resolve(policy["Properties"]["Statement"])["Condition"]
    return condition["StringEquals"]["events:source"]


@pytest.mark.parametrize("region", REGIONS)
def test_bus_policy_admits_exactly_the_consumed_sources(templates, event_patterns, region):
    """The central bus admits the organization's events of every source `rolewarden event-pattern`
    prints, in every region (IAM too: member accounts forward it from their us-east-1 to a central
    stack anywhere), and of no other source."""
    stack = Stack(templates["template.yaml"], region=region, parameters={"OrganizationId": "o-abcdefghij"})
    assert "OrganizationPutEventsPolicy" in stack.resources()
    assert bus_policy_sources(stack) == sorted(event_patterns)
    forwarded = {rule_source(r["EventPattern"]) for r in event_rules(deployment(templates, "forwarder.yaml")).values()}
    assert forwarded <= set(bus_policy_sources(stack)), "a forwarder rule sends a source the central bus refuses"


def load_generator():
    spec = importlib.util.spec_from_file_location("sync_event_patterns", ROOT / "scripts/sync-event-patterns.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_admits_a_new_source_on_the_bus(event_patterns, templates):
    """A baseline that adds a source (aws.kendra here) gets its rule, its Lambda permission, its
    dead-letter entry and its place in the bus policy from one generator run: no hand edit can
    forget to let the forwarded events of the new source in."""
    generator = load_generator()
    patterns = dict(event_patterns)
    patterns["aws.kendra"] = {
        "source": ["aws.kendra"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["kendra.amazonaws.com"], "eventName": ["CreateIndex"]},
    }
    block = "\n".join(generator.template_block(patterns))
    resources = yaml.load("Resources:\n" + block, Loader=cfn_template._CfnLoader)["Resources"]  # noqa: S506
    template = dict(templates["template.yaml"], Resources={**templates["template.yaml"]["Resources"], **resources})
    stack = Stack(template, parameters={"OrganizationId": "o-abcdefghij"})
    assert bus_policy_sources(stack) == sorted(patterns)
    assert {rule_source(r["EventPattern"]) for r in event_rules(stack).values()} == set(patterns)
    assert "KendraEventsPermission" in resources
    dead_letter = stack.resolve(resources["EventsDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"])
    (statement,) = dead_letter["Statement"]
    assert stack.get_att("KendraEventsRule", "Arn") in statement["Condition"]["ArnEquals"]["aws:SourceArn"]


def test_trail_rule_matches_the_trail_log_files_only(templates):
    """CloudTrail from S3 (issue 17): the rule takes S3's "Object Created" events of the named
    bucket for keys under the trail's CloudTrail folders, the key pattern of the read policy."""
    stack = Stack(
        templates["template.yaml"],
        account="111122223333",
        parameters={"TrailBucketName": "org-trail-111122223333", "TrailKeyPrefix": "central/"},
    )
    pattern = stack.resolve(stack.template["Resources"]["TrailObjectsRule"]["Properties"]["EventPattern"])
    assert pattern == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": ["org-trail-111122223333"]},
            "object": {"key": [{"wildcard": "central/AWSLogs/*/CloudTrail/*.json.gz"}]},
        },
    }
