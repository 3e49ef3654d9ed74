#!/usr/bin/env python3
"""Writes the policy documents scripts/compare-policies.sh times every tool on.

Deterministic (seeded): the same arguments write the same bytes, so two runs, or two machines,
judge the same documents. Usage:
  generate_policies.py OUT_DIR LABELS_FILE [--auth-details FILE] [--total N] [--seed S]

OUT_DIR gets one IAM permissions policy per file (policy-NNNN.json) and nothing else, because
Parliament's --directory mode reads every .json under it. LABELS_FILE (keep it outside OUT_DIR)
maps each file's stem to its kind:
  broad    grants iam:PassRole on every role (of an account or of all), to any service: 500 of them
  scoped   grants iam:PassRole on named roles with an iam:PassedToService condition: not broad
  ordinary S3, DynamoDB, CloudWatch Logs, Lex and Connect actions on named resources, no PassRole
--auth-details writes the same documents as customer managed policies in the shape of
`aws iam get-account-authorization-details`, the only input cloudsplaining's account scan reads.
"""

import argparse
import itertools
import json
import os
import random

ACCOUNT = "123456789012"
REGIONS = ["us-east-1", "us-west-2", "eu-west-2", "eu-central-1", "ap-southeast-2"]
BROAD = 500
SCOPED = 150

# Every way the broad documents say "every role": the variants the issue lists, each crossed with
# each action that covers iam:PassRole.
BROAD_RESOURCES = ["*", "arn:aws:iam::*:role/*", f"arn:aws:iam::{ACCOUNT}:role/*"]
BROAD_ACTIONS = ["iam:PassRole", "iam:*", "iam:Pass*", "*", ["iam:GetRole", "iam:PassRole"]]
# Service principals a scoped grant names, with the role name prefix that service's roles use.
PASSED_TO = [
    ("lambda.amazonaws.com", "lambda-exec"),
    ("lexv2.amazonaws.com", "lex-bot"),
    ("connect.amazonaws.com", "connect-flow"),
    ("states.amazonaws.com", "sfn-workflow"),
    ("ecs-tasks.amazonaws.com", "ecs-task"),
]


def name(rng, prefix):
    return f"{prefix}-{rng.choice(['orders', 'billing', 'support', 'search', 'audit', 'intake'])}-{rng.randrange(1000):03d}"


def s3_statement(rng):
    bucket = name(rng, "acme")
    actions = rng.sample(["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging"], k=rng.randint(1, 3))
    stmt = [{"Effect": "Allow", "Action": sorted(actions), "Resource": f"arn:aws:s3:::{bucket}/{rng.choice(['', 'incoming/', 'exports/'])}*"}]
    if rng.random() < 0.5:
        stmt.append({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"})
    return stmt


def dynamodb_statement(rng):
    table = f"arn:aws:dynamodb:{rng.choice(REGIONS)}:{ACCOUNT}:table/{name(rng, 'tbl')}"
    actions = rng.sample(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:BatchGetItem"], k=rng.randint(1, 4))
    return [{"Effect": "Allow", "Action": sorted(actions), "Resource": [table, f"{table}/index/*"]}]


def logs_statement(rng):
    group = f"arn:aws:logs:{rng.choice(REGIONS)}:{ACCOUNT}:log-group:/aws/lambda/{name(rng, 'fn')}"
    return [
        {"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": group},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": f"{group}:*"},
    ]


def lex_statement(rng):
    region = rng.choice(REGIONS)
    bot = f"arn:aws:lex:{region}:{ACCOUNT}:bot-alias/{rng.choice('ABCDEFGHJK')}{rng.randrange(10**9):09d}/TSTALIASID"
    actions = rng.sample(["lex:RecognizeText", "lex:RecognizeUtterance", "lex:StartConversation", "lex:PutSession", "lex:GetSession"], k=rng.randint(1, 3))
    return [{"Effect": "Allow", "Action": sorted(actions), "Resource": bot}]


def connect_statement(rng):
    instance = f"arn:aws:connect:{rng.choice(REGIONS)}:{ACCOUNT}:instance/{rng.randrange(16**8):08x}-{rng.randrange(16**4):04x}-4{rng.randrange(16**3):03x}-8{rng.randrange(16**3):03x}-{rng.randrange(16**12):012x}"
    actions = rng.sample(["connect:DescribeInstance", "connect:ListQueues", "connect:DescribeContactFlow", "connect:StartOutboundVoiceContact", "connect:ListBots"], k=rng.randint(1, 3))
    return [{"Effect": "Allow", "Action": sorted(actions), "Resource": [instance, f"{instance}/*"]}]


ORDINARY = [s3_statement, dynamodb_statement, logs_statement, lex_statement, connect_statement]


def unrelated(rng, n):
    """n unrelated services' statements, as a real policy carries around its PassRole statement."""
    out = []
    for make in rng.sample(ORDINARY, k=n):
        out.extend(make(rng))
    return out


def broad_policy(rng, variant):
    resource, action, extra = variant
    stmt = {"Effect": "Allow", "Action": action, "Resource": resource}
    if rng.random() < 0.5:
        stmt["Sid"] = rng.choice(["PassRoles", "AllowPassRole", "DeployAnything", "Admin"])
    statements = unrelated(rng, extra)
    statements.insert(rng.randint(0, len(statements)), stmt)
    return statements


def scoped_policy(rng, i):
    service, prefix = PASSED_TO[i % len(PASSED_TO)]
    roles = [f"arn:aws:iam::{ACCOUNT}:role/{name(rng, prefix)}" for _ in range(rng.randint(1, 2))]
    condition = {"StringEquals": {"iam:PassedToService": service}}
    if service.startswith("lex"):
        # Lex's roles are also tied to their bots, as AWS's Lex documentation shows.
        condition["StringLike"] = {"iam:AssociatedResourceARN": f"arn:aws:lex:us-east-1:{ACCOUNT}:bot/*"}
    stmt = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": roles if len(roles) > 1 else roles[0], "Condition": condition}
    statements = unrelated(rng, rng.randint(0, 2))
    statements.insert(rng.randint(0, len(statements)), stmt)
    return statements


def ordinary_policy(rng):
    return unrelated(rng, rng.randint(1, 3))


def auth_details(documents):
    """The documents as one account's customer managed policies, each attached once."""
    date = "2024-01-01T00:00:00Z"
    policies = [
        {
            "PolicyName": stem,
            "PolicyId": f"ANPA{n:017d}",
            "Arn": f"arn:aws:iam::{ACCOUNT}:policy/{stem}",
            "Path": "/",
            "DefaultVersionId": "v1",
            "AttachmentCount": 1,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "CreateDate": date,
            "UpdateDate": date,
            "PolicyVersionList": [{"Document": doc, "VersionId": "v1", "IsDefaultVersion": True, "CreateDate": date}],
        }
        for n, (stem, doc) in enumerate(documents)
    ]
    return {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": policies}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("labels_file")
    parser.add_argument("--auth-details", metavar="FILE")
    parser.add_argument("--total", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if args.total < BROAD + SCOPED:
        parser.error(f"--total must be at least {BROAD + SCOPED}")

    rng = random.Random(args.seed)
    variants = list(itertools.product(BROAD_RESOURCES, BROAD_ACTIONS, [0, 1, 2]))
    docs = [("broad", broad_policy(rng, variants[i % len(variants)])) for i in range(BROAD)]
    docs += [("scoped", scoped_policy(rng, i)) for i in range(SCOPED)]
    docs += [("ordinary", ordinary_policy(rng)) for _ in range(args.total - BROAD - SCOPED)]
    rng.shuffle(docs)

    os.makedirs(args.out_dir, exist_ok=True)
    labels = {}
    written = []
    for n, (kind, statements) in enumerate(docs, start=1):
        stem = f"policy-{n:04d}"
        labels[stem] = kind
        doc = {"Version": "2012-10-17", "Statement": statements}
        written.append((stem, doc))
        # Half pretty-printed, half compact: both are what `aws iam get-policy-version` users keep.
        indent = 2 if n % 2 else None
        with open(os.path.join(args.out_dir, f"{stem}.json"), "w") as f:
            json.dump(doc, f, indent=indent)
            f.write("\n")
    with open(args.labels_file, "w") as f:
        json.dump(labels, f, indent=1, sort_keys=True)
    if args.auth_details:
        with open(args.auth_details, "w") as f:
            json.dump(auth_details(written), f)


if __name__ == "__main__":
    main()
