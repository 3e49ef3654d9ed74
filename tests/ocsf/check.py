"""Checks OCSF findings with an independent implementation of the schema.

Reads JSON Lines (files named as arguments, else standard input). Each line must parse as
py-ocsf-models' DetectionFinding (OCSF 1.5.0), and nothing of the line may be lost: the model's
dump (by alias, without None) must hold every field of the line with the same value, at every
depth. Exit status 0 when every line passes, 1 otherwise, with one message per problem.
"""

import json
import sys

from pydantic import ValidationError
from py_ocsf_models.events.findings.detection_finding import DetectionFinding


def lost(given, kept, path="$"):
    """Paths of `given` that `kept` lacks or holds with another value."""
    if isinstance(given, dict):
        if not isinstance(kept, dict):
            return [f"{path}: an object became {kept!r}"]
        out = []
        for key, value in given.items():
            if key not in kept:
                out.append(f"{path}.{key}: dropped")
            else:
                out.extend(lost(value, kept[key], f"{path}.{key}"))
        return out
    if isinstance(given, list):
        if not isinstance(kept, list) or len(kept) != len(given):
            return [f"{path}: a list of {len(given)} became {kept!r}"]
        out = []
        for i, (a, b) in enumerate(zip(given, kept)):
            out.extend(lost(a, b, f"{path}[{i}]"))
        return out
    # bool is an int in Python: compare types too, so True never passes for 1.
    if given != kept or type(given) is not type(kept):
        return [f"{path}: {given!r} became {kept!r}"]
    return []


def check(lines, origin):
    problems = []
    count = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        count += 1
        where = f"{origin}: line {number}"
        try:
            given = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: not JSON: {e}")
            continue
        try:
            model = DetectionFinding.model_validate(given)
        except ValidationError as e:
            problems.append(f"{where}: invalid Detection Finding: {e}")
            continue
        kept = model.model_dump(by_alias=True, exclude_none=True, mode="json")
        problems.extend(f"{where}: {p}" for p in lost(given, kept))
    return count, problems


def main(paths):
    count, problems = 0, []
    sources = [(p, open(p, encoding="utf-8")) for p in paths] or [("stdin", sys.stdin)]
    for origin, stream in sources:
        with stream:
            n, found = check(stream, origin)
        count += n
        problems.extend(found)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{count} findings checked, {len(problems)} problems", file=sys.stderr)
    return 1 if problems or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
