"""Read CloudFormation/SAM templates the way CloudFormation would, enough for the deploy tests.

- `load(path)`: YAML with the short-form tags (!Ref, !Sub, !GetAtt, !If ...) turned into their
  long form ({"Ref": ...}, {"Fn::Sub": ...}), like CloudFormation does.
- `Stack(template, region=..., account=..., parameters=...)`: one deployment of a template.
  `condition(name)` evaluates the Conditions section, `failed_rules()` the Rules section, `resources()` lists the resources that
  would exist, `resolve(value)` substitutes intrinsic functions with realistic values (physical
  names and ARNs shaped like the ones CloudFormation generates), so policies and event patterns
  can be handed to real tools (moto's EventBridge, `rolewarden check-policy`).

Only the intrinsic functions the templates use are implemented; anything else raises, so a new one
cannot slip through unresolved.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml


class _CfnLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


NO_VALUE = object()  # AWS::NoValue: the property or list item disappears


class Stack:
    """One deployment of a template: a region, an account, parameter values."""

    def __init__(
        self,
        template: dict,
        *,
        region: str = "us-east-1",
        account: str = "111122223333",
        stack_name: str = "rolewarden",
        parameters: dict[str, str] | None = None,
    ) -> None:
        self.template = template
        self.region = region
        self.account = account
        self.stack_name = stack_name
        self.parameters: dict[str, str] = {}
        for name, spec in template.get("Parameters", {}).items():
            if "Default" in spec:
                self.parameters[name] = str(spec["Default"])
        for name, value in (parameters or {}).items():
            if name not in template.get("Parameters", {}):
                raise KeyError(f"no parameter {name}")
            self.parameters[name] = value
        missing = set(template.get("Parameters", {})) - set(self.parameters)
        if missing:
            raise KeyError(f"parameters without a value or default: {sorted(missing)}")

    # --- conditions -------------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        return self._condition_expr(self.template["Conditions"][name])

    def _condition_expr(self, expr: Any) -> bool:
        if isinstance(expr, dict) and len(expr) == 1:
            (key, args), = expr.items()
            if key == "Condition":
                return self.condition(args)
            if key == "Fn::Equals":
                left, right = (self.resolve(a) for a in args)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self._condition_expr(args[0])
            if key == "Fn::And":
                return all(self._condition_expr(a) for a in args)
            if key == "Fn::Or":
                return any(self._condition_expr(a) for a in args)
        raise ValueError(f"unsupported condition expression: {expr!r}")

    def failed_rules(self) -> list[str]:
        """The Rules whose RuleCondition holds and one of whose Assertions does not: CloudFormation
        refuses to create or update the stack with these parameters."""
        failed = []
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self._condition_expr(rule["RuleCondition"]):
                continue
            if not all(self._condition_expr(a["Assert"]) for a in rule["Assertions"]):
                failed.append(name)
        return failed

    def exists(self, logical_id: str) -> bool:
        resource = self.template["Resources"][logical_id]
        return "Condition" not in resource or self.condition(resource["Condition"])

    def resources(self, resource_type: str | None = None) -> dict[str, dict]:
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if self.exists(logical_id) and (resource_type is None or resource["Type"] == resource_type)
        }

    # --- physical names and attributes ----------------------------------------------------------
    def _generated_name(self, logical_id: str) -> str:
        # CloudFormation names unnamed resources <stack>-<logical id>-<random suffix>; a named
        # role (RoleName) keeps its name.
        resource = self.template["Resources"][logical_id]
        if resource["Type"] == "AWS::IAM::Role" and "RoleName" in resource.get("Properties", {}):
            return str(self.resolve(resource["Properties"]["RoleName"]))
        return f"{self.stack_name}-{logical_id}-1A2B3C4D5E6F"

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        resource = self.template["Resources"][name]
        kind = resource["Type"]
        if kind == "AWS::Logs::LogGroup":
            return self.resolve(resource["Properties"]["LogGroupName"])
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self._generated_name(name)}"
        if kind in ("AWS::Events::Rule", "AWS::IAM::Role", "AWS::Serverless::Function", "AWS::DynamoDB::Table"):
            return self._generated_name(name)
        raise KeyError(f"Ref to {kind} {name} is not modelled")

    def get_att(self, name: str, attribute: str) -> str:
        kind = self.template["Resources"][name]["Type"]
        generated = self._generated_name(name)
        arns = {
            ("AWS::Logs::LogGroup", "Arn"): f"arn:aws:logs:{self.region}:{self.account}:log-group:{self.ref(name)}:*",
            ("AWS::SQS::Queue", "Arn"): f"arn:aws:sqs:{self.region}:{self.account}:{generated}",
            ("AWS::SQS::Queue", "QueueName"): generated,
            ("AWS::Events::Rule", "Arn"): f"arn:aws:events:{self.region}:{self.account}:rule/{generated}",
            ("AWS::IAM::Role", "Arn"): f"arn:aws:iam::{self.account}:role/{generated}",
            ("AWS::Serverless::Function", "Arn"): f"arn:aws:lambda:{self.region}:{self.account}:function:{generated}",
            ("AWS::DynamoDB::Table", "Arn"): f"arn:aws:dynamodb:{self.region}:{self.account}:table/{generated}",
        }
        try:
            return arns[(kind, attribute)]
        except KeyError:
            raise KeyError(f"GetAtt {name}.{attribute} ({kind}) is not modelled") from None

    # --- intrinsic functions ----------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function evaluated; AWS::NoValue items removed."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, args), = value.items()
            if key == "Ref":
                return self.ref(args)
            if key == "Fn::GetAtt":
                return self.get_att(*args)
            if key == "Fn::Sub":
                return self._sub(args)
            if key == "Fn::If":
                condition, when_true, when_false = args
                return self.resolve(when_true if self.condition(condition) else when_false)
            if key == "Fn::Join":
                separator, items = args
                return separator.join(str(v) for v in self.resolve(items))
            if key == "Fn::Select":
                index, items = args
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = args
                return str(self.resolve(text)).split(separator)
            if key.startswith("Fn::"):
                raise ValueError(f"intrinsic function {key} is not modelled")
        items = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v is not NO_VALUE}

    def _sub(self, args: Any) -> str:
        if isinstance(args, list):
            text, variables = args
            variables = {k: self.resolve(v) for k, v in variables.items()}
        else:
            text, variables = args, {}

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return self.get_att(resource, attribute)
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


def event_rules(stack: Stack) -> dict[str, dict]:
    """The rules of a deployment that carry an EventPattern (not the schedule), resolved."""
    return {
        logical_id: stack.resolve(resource["Properties"])
        for logical_id, resource in stack.resources("AWS::Events::Rule").items()
        if "EventPattern" in resource["Properties"]
    }


def rule_source(pattern: dict) -> str:
    sources = pattern.get("source")
    if not (isinstance(sources, list) and len(sources) == 1):
        raise AssertionError(f"an event rule must match exactly one source, not {sources!r}")
    return sources[0]
