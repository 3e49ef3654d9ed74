"""Shared fixtures of the deploy tests (run by scripts/deploy-checks.sh with .venv-sam's pytest).

Environment:
- ROLEWARDEN_BIN: the rolewarden command (deploy-checks.sh builds target/release/rolewarden and sets
  it); default `cargo run -q --bin rolewarden --`.
- AWS_ENDPOINT_URL: the moto server the routing tests load the templates' rules into
  (scripts/lib.sh start_moto sets it, with test credentials).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cfn_template  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ("template.yaml", "forwarder.yaml")


def rolewarden_command() -> list[str]:
    binary = os.environ.get("ROLEWARDEN_BIN")
    return shlex.split(binary) if binary else ["cargo", "run", "-q", "--bin", "rolewarden", "--"]


def run_rolewarden(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        rolewarden_command() + list(args), cwd=ROOT, capture_output=True, text=True, **kwargs
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"rolewarden {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="session")
def event_patterns() -> dict[str, dict]:
    """`rolewarden event-pattern`: the EventBridge pattern of every source the catalogue consumes."""
    patterns = json.loads(run_rolewarden("event-pattern").stdout)
    assert isinstance(patterns, dict) and patterns, "rolewarden event-pattern printed no pattern"
    return patterns


@pytest.fixture(scope="session")
def templates() -> dict[str, dict]:
    return {name: cfn_template.load(ROOT / name) for name in TEMPLATES}


@pytest.fixture(scope="session")
def template(templates) -> dict:
    return templates["template.yaml"]


@pytest.fixture(scope="session")
def forwarder(templates) -> dict:
    return templates["forwarder.yaml"]


@pytest.fixture(scope="session")
def moto_endpoint() -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        pytest.fail(
            "AWS_ENDPOINT_URL is not set: run the deploy tests through scripts/deploy-checks.sh, "
            "which starts moto_server (scripts/lib.sh start_moto)"
        )
    return endpoint
