"""What issue 4 asks of template.yaml beyond routing and permissions: the function as SAM builds
it, failure handling (retries, dead-letter queues, alarms), the findings alarm against the real
finding schema, justified checkov skips, and samconfig.toml. And what issue 15 asks: the sweep's
queue, its dead-letter queue and alarm, the function's SQS event, the organization environment."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from cfn_template import Stack
from conftest import ROOT, TEMPLATES, run_rolewarden

FOURTEEN_DAYS = 1209600


def test_function_as_sam_builds_it(template):
    function = template["Resources"]["RolewardenFunction"]
    assert function["Type"] == "AWS::Serverless::Function"
    assert function["Metadata"]["BuildMethod"] == "rust-cargolambda"
    assert function["Metadata"]["BuildProperties"] == {"Binary": "bootstrap"}
    properties = function["Properties"]
    assert properties["Runtime"] == "provided.al2023"
    assert properties["Handler"] == "bootstrap"
    assert properties["Architectures"] == [{"Ref": "Architecture"}]
    assert template["Parameters"]["Architecture"]["Default"] == "arm64"
    stack = Stack(template)
    env = stack.resolve(properties["Environment"]["Variables"])
    assert env["FINDINGS_LOG_GROUP"] == stack.ref("FindingsLogGroup")
    assert env["FINDINGS_SINK"] == "cloudwatch"
    assert "ROLEWARDEN_REGIONS" not in env, "regions come from the baseline"
    assert "ROLEWARDEN_BASELINE" not in env, "no baseline path unless BaselinePath is set"
    for name in ("READER_ROLE_NAME", "READER_EXTERNAL_ID", "SWEEP_QUEUE_URL", "SWEEP_ACCOUNTS"):
        assert name not in env, f"{name}: no organization, no sweep accounts"
    assert env["STATE_TABLE"] == stack.ref("FindingStateTable")
    assert "STATE_TABLE" not in Stack(template, parameters={"FindingState": "disabled"}).resolve(
        properties["Environment"]["Variables"]
    )
    assert properties["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogGroup"}
    assert env["ROLEWARDEN_CACHE_TTL_SECONDS"] == "300"
    with_baseline = Stack(template, parameters={"BaselinePath": "/opt/rolewarden/baseline.toml"})
    env = with_baseline.resolve(properties["Environment"]["Variables"])
    assert env["ROLEWARDEN_BASELINE"] == "/opt/rolewarden/baseline.toml"


def test_memory_and_timeout_point_at_the_measurements():
    text = (ROOT / "template.yaml").read_text()
    for key in ("MemorySize", "Timeout"):
        (line,) = [l for l in text.splitlines() if l.strip().startswith(f"{key}:")]
        assert "# measured: see README Performance" in line, line


def test_findings_log_group(template):
    group = template["Resources"]["FindingsLogGroup"]
    assert group["DeletionPolicy"] == "Retain" and group["UpdateReplacePolicy"] == "Retain"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "FindingsRetentionDays"}
    assert Stack(template).resolve(group["Properties"]).get("KmsKeyId") is None
    with_key = Stack(template, parameters={"LogsKmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/abc-123"})
    assert with_key.resolve(group["Properties"])["KmsKeyId"] == "arn:aws:kms:us-east-1:111122223333:key/abc-123"


def test_asynchronous_invocation_failures_go_to_an_encrypted_queue(template):
    stack = Stack(template)
    config = stack.resolve(template["Resources"]["RolewardenFunction"]["Properties"]["EventInvokeConfig"])
    assert 0 <= int(config["MaximumRetryAttempts"]) <= 2
    assert 60 <= int(config["MaximumEventAgeInSeconds"]) <= 21600
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": stack.get_att("FunctionDeadLetterQueue", "Arn"),
    }


@pytest.mark.parametrize(
    "name,queue",
    [
        ("template.yaml", "FunctionDeadLetterQueue"),
        ("template.yaml", "EventsDeadLetterQueue"),
        ("template.yaml", "SweepDeadLetterQueue"),
        ("forwarder.yaml", "ForwarderDeadLetterQueue"),
    ],
)
def test_dead_letter_queues_are_encrypted_and_kept_14_days(templates, name, queue):
    properties = templates[name]["Resources"][queue]["Properties"]
    assert properties["MessageRetentionPeriod"] == FOURTEEN_DAYS
    assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties


def _deployment(templates: dict, name: str, **parameters: str) -> Stack:
    if name == "forwarder.yaml":
        parameters["CentralEventBusArn"] = "arn:aws:events:us-east-1:111122223333:event-bus/default"
        return Stack(templates[name], account="444455556666", parameters=parameters)
    return Stack(templates[name], parameters=parameters)


def _queue_alarms(stack: Stack, queue: str) -> list[dict]:
    queue_name = stack.get_att(queue, "QueueName")
    return [
        alarm
        for alarm in (stack.resolve(a["Properties"]) for a in stack.resources("AWS::CloudWatch::Alarm").values())
        if alarm.get("Namespace") == "AWS/SQS" and {"Name": "QueueName", "Value": queue_name} in alarm["Dimensions"]
    ]


@pytest.mark.parametrize(
    "name,queue",
    [
        ("template.yaml", "FunctionDeadLetterQueue"),
        ("template.yaml", "EventsDeadLetterQueue"),
        ("template.yaml", "SweepDeadLetterQueue"),
        ("forwarder.yaml", "ForwarderDeadLetterQueue"),
    ],
)
@pytest.mark.parametrize("topic", ["arn:aws:sns:us-east-1:111122223333:alerts", ""])
def test_dead_letter_queue_depth_is_always_alarmed(templates, name, queue, topic):
    """Every dead-letter queue, the forwarders' included, has its alarm whether or not a topic is
    given: a dead letter expires after 14 days, and an alarm without actions still shows it
    (console, dashboards, DescribeAlarms). The topic only adds the notification."""
    stack = _deployment(templates, name, AlarmTopicArn=topic)
    matching = _queue_alarms(stack, queue)
    assert len(matching) == 1, f"{name}: {queue} has {len(matching)} alarms with AlarmTopicArn={topic!r}"
    (alarm,) = matching
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Statistic"] == "Maximum"
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    if topic:
        assert alarm["AlarmActions"] == [topic]
    else:
        assert "AlarmActions" not in alarm


@pytest.mark.parametrize("name", TEMPLATES)
def test_no_alarm_depends_on_the_topic(templates, name):
    """No alarm is conditional: the topic decides the actions, never whether the alarm exists."""
    for logical_id, resource in templates[name]["Resources"].items():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            assert "Condition" not in resource, f"{name}: {logical_id} exists only under {resource['Condition']}"
    with_topic = _deployment(templates, name, AlarmTopicArn="arn:aws:sns:us-east-1:111122223333:alerts")
    without = _deployment(templates, name)
    assert set(with_topic.resources("AWS::CloudWatch::Alarm")) == set(without.resources("AWS::CloudWatch::Alarm"))


def test_findings_format_reaches_the_function(template):
    """FindingsFormat is FINDINGS_FORMAT, json unless asked."""
    assert template["Parameters"]["FindingsFormat"]["Default"] == "json"
    for value in ("json", "ocsf"):
        stack = Stack(template, parameters={"FindingsFormat": value})
        env = stack.resolve(template["Resources"]["RolewardenFunction"]["Properties"]["Environment"]["Variables"])
        assert env["FINDINGS_FORMAT"] == value


def test_high_findings_metric_filter_matches_ocsf_findings(template):
    """With FindingsFormat ocsf the filter reads `$.severity_id` and `$.status_id`: the OCSF
    findings of the sample events it selects are exactly the ones whose native form is high or
    critical (without state every finding is New, 1), and an open or resolved one (status_id 2 or
    4, with finding state) is not counted again."""
    stack = Stack(template, parameters={"FindingsFormat": "ocsf"})
    pattern = stack.resolve(template["Resources"]["HighSeverityFindingsMetricFilter"]["Properties"])["FilterPattern"]
    ((threshold, status),) = (
        (int(t), int(s))
        for t, s in re.findall(r"^\{ \(\$\.severity_id >= (\d)\) && \(\$\.status_id = (\d)\) \}$", pattern)
    )
    assert status == 1, pattern
    native = run_rolewarden("evaluate", "--format", "json", "events/", check=False).stdout.splitlines()
    ocsf = run_rolewarden("evaluate", "--format", "ocsf", "events/", check=False).stdout.splitlines()
    assert len(native) == len(ocsf) > 0
    pairs = [(json.loads(n)["severity"], json.loads(o)) for n, o in zip(native, ocsf)]
    assert {"critical", "high"} <= {s for s, _ in pairs}
    for severity, finding in pairs:
        counted = finding["severity_id"] >= threshold and finding["status_id"] == status
        assert counted == (severity in {"critical", "high"}), (severity, finding["severity_id"])


def test_high_findings_metric_filter_matches_the_finding_schema(template):
    """The filter reads `$.severity` of JSON log events; rolewarden's own findings (JSON Lines of
    the sample events) carry that field with exactly the values the filter names."""
    stack = Stack(template)
    metric_filter = stack.resolve(template["Resources"]["HighSeverityFindingsMetricFilter"]["Properties"])
    assert metric_filter["LogGroupName"] == stack.ref("FindingsLogGroup")
    pattern = metric_filter["FilterPattern"]
    named = set(re.findall(r'\$\.severity\s*=\s*"([a-z]+)"', pattern))
    assert named == {"critical", "high"}, pattern
    (transformation,) = metric_filter["MetricTransformations"]
    alarm = stack.resolve(template["Resources"]["HighSeverityFindingsAlarm"]["Properties"])
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        transformation["MetricNamespace"],
        transformation["MetricName"],
    )
    assert alarm["Threshold"] == 1 and alarm["Statistic"] == "Sum"

    output = run_rolewarden("evaluate", "--format", "json", "events/", check=False).stdout
    severities = {json.loads(line)["severity"] for line in output.splitlines() if line.strip()}
    assert {"critical", "high"} <= severities, severities
    assert severities <= {"info", "low", "medium", "high", "critical"}, severities


@pytest.mark.parametrize("name", TEMPLATES)
def test_checkov_skips_are_justified(templates, name):
    for logical_id, resource in templates[name]["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (logical_id, skip)
            assert len(skip.get("comment", "")) >= 40, f"{logical_id}: skip {skip['id']} needs a real reason"


def test_samconfig(template):
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    default = config["default"]
    assert default["global"]["parameters"]["region"] == "us-east-1"
    assert default["global"]["parameters"]["stack_name"]
    deploy = default["deploy"]["parameters"]
    assert deploy["resolve_s3"] is True
    assert "CAPABILITY_IAM" in deploy["capabilities"]
    assert default["validate"]["parameters"]["lint"] is True
    overrides = dict(re.findall(r'(\w+)="([^"]*)"', deploy["parameter_overrides"]))
    assert overrides, "parameter_overrides"
    assert set(overrides) <= set(template["Parameters"]), set(overrides) - set(template["Parameters"])
    assert overrides.get("Architecture") == "arm64"


ORGANIZATION = "o-abcdefghij"


@pytest.mark.parametrize(
    "parameters,expected",
    [
        ({}, {}),
        (
            {"OrganizationId": ORGANIZATION},
            {"READER_ROLE_NAME": "RolewardenReader", "SWEEP_QUEUE_URL": "queue"},
        ),
        (
            {"OrganizationId": ORGANIZATION, "ReaderRoleName": "Audit", "ReaderExternalId": "x-1234"},
            {"READER_ROLE_NAME": "Audit", "READER_EXTERNAL_ID": "x-1234", "SWEEP_QUEUE_URL": "queue"},
        ),
        (
            {"OrganizationId": ORGANIZATION, "SweepAccounts": "222233334444,555566667777"},
            {
                "READER_ROLE_NAME": "RolewardenReader",
                "SWEEP_QUEUE_URL": "queue",
                "SWEEP_ACCOUNTS": "222233334444,555566667777",
            },
        ),
        # Sweep accounts alone: the queue plans them, but no reader role is assumed (no organization
        # to bound sts:AssumeRole), and an external id means nothing without it.
        (
            {"SweepAccounts": "111122223333", "ReaderExternalId": "x-1234"},
            {"SWEEP_QUEUE_URL": "queue", "SWEEP_ACCOUNTS": "111122223333"},
        ),
    ],
)
def test_organization_environment(template, parameters, expected):
    """The contract with the function: each variable is set only when its feature is on (unset,
    not empty, otherwise), and SWEEP_QUEUE_URL is the queue the SQS event consumes."""
    stack = Stack(template, parameters=parameters)
    env = stack.resolve(template["Resources"]["RolewardenFunction"]["Properties"]["Environment"]["Variables"])
    names = {"READER_ROLE_NAME", "READER_EXTERNAL_ID", "SWEEP_QUEUE_URL", "SWEEP_ACCOUNTS"}
    got = {k: v for k, v in env.items() if k in names}
    want = {k: (stack.ref("SweepQueue") if v == "queue" else v) for k, v in expected.items()}
    assert got == want


def _function_timeout(template: dict) -> int:
    return int(template["Resources"]["RolewardenFunction"]["Properties"]["Timeout"])


def test_sweep_queue(template):
    """SSE-encrypted; a visibility timeout of at least six times the function's timeout (Lambda
    Developer Guide, services-sqs-configure); a message that failed maxReceiveCount times moves
    to SweepDeadLetterQueue, which keeps it longer than the queue would have."""
    stack = Stack(template)
    queue = stack.resolve(template["Resources"]["SweepQueue"]["Properties"])
    assert queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue
    assert int(queue["VisibilityTimeout"]) >= 6 * _function_timeout(template)
    assert int(queue["VisibilityTimeout"]) <= 43200, "SQS's maximum visibility timeout"
    redrive = queue["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == stack.get_att("SweepDeadLetterQueue", "Arn")
    assert 2 <= int(redrive["maxReceiveCount"]) <= 5, "a few receives, not one and not endless"
    dead_letters = stack.resolve(template["Resources"]["SweepDeadLetterQueue"]["Properties"])
    # A moved message keeps its first enqueue time: the dead-letter queue must outlast the queue.
    assert int(dead_letters["MessageRetentionPeriod"]) > int(queue.get("MessageRetentionPeriod", 345600))
    for name in ("SweepQueue", "SweepDeadLetterQueue"):
        assert "Condition" not in template["Resources"][name], f"{name}: the SQS event needs it always"


def test_function_consumes_the_sweep_queue(template):
    """One SQS event on SweepQueue: small batches, partial batch responses (a failed message is
    retried alone), MaximumConcurrency from a parameter no lower than SQS's minimum of 2."""
    events = template["Resources"]["RolewardenFunction"]["Properties"]["Events"]
    sqs = {name: event for name, event in events.items() if event["Type"] == "SQS"}
    assert list(sqs) == ["SweepMessages"], list(sqs)
    properties = sqs["SweepMessages"]["Properties"]
    assert properties["Queue"] == {"Fn::GetAtt": ["SweepQueue", "Arn"]}
    assert 1 <= int(properties["BatchSize"]) <= 5
    assert "MaximumBatchingWindowInSeconds" not in properties or int(properties["BatchSize"]) > 1
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "SweepMaximumConcurrency"}}
    parameter = template["Parameters"]["SweepMaximumConcurrency"]
    assert parameter["Type"] == "Number"
    assert int(parameter["MinValue"]) >= 2 and int(parameter["MaxValue"]) <= 1000
    assert int(parameter["MinValue"]) <= int(parameter["Default"]) <= int(parameter["MaxValue"])
    # The batch's sweeps must fit in the function's timeout, the visibility timeout covers it.
    queue = Stack(template).resolve(template["Resources"]["SweepQueue"]["Properties"])
    assert int(queue["VisibilityTimeout"]) >= _function_timeout(template)


def test_sweep_dead_letter_alarm_notifies_like_the_others(template):
    """The same alarm action as the other dead-letter alarms: the topic when given."""
    topic = "arn:aws:sns:us-east-1:111122223333:alerts"
    stack = Stack(template, parameters={"AlarmTopicArn": topic})
    (sweep,) = _queue_alarms(stack, "SweepDeadLetterQueue")
    (function,) = _queue_alarms(stack, "FunctionDeadLetterQueue")
    assert sweep["AlarmActions"] == function["AlarmActions"] == [topic]
    differing = {k for k in set(sweep) | set(function) if sweep.get(k) != function.get(k)}
    assert differing == {"AlarmDescription", "Dimensions"}, differing


def test_organization_outputs(template):
    stack = Stack(template, parameters={"OrganizationId": ORGANIZATION})
    outputs = {name: stack.resolve(o["Value"]) for name, o in template["Outputs"].items()}
    assert outputs["SweepQueueUrl"] == stack.ref("SweepQueue")
    assert outputs["SweepDeadLetterQueueUrl"] == stack.ref("SweepDeadLetterQueue")
    assert outputs["ReaderRoleName"] == "RolewardenReader"
    assert outputs["FunctionRoleArn"] == stack.get_att("FunctionRole", "Arn")


@pytest.mark.parametrize(
    "name,parameter,valid,invalid",
    [
        ("template.yaml", "SweepAccounts", ["", "111122223333", "111122223333,444455556666"],
         ["1111", "111122223333,", "111122223333 444455556666", "a11122223333"]),
        ("template.yaml", "ReaderRoleName", ["RolewardenReader", "a+b=c,d.e@f_g-h"],
         ["", "admin/RolewardenReader", "x" * 65]),
        ("forwarder.yaml", "ReaderRoleName", ["RolewardenReader"], ["", "a/b"]),
        ("forwarder.yaml", "CentralRoleArn", ["", "arn:aws:iam::111122223333:role/rolewarden-FunctionRole-1A2B"],
         ["arn:aws:iam::111122223333:user/x", "arn:aws:iam::*:role/x", "111122223333"]),
        ("template.yaml", "ReaderExternalId", ["", "ab", "rolewarden-7f3c2a"], ["a", "has space"]),
        ("forwarder.yaml", "ExternalId", ["", "rolewarden-7f3c2a"], ["a", "has space"]),
    ],
)
def test_organization_parameters_are_validated(templates, name, parameter, valid, invalid):
    """CloudFormation refuses a malformed value before anything is created (AllowedPattern is a
    full match), so the function never reads an account list or role name it cannot use."""
    pattern = templates[name]["Parameters"][parameter]["AllowedPattern"]
    for value in valid:
        assert re.fullmatch(pattern, value), (parameter, value)
    for value in invalid:
        assert not re.fullmatch(pattern, value), (parameter, value)


# --- finding state (issue 16 lifecycle) ---
def test_finding_state_table(template):
    """On-demand, point-in-time recovery, encrypted; keyed as src/aws/state_table.rs reads it."""
    stack = Stack(template)
    assert "FindingStateTable" in stack.resources()
    table = stack.resolve(template["Resources"]["FindingStateTable"]["Properties"])
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["KeySchema"] == [
        {"AttributeName": "account", "KeyType": "HASH"},
        {"AttributeName": "id", "KeyType": "RANGE"},
    ]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "open"
    assert index["KeySchema"][0] == {"AttributeName": "open_key", "KeyType": "HASH"}
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert "FindingStateTable" not in Stack(template, parameters={"FindingState": "disabled"}).resources()


@pytest.mark.parametrize("state", ["enabled", "disabled"])
def test_high_findings_alarm_counts_new_findings_only_with_state(template, state):
    """With state, open findings (a daily sweep's repeats) and resolved records page nobody: the
    filter asks for `status` new, which the Lambda writes exactly then. Without state there is
    no status, so the filter must not ask for one (it would match nothing)."""
    stack = Stack(template, parameters={"FindingState": state})
    pattern = stack.resolve(template["Resources"]["HighSeverityFindingsMetricFilter"]["Properties"])[
        "FilterPattern"
    ]
    statuses = set(re.findall(r'\$\.status\s*=\s*"([a-z]+)"', pattern))
    assert statuses == ({"new"} if state == "enabled" else set()), pattern
    assert set(re.findall(r'\$\.severity\s*=\s*"([a-z]+)"', pattern)) == {"critical", "high"}
