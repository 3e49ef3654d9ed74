"""A small, strict model of IAM `Condition` evaluation: enough to judge the templates' conditions
(the central bus policy, the forwarder role's trust) against concrete requests.

Modelled, as the IAM User Guide defines them: every operator of a condition and every key of an
operator must match (AND); any one of a key's values does (OR); keys are case-insensitive; a key
absent from the request fails (no `...IfExists` operator is modelled); StringEquals compares
exactly; ArnLike/ArnEquals compare the six colon-separated ARN parts, each with `*` and `?`
wildcards. Any other operator raises, so a condition this model cannot judge fails the test
instead of passing it. This is a model, not IAM: it proves what the templates' conditions say,
not how AWS evaluates them end to end (only a deployment does).
"""

from __future__ import annotations

import re


def _values(wanted) -> list[str]:
    return [str(v) for v in (wanted if isinstance(wanted, list) else [wanted])]


def _arn_part_matches(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def _arn_like(pattern: str, value: str) -> bool:
    patterns = pattern.split(":", 5)
    values = value.split(":", 5)
    if len(patterns) != 6 or len(values) != 6:
        return False
    return all(_arn_part_matches(p, v) for p, v in zip(patterns, values))


def allows(condition: dict, request: dict[str, str]) -> bool:
    """Whether a statement's Condition block holds for a request's context keys."""
    context = {key.lower(): value for key, value in request.items()}
    for operator, keys in condition.items():
        for key, wanted in keys.items():
            actual = context.get(key.lower())
            if actual is None:
                return False
            values = _values(wanted)
            if operator == "StringEquals":
                matched = actual in values
            elif operator in ("ArnLike", "ArnEquals"):
                matched = any(_arn_like(pattern, actual) for pattern in values)
            else:
                raise NotImplementedError(f"condition operator {operator} is not modelled")
            if not matched:
                return False
    return True

