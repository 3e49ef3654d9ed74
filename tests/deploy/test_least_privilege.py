"""Least privilege, proven on the templates as CloudFormation would deploy them.

Every IAM policy document of template.yaml and forwarder.yaml (permission policies and trust
policies; the SQS queue and event bus resource policies are checked separately below) is
resolved with realistic ARNs and:
- grants no wildcard action, and Resource "*" only to actions that have no resource type;
- for the function, grants exactly the calls the code makes (and the dependent actions the
  Service Authorization Reference lists for them), on this stack's resources;
- is judged by rolewarden itself (`rolewarden check-policy`): nothing above info.
The conditions of the central bus policy, of the forwarder role's trust, of the reader role's
trust and of the function's sts:AssumeRole are also judged against concrete requests
(iam_conditions.allows, a strict model of IAM's condition operators).

The organization (issue 15): the reader role forwarder.yaml creates in member accounts reads
exactly what the function reads in its own account; the function may assume only that role, only
in the organization, and send sweep messages only to its own SweepQueue.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cfn_template import Stack, event_rules
from conftest import TEMPLATES, run_rolewarden
from iam_conditions import allows

CENTRAL_BUS = "arn:aws:events:us-east-1:111122223333:event-bus/default"
CENTRAL_ROLE = "arn:aws:iam::111122223333:role/rolewarden-FunctionRole-1A2B3C4D5E6F"
MEMBER_ACCOUNT = "444455556666"
EXTERNAL_ID = "rolewarden-7f3c2a"

# What enrichment and the sweep read (the calls, src/aws/reader.rs and gather.rs): the
# function's own role reads them in its account, the reader role in a member account.
READ_CALLS = {
    "iam:GetRole",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:ListRoles",
    "lex:ListBots",
    "lex:GetBots",
    "connect:ListInstances",
}

# The AWS calls the function makes (src/aws/): those reads, the findings sink, its own
# dead-letter queue, and for the organization (issue 15) the reader roles of member accounts,
# the sweep's plan and TR003's organization.
FUNCTION_CALLS = READ_CALLS | {
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:SendMessage",
    "sts:AssumeRole",
    "organizations:ListAccounts",
    "organizations:DescribeOrganization",
} | {
    # Finding state (issue 16, src/aws/state_table.rs), when FindingState is enabled (the default).
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:BatchWriteItem",
    # CloudTrail from S3 (issue 17): new log files of the trail bucket (src/aws/s3.rs), and
    # their KMS key when the trail is encrypted (S3 calls kms:Decrypt as the function).
    "s3:GetObject",
    "kms:Decrypt",
    # The Security Hub sink (issue 16, src/aws/securityhub.rs), when SecurityHubFindings is enabled.
    "securityhub:BatchImportFindings",
}

# What the SQS event source mapping does with the function's role (Lambda Developer Guide,
# services-sqs: the execution role's required permissions); the code does not call them.
EVENT_SOURCE_MAPPING_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}

# Dependent actions (the Service Authorization Reference's "Dependent actions" column): a call
# succeeds only when the caller may also do these. connect:ListInstances lists
# ds:DescribeDirectories (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonconnect.html).
DEPENDENT_ACTIONS = {"connect:ListInstances": {"ds:DescribeDirectories"}}


def with_dependents(calls: set[str]) -> set[str]:
    return calls | set().union(*(DEPENDENT_ACTIONS.get(c, set()) for c in calls))


FUNCTION_ACTIONS = with_dependents(FUNCTION_CALLS) | EVENT_SOURCE_MAPPING_ACTIONS

# The reader role may do those reads and nothing else.
READ_ACTIONS = with_dependents(READ_CALLS)

# Actions with no resource type in the Service Authorization Reference: IAM accepts only
# Resource "*" for them. iam:ListRoles (IAM), lex:ListBots (Lex V2), lex:GetBots (Lex V1),
# connect:ListInstances (Connect), ds:DescribeDirectories (Directory Service) are all "List"
# actions with an empty resource-types column.
ACTIONS_WITHOUT_RESOURCE_TYPES = {
    "iam:ListRoles",
    "lex:ListBots",
    "lex:GetBots",
    "connect:ListInstances",
    "ds:DescribeDirectories",
    "organizations:ListAccounts",
    "organizations:DescribeOrganization",
}
ORGANIZATION = "o-abcdefghij"
TRAIL_BUCKET = "org-trail-111122223333"
TRAIL_PREFIX = "central/"
TRAIL_KEY = "arn:aws:kms:us-east-1:111122223333:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"

# Resource policies, not identity or trust policies: checked by test_resource_policies.
RESOURCE_POLICY_TYPES = {"AWS::SQS::QueuePolicy", "AWS::Events::EventBusPolicy"}


def deployment(templates: dict, name: str) -> Stack:
    # Every optional feature on, so conditional statements are checked too: the forwarder in
    # us-east-1 with the reader role and its external id; the central stack with the
    # organization (SweepAccounts empty: the plan lists the organization's accounts).
    if name == "forwarder.yaml":
        return Stack(
            templates[name],
            account=MEMBER_ACCOUNT,
            parameters={
                "CentralEventBusArn": CENTRAL_BUS,
                "CentralRoleArn": CENTRAL_ROLE,
                "OrganizationId": ORGANIZATION,
                "ExternalId": EXTERNAL_ID,
            },
        )
    return Stack(
        templates[name],
        parameters={
            "OrganizationId": ORGANIZATION,
            "ReaderExternalId": EXTERNAL_ID,
            "AlarmTopicArn": "arn:aws:sns:us-east-1:111122223333:security-alerts",
            "LogsKmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "BaselinePath": "/opt/rolewarden/baseline.toml",
            "BaselineLayerArn": "arn:aws:lambda:us-east-1:111122223333:layer:rolewarden-baseline:3",
            "TrailBucketName": TRAIL_BUCKET,
            "TrailKeyPrefix": TRAIL_PREFIX,
            "TrailKmsKeyArn": TRAIL_KEY,
            "SecurityHubFindings": "enabled",
        },
    )


def policy_documents(stack: Stack) -> list[tuple[str, str, dict]]:
    """(label, "trust"|"permissions", resolved document) for every IAM policy document."""
    documents = []
    for logical_id, resource in stack.resources().items():
        kind = resource["Type"]
        properties = resource.get("Properties", {})
        if kind in RESOURCE_POLICY_TYPES:
            continue
        if kind == "AWS::IAM::Role":
            documents.append((f"{logical_id}.trust", "trust", stack.resolve(properties["AssumeRolePolicyDocument"])))
            # Resolved as a list: a policy may exist under a condition (!If ... AWS::NoValue).
            for policy in stack.resolve(properties.get("Policies", [])):
                documents.append((f"{logical_id}.{policy['PolicyName']}", "permissions", policy["PolicyDocument"]))
            continue
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append((logical_id, "permissions", stack.resolve(properties["PolicyDocument"])))
            continue
        # A policy document anywhere else would escape these checks: refuse it. Keys, not text:
        # an event pattern names API calls such as `CreateResourcePolicyStatement`.
        assert not policy_keys(properties), (
            f"{logical_id} ({kind}) carries a policy this test does not model"
        )
    return documents


def policy_keys(value) -> bool:
    """Whether a `PolicyDocument` or `Statement` key appears anywhere in `value`."""
    if isinstance(value, dict):
        return any(k in ("PolicyDocument", "Statement") or policy_keys(v) for k, v in value.items())
    if isinstance(value, list):
        return any(policy_keys(v) for v in value)
    return False


def statements(document: dict) -> list[dict]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.fixture(params=TEMPLATES)
def name(request) -> str:
    return request.param


def test_documents_found(templates):
    central = {label for label, _, _ in policy_documents(deployment(templates, "template.yaml"))}
    assert central == {
        "FunctionRole.trust",
        "FunctionRole.read-iam",
        "FunctionRole.write-logs",
        "FunctionRole.dead-letter",
        "FunctionRole.sweep-queue",
        "FunctionRole.read-member-accounts",
        "FunctionRole.read-organization",
        "FunctionRole.finding-state",
        "FunctionRole.read-trail",
        "FunctionRole.import-findings",
    }
    forwarder = {label for label, _, _ in policy_documents(deployment(templates, "forwarder.yaml"))}
    assert forwarder == {
        "ForwarderRole.trust",
        "ForwarderRole.put-events-on-central-bus",
        "ReaderRole.trust",
        "ReaderRole.read-for-rolewarden",
    }


def test_function_role_is_ours_alone(templates):
    """No SAM-generated role (it would attach AWSLambdaBasicExecutionRole: logs on every group),
    no managed policy, no permissions granted anywhere but the inline policies above."""
    function = templates["template.yaml"]["Resources"]["RolewardenFunction"]["Properties"]
    assert function["Role"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}
    assert "Policies" not in function
    for name in TEMPLATES:
        for logical_id, resource in templates[name]["Resources"].items():
            if resource["Type"] == "AWS::IAM::Role":
                assert "ManagedPolicyArns" not in resource["Properties"], logical_id
            assert resource["Type"] not in ("AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::AccessKey"), logical_id


def test_no_wildcard_action_and_star_resource_only_where_required(templates, name):
    for label, kind, document in policy_documents(deployment(templates, name)):
        for statement in statements(document):
            assert statement["Effect"] == "Allow", label
            assert "NotAction" not in statement and "NotResource" not in statement, label
            assert "NotPrincipal" not in statement, label
            actions = as_list(statement["Action"])
            assert not any("*" in action for action in actions), f"{label}: wildcard action {actions}"
            if kind == "trust":
                assert "Resource" not in statement, label
                continue
            resources = as_list(statement["Resource"])
            if "*" in resources:
                assert resources == ["*"], label
                assert set(actions) <= ACTIONS_WITHOUT_RESOURCE_TYPES, (
                    f"{label}: Resource '*' for {sorted(set(actions) - ACTIONS_WITHOUT_RESOURCE_TYPES)}, "
                    "which have resource-level permissions"
                )
            else:
                assert not any(r.endswith(":*:*") or r in ("arn:aws:*", "arn:*") for r in resources), label


def test_function_grants_exactly_the_calls_the_code_makes(templates):
    stack = deployment(templates, "template.yaml")
    granted: dict[str, list[str]] = {}
    for label, kind, document in policy_documents(stack):
        if kind == "permissions":
            for statement in statements(document):
                for action in as_list(statement["Action"]):
                    granted.setdefault(action, []).extend(as_list(statement["Resource"]))
    assert set(granted) == FUNCTION_ACTIONS, (
        f"granted but not called: {sorted(set(granted) - FUNCTION_ACTIONS)}; "
        f"called but not granted: {sorted(FUNCTION_ACTIONS - set(granted))}"
    )
    account, region = stack.account, stack.region
    findings = stack.ref("FindingsLogGroup")
    own_logs = stack.ref("FunctionLogGroup")
    findings_arns = {
        f"arn:aws:logs:{region}:{account}:log-group:{findings}",
        f"arn:aws:logs:{region}:{account}:log-group:{findings}:*",
    }
    own_logs_arns = {f"arn:aws:logs:{region}:{account}:log-group:{own_logs}:*"}
    assert set(granted["logs:CreateLogGroup"]) == findings_arns
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        assert set(granted[action]) == findings_arns | own_logs_arns, action
    assert sorted(granted["sqs:SendMessage"]) == sorted(
        [stack.get_att("FunctionDeadLetterQueue", "Arn"), stack.get_att("SweepQueue", "Arn")]
    )
    for action in EVENT_SOURCE_MAPPING_ACTIONS:
        assert granted[action] == [stack.get_att("SweepQueue", "Arn")], action
    assert granted["sts:AssumeRole"] == ["arn:aws:iam::*:role/RolewardenReader"]
    assert granted["organizations:ListAccounts"] == ["*"]
    for action in ("iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies"):
        assert granted[action] == [f"arn:aws:iam::{account}:role/*"], action
    for action in ("iam:GetPolicy", "iam:GetPolicyVersion"):
        assert set(granted[action]) == {f"arn:aws:iam::{account}:policy/*", "arn:aws:iam::aws:policy/*"}, action
    table = stack.get_att("FindingStateTable", "Arn")
    for action in ("dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"):
        assert granted[action] == [table], action
    # Query only on the index of open records: never the whole table.
    assert granted["dynamodb:Query"] == [f"{table}/index/open"]
    assert granted["s3:GetObject"] == [f"arn:aws:s3:::{TRAIL_BUCKET}/{TRAIL_PREFIX}AWSLogs/*/CloudTrail/*"]
    assert granted["kms:Decrypt"] == [TRAIL_KEY]
    assert granted["securityhub:BatchImportFindings"] == [
        f"arn:aws:securityhub:{region}:{account}:product/{account}/default"
    ]


@pytest.mark.parametrize("hub", ["enabled", "disabled"])
def test_security_hub_permission_and_sink_follow_the_parameter(templates, hub):
    """The function may import findings, and is told to, only with SecurityHubFindings."""
    stack = Stack(templates["template.yaml"], parameters={"SecurityHubFindings": hub})
    granted = permissions(stack, "FunctionRole")
    assert ("securityhub:BatchImportFindings" in granted) == (hub == "enabled")
    variables = stack.resources()["RolewardenFunction"]["Properties"]["Environment"]["Variables"]
    sink = stack.resolve(variables["FINDINGS_SINK"])
    assert sink == ("cloudwatch,securityhub" if hub == "enabled" else "cloudwatch")


def test_dependent_actions_are_granted_with_their_action(templates):
    """A call whose dependent action is missing fails with AccessDenied although the call itself
    is granted: each dependent action is granted wherever its action is (here Resource "*", the
    only Resource both accept)."""
    granted: dict[str, list[str]] = {}
    for label, kind, document in policy_documents(deployment(templates, "template.yaml")):
        if kind == "permissions":
            for statement in statements(document):
                for action in as_list(statement["Action"]):
                    granted.setdefault(action, []).extend(as_list(statement["Resource"]))
    for action, dependents in DEPENDENT_ACTIONS.items():
        assert action in FUNCTION_CALLS, action
        for dependent in dependents:
            assert granted.get(dependent) == granted[action] == ["*"], (action, dependent)


def test_trust_policies(templates):
    central = dict((label, doc) for label, _, doc in policy_documents(deployment(templates, "template.yaml")))
    (statement,) = statements(central["FunctionRole.trust"])
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    forwarder = dict((label, doc) for label, _, doc in policy_documents(deployment(templates, "forwarder.yaml")))
    (statement,) = statements(forwarder["ForwarderRole.trust"])
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "444455556666"},
        "ArnLike": {"aws:SourceArn": "arn:aws:events:us-east-1:444455556666:rule/*"},
    }


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-2"])
def test_forwarder_role_is_assumable_by_its_own_rules_only(templates, region):
    """EventBridge, assuming the role for a rule, sends aws:SourceAccount (the rule's account) and
    aws:SourceArn (the rule's ARN). Every rule of the stack is admitted; a rule of another account
    or region, and any other EventBridge resource (a bus, an EventBridge Scheduler schedule,
    which uses the same service principal), is not."""
    account = "444455556666"
    stack = Stack(
        templates["forwarder.yaml"],
        region=region,
        account=account,
        parameters={"CentralEventBusArn": "arn:aws:events:us-east-1:111122223333:event-bus/default"},
    )
    trust = stack.resolve(stack.template["Resources"]["ForwarderRole"]["Properties"]["AssumeRolePolicyDocument"])
    (statement,) = statements(trust)
    condition = statement["Condition"]
    rules = event_rules(stack)
    assert rules
    for logical_id in rules:
        rule_arn = stack.get_att(logical_id, "Arn")
        assert allows(condition, {"aws:SourceAccount": account, "aws:SourceArn": rule_arn}), logical_id
    other_region = "ap-southeast-2"
    refused = {
        "a rule of another account": ("999988887777", f"arn:aws:events:{region}:999988887777:rule/x"),
        "a rule of another region": (account, f"arn:aws:events:{other_region}:{account}:rule/x"),
        "an event bus": (account, f"arn:aws:events:{region}:{account}:event-bus/default"),
        "a Scheduler schedule": (account, f"arn:aws:scheduler:{region}:{account}:schedule/default/x"),
        "a rule of this account, claimed by another": ("999988887777", f"arn:aws:events:{region}:{account}:rule/x"),
    }
    for what, (source_account, source_arn) in refused.items():
        assert not allows(condition, {"aws:SourceAccount": source_account, "aws:SourceArn": source_arn}), what
    assert not allows(condition, {"aws:SourceAccount": account}), "no aws:SourceArn, no assume"


def test_resource_policies(templates, event_patterns):
    """The resource policies check-policy does not judge: the dead-letter queues admit only this
    stack's rules, the central bus only the organization, and only for the consumed sources."""
    for name in TEMPLATES:
        stack = deployment(templates, name)
        for logical_id, resource in stack.resources("AWS::SQS::QueuePolicy").items():
            document = stack.resolve(resource["Properties"]["PolicyDocument"])
            for statement in statements(document):
                assert statement["Principal"] == {"Service": "events.amazonaws.com"}, logical_id
                assert statement["Action"] == "sqs:SendMessage", logical_id
                arns = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
                assert arns and all(":rule/" in arn for arn in arns), logical_id
    stack = deployment(templates, "template.yaml")
    bus_policies = stack.resources("AWS::Events::EventBusPolicy")
    assert list(bus_policies) == ["OrganizationPutEventsPolicy"]
    assert bus_policies["OrganizationPutEventsPolicy"]["Condition"] == "HasOrganization"
    statement = stack.resolve(bus_policies["OrganizationPutEventsPolicy"]["Properties"]["Statement"])
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == "arn:aws:events:us-east-1:111122223333:event-bus/default"
    assert statement["Principal"] == "*" and statement["Effect"] == "Allow"
    assert statement["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": ORGANIZATION, "events:source": sorted(event_patterns)}
    }
    without_org = Stack(templates["template.yaml"])
    assert not without_org.resources("AWS::Events::EventBusPolicy"), "no organization, no bus policy"


def test_bus_policy_admits_the_organization_and_the_consumed_sources_only(templates, event_patterns):
    """PutEvents on the central bus (events:source is the event's source, aws:PrincipalOrgID the
    caller's organization; a forwarding rule's role is the caller): allowed for the sources the
    function consumes, refused for any other source, another organization, or no organization."""
    stack = deployment(templates, "template.yaml")
    policy = stack.resources("AWS::Events::EventBusPolicy")["OrganizationPutEventsPolicy"]
    condition = stack.resolve(policy["Properties"]["Statement"])["Condition"]
    for source in event_patterns:
        assert allows(condition, {"aws:PrincipalOrgID": ORGANIZATION, "events:source": source}), source
    # Sources that reach other rules of a default bus: custom applications' events, other AWS
    # services, the scheduler's own source.
    for source in ("com.example.orders", "aws.ec2", "aws.events", "aws.iam.fake", "AWS.IAM", ""):
        assert not allows(condition, {"aws:PrincipalOrgID": ORGANIZATION, "events:source": source}), source
    some_source = sorted(event_patterns)[0]
    assert not allows(condition, {"aws:PrincipalOrgID": "o-zzzzzzzzzz", "events:source": some_source})
    assert not allows(condition, {"events:source": some_source}), "a principal outside any organization"
    assert not allows(condition, {"aws:PrincipalOrgID": ORGANIZATION}), "no source, no put"


def test_condition_model_itself():
    """iam_conditions.allows's own semantics, so a mistake in it cannot make the tests above vacuous."""
    condition = {"StringEquals": {"aws:PrincipalOrgID": "o-1", "events:source": ["a", "b"]}}
    assert allows(condition, {"aws:PrincipalOrgID": "o-1", "events:source": "b"})
    assert allows(condition, {"AWS:PrincipalOrgId": "o-1", "EVENTS:SOURCE": "a"})  # keys case-insensitive
    assert not allows(condition, {"aws:PrincipalOrgID": "o-1", "events:source": "c"})
    assert not allows(condition, {"aws:PrincipalOrgID": "o-2", "events:source": "a"})
    assert not allows(condition, {"aws:PrincipalOrgID": "o-1"})  # an absent key fails
    arn = {"ArnLike": {"aws:SourceArn": "arn:aws:events:us-east-1:111122223333:rule/*"}}
    assert allows(arn, {"aws:SourceArn": "arn:aws:events:us-east-1:111122223333:rule/x-1"})
    assert allows(arn, {"aws:SourceArn": "arn:aws:events:us-east-1:111122223333:rule/bus/x"})
    assert not allows(arn, {"aws:SourceArn": "arn:aws:events:eu-west-2:111122223333:rule/x"})
    assert not allows(arn, {"aws:SourceArn": "arn:aws:events:us-east-1:999999999999:rule/x"})
    assert not allows(arn, {"aws:SourceArn": "arn:aws:events:us-east-1:111122223333:event-bus/default"})
    with pytest.raises(NotImplementedError):
        allows({"StringLike": {"k": "v"}}, {"k": "v"})


def check_policy(paths: list[Path]) -> tuple[int, list[dict], str]:
    result = run_rolewarden("check-policy", "--format", "json", *map(str, paths), check=False)
    if "unrecognized subcommand" in result.stderr:
        pytest.fail("`rolewarden check-policy` does not exist in this build yet")
    findings = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.returncode, findings, result.stderr


def test_check_policy_finds_nothing_above_info(templates, name, tmp_path):
    paths = []
    kinds = {}
    for label, kind, document in policy_documents(deployment(templates, name)):
        path = tmp_path / f"{label}.json"
        path.write_text(json.dumps(document, indent=2))
        paths.append(path)
        kinds[path.name] = kind
    status, findings, stderr = check_policy(paths)
    above_info = [f for f in findings if f["severity"] != "info"]
    assert not above_info, "\n".join(f"{f['rule_id']} {f['severity']}: {f['message']}" for f in above_info)
    assert status == 0, f"check-policy exited {status}\n{stderr}"
    for file_name, kind in kinds.items():
        # check-policy tells trust from permissions by `Principal`: it must agree with the template.
        assert f"{file_name}: {kind} policy" in stderr, f"check-policy did not judge {file_name} as a {kind} policy:\n{stderr}"


def test_check_policy_is_not_vacuous(tmp_path):
    """The same command on a policy this project exists to catch exits 1 with a finding."""
    broad = tmp_path / "broad.json"
    broad.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]}))
    trust = tmp_path / "lex-trust.json"
    trust.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lexv2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    status, findings, _ = check_policy([broad, trust])
    assert status == 1
    assert {f["rule_id"] for f in findings} >= {"PR001", "TR002"}


def test_sam_transform_adds_no_permission(template, monkeypatch):
    """What CloudFormation deploys is SAM's transform of template.yaml: run the same translator
    (aws-sam-translator, offline) and check it adds no role, policy or permission of its own."""
    import copy

    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self, arns=None):
            return {}

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    source = copy.deepcopy(template)
    source["Resources"]["RolewardenFunction"]["Properties"]["CodeUri"] = "s3://bucket/rolewarden.zip"
    resources = transform(source, {}, NoManagedPolicies())["Resources"]
    added = set(resources) - set(template["Resources"])
    assert added == {"RolewardenFunctionEventInvokeConfig", "RolewardenFunctionSweepMessages"}, (
        f"SAM added {sorted(added)}"
    )
    mapping = resources["RolewardenFunctionSweepMessages"]
    assert mapping["Type"] == "AWS::Lambda::EventSourceMapping"
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["SweepQueue", "Arn"]}
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "SweepMaximumConcurrency"}}
    for logical_id, resource in resources.items():
        assert resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"), logical_id
    assert [k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role"] == ["FunctionRole"]
    assert [k for k, r in resources.items() if r["Type"] == "AWS::Lambda::Permission"] == [
        k for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Permission"
    ]
    function = resources["RolewardenFunction"]["Properties"]
    assert function["Role"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogGroup"}
    invoke = resources["RolewardenFunctionEventInvokeConfig"]["Properties"]
    assert invoke["Qualifier"] == "$LATEST"
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["FunctionDeadLetterQueue", "Arn"]
    }


def permissions(stack: Stack, role: str) -> dict[str, list[dict]]:
    """action -> the statements of `role`'s permission policies that allow it."""
    granted: dict[str, list[dict]] = {}
    for label, kind, document in policy_documents(stack):
        if kind == "permissions" and label.startswith(f"{role}."):
            for statement in statements(document):
                for action in as_list(statement["Action"]):
                    granted.setdefault(action, []).append(statement)
    return granted


def test_reader_role_reads_exactly_what_the_function_reads(templates):
    """The reader role holds the read actions and nothing else, on the member account's own
    roles and policies: the very statements the function's role holds in its own account."""
    member = deployment(templates, "forwarder.yaml")
    reader = permissions(member, "ReaderRole")
    assert set(reader) == READ_ACTIONS, (
        f"more: {sorted(set(reader) - READ_ACTIONS)}; missing: {sorted(READ_ACTIONS - set(reader))}"
    )
    for action, granting in reader.items():
        for statement in granting:
            assert "Condition" not in statement, action
            resources = as_list(statement["Resource"])
            if action in ACTIONS_WITHOUT_RESOURCE_TYPES:
                assert resources == ["*"], action
            else:
                assert all(
                    r.startswith(f"arn:aws:iam::{MEMBER_ACCOUNT}:") or r == "arn:aws:iam::aws:policy/*"
                    for r in resources
                ), (action, resources)
    # The same reads as the function's own, statement for statement, when both are in one account.
    (document,) = [d for label, _, d in policy_documents(member) if label == "ReaderRole.read-for-rolewarden"]
    central_here = Stack(templates["template.yaml"], account=MEMBER_ACCOUNT)
    (own,) = [d for label, _, d in policy_documents(central_here) if label == "FunctionRole.read-iam"]
    assert document == own


def test_reader_role_trusts_the_central_role_in_the_organization_only(templates):
    member = deployment(templates, "forwarder.yaml")
    trust = dict((label, doc) for label, _, doc in policy_documents(member))["ReaderRole.trust"]
    (statement,) = statements(trust)
    assert statement["Principal"] == {"AWS": CENTRAL_ROLE}
    assert statement["Action"] == "sts:AssumeRole"
    condition = statement["Condition"]
    assert condition == {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION, "sts:ExternalId": EXTERNAL_ID}}
    assert allows(condition, {"aws:PrincipalOrgID": ORGANIZATION, "sts:ExternalId": EXTERNAL_ID})
    assert not allows(condition, {"aws:PrincipalOrgID": ORGANIZATION}), "no external id, no assume"
    assert not allows(condition, {"aws:PrincipalOrgID": ORGANIZATION, "sts:ExternalId": "guess"})
    assert not allows(condition, {"aws:PrincipalOrgID": "o-zzzzzzzzzz", "sts:ExternalId": EXTERNAL_ID})
    assert not allows(condition, {"sts:ExternalId": EXTERNAL_ID}), "a principal outside any organization"

    # Without ExternalId the condition is the organization alone, not an empty external id.
    without = Stack(
        templates["forwarder.yaml"],
        account=MEMBER_ACCOUNT,
        parameters={"CentralEventBusArn": CENTRAL_BUS, "CentralRoleArn": CENTRAL_ROLE, "OrganizationId": ORGANIZATION},
    )
    trust = dict((label, doc) for label, _, doc in policy_documents(without))["ReaderRole.trust"]
    (statement,) = statements(trust)
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION}}
    assert statement["Principal"] == {"AWS": CENTRAL_ROLE}


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-2", "ap-southeast-2"])
def test_reader_role_is_created_once_per_account(templates, region):
    """IAM is global: only the us-east-1 instance (the one forwarding IAM events) creates the
    reader role, and only when given the central role and the organization. A central role
    without the organization is refused by the template's Rules, not quietly ignored."""

    def forwarder(**parameters: str) -> Stack:
        return Stack(
            templates["forwarder.yaml"],
            region=region,
            account=MEMBER_ACCOUNT,
            parameters={"CentralEventBusArn": CENTRAL_BUS, **parameters},
        )

    full = forwarder(CentralRoleArn=CENTRAL_ROLE, OrganizationId=ORGANIZATION)
    assert full.failed_rules() == []
    roles = set(full.resources("AWS::IAM::Role"))
    assert roles == ({"ForwarderRole", "ReaderRole"} if region == "us-east-1" else {"ForwarderRole"}), roles
    if region == "us-east-1":
        assert full.get_att("ReaderRole", "Arn") == f"arn:aws:iam::{MEMBER_ACCOUNT}:role/RolewardenReader"
    events_only = forwarder()
    assert events_only.failed_rules() == []
    assert set(events_only.resources("AWS::IAM::Role")) == {"ForwarderRole"}, "no central role, no reader role"
    assert forwarder(CentralRoleArn=CENTRAL_ROLE).failed_rules() == ["ReaderRoleNeedsOrganization"]


def test_function_assumes_only_reader_roles_of_the_organization(templates):
    """sts:AssumeRole: the role name forwarder.yaml creates, in any account, and only when that
    account belongs to the organization (aws:ResourceOrgID, the assumed role's organization)."""
    central = deployment(templates, "template.yaml")
    (statement,) = permissions(central, "FunctionRole")["sts:AssumeRole"]
    (pattern,) = as_list(statement["Resource"])
    condition = statement["Condition"]
    assert condition == {"StringEquals": {"aws:ResourceOrgID": ORGANIZATION}}
    member = deployment(templates, "forwarder.yaml")
    reader_arn = member.get_att("ReaderRole", "Arn")

    def resource_matches(arn: str) -> bool:
        return allows({"ArnLike": {"resource": pattern}}, {"resource": arn})

    assert resource_matches(reader_arn), (pattern, reader_arn)
    assert resource_matches("arn:aws:iam::999988887777:role/RolewardenReader")
    for other in (
        f"arn:aws:iam::{MEMBER_ACCOUNT}:role/OrganizationAccountAccessRole",
        f"arn:aws:iam::{MEMBER_ACCOUNT}:role/RolewardenReaderAdmin",
        f"arn:aws:iam::{MEMBER_ACCOUNT}:role/admin/RolewardenReader",
        f"arn:aws:iam::{MEMBER_ACCOUNT}:user/RolewardenReader",
    ):
        assert not resource_matches(other), other
    assert allows(condition, {"aws:ResourceOrgID": ORGANIZATION})
    assert not allows(condition, {"aws:ResourceOrgID": "o-zzzzzzzzzz"}), "a role of another organization"
    assert not allows(condition, {}), "a role of an account outside any organization"
    # Another name on both sides: still only that name.
    renamed = Stack(templates["template.yaml"], parameters={"OrganizationId": ORGANIZATION, "ReaderRoleName": "Audit"})
    (statement,) = permissions(renamed, "FunctionRole")["sts:AssumeRole"]
    assert statement["Resource"] == "arn:aws:iam::*:role/Audit"
    # The names agree by default: the function assumes what the forwarder creates.
    assert (
        templates["template.yaml"]["Parameters"]["ReaderRoleName"]["Default"]
        == templates["forwarder.yaml"]["Parameters"]["ReaderRoleName"]["Default"]
    )
    # The central stack's output is what the forwarder's CentralRoleArn expects.
    output = central.resolve(central.template["Outputs"]["FunctionRoleArn"]["Value"])
    assert output == central.get_att("FunctionRole", "Arn")
    assert re.fullmatch(templates["forwarder.yaml"]["Parameters"]["CentralRoleArn"]["AllowedPattern"], output)


@pytest.mark.parametrize(
    "organization,accounts",
    [("", ""), (ORGANIZATION, ""), ("", "222233334444"), (ORGANIZATION, "222233334444,555566667777")],
)
def test_organization_permissions_follow_the_parameters(templates, organization, accounts):
    """Each permission exists only when the feature that uses it is on: sts:AssumeRole with the
    organization, ListAccounts when the organization's accounts are listed (not named in
    SweepAccounts), sqs:SendMessage to SweepQueue when the schedule plans. The queue's consumer
    permissions stay: the event source mapping exists whatever the parameters."""
    stack = Stack(templates["template.yaml"], parameters={"OrganizationId": organization, "SweepAccounts": accounts})
    granted = permissions(stack, "FunctionRole")
    queue = stack.get_att("SweepQueue", "Arn")
    sends = [r for s in granted["sqs:SendMessage"] for r in as_list(s["Resource"])]
    assert (queue in sends) == bool(organization or accounts)
    assert sends.count(queue) <= 1
    assert ("sts:AssumeRole" in granted) == bool(organization)
    assert ("organizations:ListAccounts" in granted) == bool(organization and not accounts)
    for action in EVENT_SOURCE_MAPPING_ACTIONS:
        assert [r for s in granted[action] for r in as_list(s["Resource"])] == [queue], action


@pytest.mark.parametrize("state", ["enabled", "disabled"])
def test_finding_state_permissions_follow_the_parameter(templates, state):
    """The DynamoDB actions exist only with the state table, and only on it."""
    stack = Stack(templates["template.yaml"], parameters={"FindingState": state})
    granted = permissions(stack, "FunctionRole")
    dynamodb = {a for a in granted if a.startswith("dynamodb:")}
    if state == "disabled":
        assert dynamodb == set()
        assert "FindingStateTable" not in stack.resources()
        return
    assert dynamodb == {"dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:BatchWriteItem"}
    table = stack.get_att("FindingStateTable", "Arn")
    for action in dynamodb:
        (statement,) = granted[action]
        assert as_list(statement["Resource"])[0].startswith(table), action
@pytest.mark.parametrize("bucket,key", [("", ""), (TRAIL_BUCKET, ""), (TRAIL_BUCKET, TRAIL_KEY), ("", TRAIL_KEY)])
def test_trail_permissions_follow_the_parameters(templates, bucket, key):
    """The trail's log files are readable only with TrailBucketName, and only its CloudTrail
    prefix (not the digests, not other keys of the bucket); its KMS key only with
    TrailKmsKeyArn, only through S3 in this region."""
    stack = Stack(templates["template.yaml"], parameters={"TrailBucketName": bucket, "TrailKmsKeyArn": key})
    granted = permissions(stack, "FunctionRole")
    assert ("s3:GetObject" in granted) == bool(bucket)
    assert ("kms:Decrypt" in granted) == bool(bucket and key)
    if bucket:
        (read,) = granted["s3:GetObject"]
        resource = read["Resource"]
        assert resource == f"arn:aws:s3:::{bucket}/AWSLogs/*/CloudTrail/*"
        as_pattern = "^" + re.escape(resource).replace(r"\*", ".*") + "$"
        assert re.match(as_pattern, f"arn:aws:s3:::{bucket}/AWSLogs/o-abcdefghij/444455556666/CloudTrail/us-east-1/2026/11/02/x.json.gz")
        assert re.match(as_pattern, f"arn:aws:s3:::{bucket}/AWSLogs/444455556666/CloudTrail/eu-west-1/2026/11/02/x.json.gz")
        assert not re.match(as_pattern, f"arn:aws:s3:::{bucket}/AWSLogs/444455556666/CloudTrail-Digest/us-east-1/2026/11/02/x.json.gz")
        assert not re.match(as_pattern, f"arn:aws:s3:::{bucket}/reports/x.csv")
    if bucket and key:
        (decrypt,) = granted["kms:Decrypt"]
        assert decrypt["Resource"] == key
        assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}}
