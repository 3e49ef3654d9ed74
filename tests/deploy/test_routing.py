"""A real EventBridge pattern matcher decides what reaches the function: the templates' rules are
loaded into moto's EventBridge (PutRule with the template's EventPattern, an SQS queue standing in
for the function), every sample in events/ is put on the bus, and the queue is read back.

Which samples *should* arrive is decided from `rolewarden event-pattern` (the source, detail-type,
eventSource and eventName lists it prints), never from a hand-kept list; the matcher that routes
them is moto's, fed with the templates' patterns. So the test fails when the templates drift from
the catalogue, and when a sample the catalogue consumes would not be delivered.

The organization sweep's queue (issue 15) is exercised on moto's SQS at the end of this file.

Topologies:
- central: template.yaml in us-east-1 (every rule) and in eu-west-2 (no IAM rule);
- organization: forwarder.yaml in a member account's us-east-1 and eu-west-2, targeting the
  central account's default bus across accounts and regions (moto forwards for real), and
  template.yaml's rules on that bus routing to the function's queue.

moto facts this relies on (moto 5.2.5): PutEvents accepts sources starting with `aws.` (real
EventBridge refuses them from callers, which is why these tests need no workaround: every
PutEvents must report FailedEntryCount 0, so a moto that starts refusing fails loudly); a rule
target that is an event bus ARN in another account or region is delivered by re-putting the event
there (the bus policy and the target role are not evaluated: the organization test applies the
bus policy's condition to every forwarded event through iam_conditions.allows instead); the
delivered envelope's
`account`/`region` are the receiving bus's, not the sample's; a rule's State is not consulted.
The account behind a set of credentials is chosen with sts:AssumeRole into that account.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import boto3
import pytest

from cfn_template import Stack, event_rules, rule_source
from conftest import ROOT
from iam_conditions import allows

CENTRAL_ACCOUNT = "123456789012"  # moto's default account: the credentials start_moto exports
MEMBER_ACCOUNT = "222233334444"
CENTRAL_REGION = "us-east-1"
CENTRAL_BUS = f"arn:aws:events:{CENTRAL_REGION}:{CENTRAL_ACCOUNT}:event-bus/default"
ORGANIZATION = "o-a1b2c3d4e5"
GLOBAL_SOURCES = {"aws.iam"}  # delivered in us-east-1 only
MISSING = object()


# --- the reference: what `rolewarden event-pattern` says is consumed ------------------------------
def consumed_by(pattern: dict, event: dict) -> bool:
    """Exact-value EventBridge matching, the only kind the printed patterns use; anything else
    (prefix, anything-but...) raises so this reference is extended, not silently wrong."""
    for key, wanted in pattern.items():
        if isinstance(wanted, dict):
            inner = event.get(key)
            if not isinstance(inner, dict) or not consumed_by(wanted, inner):
                return False
        elif isinstance(wanted, list) and all(isinstance(w, str) for w in wanted):
            value = event.get(key, MISSING)
            values = value if isinstance(value, list) else [value]
            if not any(v in wanted for v in values):
                return False
        else:
            raise NotImplementedError(f"pattern filter {key}: {wanted!r} is not modelled by this test")
    return True


def expected_ids(events: dict[str, dict], patterns: dict[str, dict], sources: set[str]) -> set[str]:
    chosen = [patterns[s] for s in sources]
    return {event_id for event_id, event in events.items() if any(consumed_by(p, event) for p in chosen)}


# --- the inputs --------------------------------------------------------------------------------
def sample_events() -> tuple[dict[str, dict], dict[str, str]]:
    """Every sample in events/, keyed by its CloudTrail eventID (unique), plus derived look-alikes
    that must not be routed: the same call with another detail-type, and a Lex call named like
    an IAM one. Their expectations come from the same reference as the samples'. Also returns,
    per eventID, the file (or derivation) it comes from, for the failure messages."""
    events: dict[str, dict] = {}
    files: dict[str, str] = {}
    for path in sorted((ROOT / "events").glob("*.json")):
        event = json.loads(path.read_text())
        event_id = event["detail"].get("eventID")
        if event_id is None:
            # Not a CloudTrail call (the sweep's Scheduled Event): keyed by its EventBridge id,
            # which the copy sent here also carries in its detail so the queue can tell it apart.
            # No CloudTrail rule may route it; the schedule rule invokes the function directly.
            event_id = event["id"]
            event["detail"]["eventID"] = event_id
        assert event_id not in events, f"{path.name} repeats eventID {event_id}"
        events[event_id] = event
        files[event_id] = path.name
    for event_id, event in list(events.items()):
        other_type = copy.deepcopy(event)
        other_type["detail-type"] = "AWS Service Event via CloudTrail"
        other_type["detail"]["eventID"] = f"{event_id}-service-event"
        events[other_type["detail"]["eventID"]] = other_type
        files[other_type["detail"]["eventID"]] = f"{files[event_id]} as AWS Service Event"
    for event_id, event in list(events.items()):
        if event["source"] == "aws.iam" and event["detail-type"] == "AWS API Call via CloudTrail":
            wrong_service = copy.deepcopy(event)
            wrong_service["source"] = "aws.lex"
            wrong_service["detail"]["eventSource"] = "lex.amazonaws.com"
            wrong_service["detail"]["eventID"] = f"{event_id}-as-lex"
            events[wrong_service["detail"]["eventID"]] = wrong_service
            files[wrong_service["detail"]["eventID"]] = f"{files[event_id]} as a Lex call"
            break
    return events, files


EVENTS, FILES = sample_events()  # eventID -> event, eventID -> where it comes from


def describe(ids) -> list[str]:
    return sorted(FILES[i] for i in ids)


# --- moto ----------------------------------------------------------------------------------------
class Aws:
    """boto3 clients for one account (moto picks it from the credentials) against moto."""

    def __init__(self, endpoint: str, credentials: dict | None = None, created_rules=None) -> None:
        self.endpoint = endpoint
        self.created_rules: list = created_rules if created_rules is not None else []
        self.credentials = credentials or {
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
            "aws_session_token": "testing",
        }

    def client(self, service: str, region: str):
        return boto3.client(service, region_name=region, endpoint_url=self.endpoint, **self.credentials)

    def assume(self, account: str) -> "Aws":
        sts = self.client("sts", CENTRAL_REGION)
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/rolewarden-test", RoleSessionName="deploy-tests"
        )["Credentials"]
        other = Aws(
            self.endpoint,
            {
                "aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"],
            },
            self.created_rules,
        )
        assert other.client("sts", CENTRAL_REGION).get_caller_identity()["Account"] == account
        return other


@pytest.fixture()
def aws(moto_endpoint):
    """The central account's clients. Each test names its rules and queues uniquely and deletes
    its rules afterwards (cheaper than /moto-api/reset, which reloads IAM's managed policies)."""
    central = Aws(moto_endpoint)
    assert central.client("sts", CENTRAL_REGION).get_caller_identity()["Account"] == CENTRAL_ACCOUNT
    yield central
    for owner, region, rule in central.created_rules:
        events = owner.client("events", region)
        targets = events.list_targets_by_rule(Rule=rule)["Targets"]
        if targets:
            events.remove_targets(Rule=rule, Ids=[t["Id"] for t in targets])
        events.delete_rule(Name=rule)


def function_queue(aws: Aws, region: str) -> tuple[str, str]:
    sqs = aws.client("sqs", region)
    url = sqs.create_queue(QueueName=f"rolewarden-function-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def load_rules(aws: Aws, stack: Stack, target_arn_for) -> set[str]:
    """PutRule + PutTargets for every event rule of the deployment; returns the rules' sources."""
    events = aws.client("events", stack.region)
    sources = set()
    suffix = uuid.uuid4().hex[:8]
    for logical_id, properties in event_rules(stack).items():
        pattern = properties["EventPattern"]
        sources.add(rule_source(pattern))
        name = f"{logical_id}-{suffix}"
        events.put_rule(Name=name, EventPattern=json.dumps(pattern), State=properties["State"])
        aws.created_rules.append((aws, stack.region, name))
        (target,) = properties["Targets"]
        moto_target = {"Id": target["Id"], "Arn": target_arn_for(target)}
        if "RoleArn" in target:
            moto_target["RoleArn"] = target["RoleArn"]
        result = events.put_targets(Rule=name, Targets=[moto_target])
        assert result["FailedEntryCount"] == 0, result
    return sources


def put_all(aws: Aws, region: str) -> None:
    events = aws.client("events", region)
    entries = [
        {
            "Source": e["source"],
            "DetailType": e["detail-type"],
            "Detail": json.dumps(e["detail"]),
            "Resources": e.get("resources", []),
        }
        for e in EVENTS.values()
    ]
    for start in range(0, len(entries), 10):
        result = events.put_events(Entries=entries[start : start + 10])
        assert result["FailedEntryCount"] == 0, (
            "moto refused an event (real EventBridge refuses `aws.*` sources from callers; "
            f"moto 5.2.5 accepts them): {result['Entries']}"
        )


def received(aws: Aws, region: str, queue_url: str) -> list[str]:
    sqs = aws.client("sqs", region)
    ids: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return ids
        for message in messages:
            ids.append(json.loads(message["Body"])["detail"]["eventID"])
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def assert_routed(arrived: list[str], expected: set[str], where: str) -> None:
    duplicates = sorted({i for i in arrived if arrived.count(i) > 1})
    assert not duplicates, f"{where}: delivered more than once: {describe(duplicates)}"
    missing = expected - set(arrived)
    unexpected = set(arrived) - expected
    assert not missing, f"{where}: consumed by the catalogue but not delivered: {describe(missing)}"
    assert not unexpected, f"{where}: delivered but consumed by no rule: {describe(unexpected)}"


# --- the reference itself is sane ----------------------------------------------------------------
def test_reference_routes_every_firing_sample_and_no_unwatched_one(event_patterns):
    """A rule's firing sample that is not routed could fire on the CLI but never in the Lambda."""
    expected = expected_ids(EVENTS, event_patterns, set(event_patterns))
    for event_id in EVENTS:
        name = FILES[event_id]
        if name.endswith(".json") and "-fires-" in name:
            assert event_id in expected, f"{name} fires a rule but `rolewarden event-pattern` does not route it"
        if name.startswith("unwatched-") or not name.endswith(".json"):
            assert event_id not in expected, f"{name} must not be routed"
    assert any(FILES[i].startswith("unwatched-") for i in EVENTS), "no unwatched sample left in events/"


# --- the templates in a real pattern matcher -----------------------------------------------------
@pytest.mark.parametrize("region", [CENTRAL_REGION, "eu-west-2"])
def test_central_stack_routes_exactly_the_consumed_events(aws, template, event_patterns, region):
    stack = Stack(template, region=region, account=CENTRAL_ACCOUNT)
    queue_url, queue_arn = function_queue(aws, region)
    function_arn = stack.get_att("RolewardenFunction", "Arn")

    def to_queue(target):
        assert target["Arn"] == function_arn, target
        return queue_arn

    sources = load_rules(aws, stack, to_queue)
    wanted_sources = set(event_patterns) - (set() if region == "us-east-1" else GLOBAL_SOURCES)
    assert sources == wanted_sources, f"{region}: rules for {sorted(sources)}"
    put_all(aws, region)
    expected = expected_ids(EVENTS, event_patterns, wanted_sources)
    assert expected, "nothing to route"
    assert_routed(received(aws, region, queue_url), expected, f"template.yaml in {region}")


@pytest.mark.parametrize("member_region", [CENTRAL_REGION, "eu-west-2"])
def test_forwarders_deliver_to_the_central_function(aws, template, forwarder, event_patterns, member_region):
    """Member account -> forwarder.yaml rules -> central default bus (another account, maybe
    another region) -> template.yaml rules -> the function's queue. The central bus policy
    (OrganizationId set, as for an organization) admits every event the forwarders send."""
    central = Stack(
        template, region=CENTRAL_REGION, account=CENTRAL_ACCOUNT, parameters={"OrganizationId": ORGANIZATION}
    )
    queue_url, queue_arn = function_queue(aws, CENTRAL_REGION)
    load_rules(aws, central, lambda target: queue_arn)

    member = aws.assume(MEMBER_ACCOUNT)
    forwarding = Stack(
        forwarder,
        region=member_region,
        account=MEMBER_ACCOUNT,
        parameters={"CentralEventBusArn": CENTRAL_BUS},
    )

    def to_central_bus(target):
        assert target["Arn"] == CENTRAL_BUS, target
        return target["Arn"]

    sources = load_rules(member, forwarding, to_central_bus)
    wanted_sources = set(event_patterns) - (set() if member_region == "us-east-1" else GLOBAL_SOURCES)
    assert sources == wanted_sources, f"forwarder in {member_region}: rules for {sorted(sources)}"
    put_all(member, member_region)
    expected = expected_ids(EVENTS, event_patterns, wanted_sources)
    bus_policy = central.resources("AWS::Events::EventBusPolicy")["OrganizationPutEventsPolicy"]
    condition = central.resolve(bus_policy["Properties"]["Statement"])["Condition"]
    refused = {
        event_id
        for event_id in expected
        if not allows(condition, {"aws:PrincipalOrgID": ORGANIZATION, "events:source": EVENTS[event_id]["source"]})
    }
    assert not refused, f"forwarded, but the central bus policy would refuse: {describe(refused)}"
    assert_routed(
        received(aws, CENTRAL_REGION, queue_url),
        expected,
        f"forwarder.yaml in {MEMBER_ACCOUNT}/{member_region} -> template.yaml in {CENTRAL_REGION}",
    )


# --- the organization sweep's queue (issue 15) ---------------------------------------------------
# No Lambda runs here: the test plays the planner (SendMessageBatch, one message per account, the
# body the function's planner writes) and the event source mapping (ReceiveMessage in batches of
# the SQS event's BatchSize, DeleteMessage for every message but the batch item failures) against
# moto's SQS, with the queues created from the template's own properties. What it proves: the
# template's queue settings are ones SQS accepts, and with them a message whose sweep keeps failing
# is received exactly maxReceiveCount times and then lands, intact, in the dead-letter queue the
# alarm watches, while the other accounts' messages are consumed once and leave nothing behind.
def sqs_attributes(properties: dict, **replace: str) -> dict[str, str]:
    """CloudFormation's AWS::SQS::Queue properties as CreateQueue attributes (same names; JSON for
    the redrive policy, lower-case booleans). Unknown ones go through: moto refuses them loudly."""
    attributes = {}
    for key, value in properties.items():
        if isinstance(value, dict):
            attributes[key] = json.dumps(value)
        elif isinstance(value, bool):
            attributes[key] = str(value).lower()
        else:
            attributes[key] = str(value)
    attributes.update(replace)
    return attributes


def planner_message(account: str, regions: list[str]) -> str:
    """The body the planner sends for one account (the function's contract with itself)."""
    return json.dumps(
        {
            "version": "0",
            "source": "rolewarden",
            "detail-type": "Account Sweep",
            "account": account,
            "time": "2026-03-01T06:00:00Z",
            "region": CENTRAL_REGION,
            "detail": {"regions": regions},
        }
    )


def test_sweep_queue_retries_a_failing_account_then_moves_it_to_the_dead_letter_queue(aws, template):
    stack = Stack(template, region=CENTRAL_REGION, account=CENTRAL_ACCOUNT, parameters={"OrganizationId": ORGANIZATION})
    sqs = aws.client("sqs", CENTRAL_REGION)
    suffix = uuid.uuid4().hex[:8]
    resources = template["Resources"]
    dead_letter_properties = stack.resolve(resources["SweepDeadLetterQueue"]["Properties"])
    dead_letter_url = sqs.create_queue(
        QueueName=f"rolewarden-sweep-dlq-{suffix}", Attributes=sqs_attributes(dead_letter_properties)
    )["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_properties = stack.resolve(resources["SweepQueue"]["Properties"])
    redrive = queue_properties["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == stack.get_att("SweepDeadLetterQueue", "Arn")
    max_receives = int(redrive["maxReceiveCount"])
    queue_url = sqs.create_queue(
        QueueName=f"rolewarden-sweep-{suffix}",
        Attributes=sqs_attributes(
            queue_properties, RedrivePolicy=json.dumps({**redrive, "deadLetterTargetArn": dead_letter_arn})
        ),
    )["QueueUrl"]
    created = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert int(created["VisibilityTimeout"]) == int(queue_properties["VisibilityTimeout"])
    assert json.loads(created["RedrivePolicy"])["deadLetterTargetArn"] == dead_letter_arn
    assert int(json.loads(created["RedrivePolicy"])["maxReceiveCount"]) == max_receives

    # The planner: one message per account, in one SendMessageBatch (at most 10 entries a call).
    healthy = ["222233334444", "555566667777"]
    failing = "888899990000"  # its findings cannot be written: every delivery is a batch item failure
    regions = ["us-east-1", "eu-west-2", "ap-southeast-2"]
    bodies = {account: planner_message(account, regions) for account in [*healthy, failing]}
    sent = sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[{"Id": f"a{account}", "MessageBody": body} for account, body in bodies.items()],
    )
    assert not sent.get("Failed") and len(sent["Successful"]) == 3, sent

    # The event source mapping, with the SQS event's BatchSize.
    batch_size = int(resources["RolewardenFunction"]["Properties"]["Events"]["SweepMessages"]["Properties"]["BatchSize"])
    deliveries: dict[str, int] = {}
    for _ in range(4 * (max_receives + len(bodies))):  # bounded: a redrive that never happens fails below
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=batch_size, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            break
        assert len(messages) <= batch_size
        for message in messages:
            body = json.loads(message["Body"])
            account = body["account"]
            deliveries[account] = deliveries.get(account, 0) + 1
            assert int(message["Attributes"]["ApproximateReceiveCount"]) == deliveries[account]
            if account == failing:
                # A batch item failure: Lambda leaves the message; its visibility timeout (1800 s)
                # would make it visible again. The test stands in for that wait.
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert deliveries == {healthy[0]: 1, healthy[1]: 1, failing: max_receives}, deliveries

    left = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert left == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}, left
    # The alarm's metric: ApproximateNumberOfMessagesVisible of the dead-letter queue it names.
    depth = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "1"
    (dead,) = sqs.receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=10).get("Messages", [])
    assert dead["Body"] == bodies[failing], "the dead letter is the failing account's message, intact"
    alarms = [
        stack.resolve(a["Properties"])
        for a in stack.resources("AWS::CloudWatch::Alarm").values()
        if stack.resolve(a["Properties"]).get("Dimensions")
        == [{"Name": "QueueName", "Value": stack.get_att("SweepDeadLetterQueue", "QueueName")}]
    ]
    assert len(alarms) == 1 and alarms[0]["MetricName"] == "ApproximateNumberOfMessagesVisible"

