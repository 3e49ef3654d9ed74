"""moto_server for rolewarden's tests: the moto[server] app, unchanged, behind a thin WSGI shim.

Run it as moto_server:  .venv/bin/python tests/moto/server.py -H 127.0.0.1 -p PORT

Why a shim. moto 5.2.5 implements IAM, CloudWatch Logs, EventBridge, SQS, STS, Lex V2 and
Connect, and everything but the last two reaches the Rust SDK as AWS sends it. The shim changes
only what would make a real client fail, or what moto cannot do at all:

1. Wire format of Lex V2 and Connect answers. moto writes timestamps (`creationDateTime`,
   `lastUpdatedDateTime`, `CreatedTime`) as ISO strings where AWS's restJson1 protocol sends epoch
   seconds, and `latestBotVersion` as a number where AWS sends a string; the Rust SDK rejects
   both. An unknown bot id makes moto answer HTTP 500; AWS answers ResourceNotFoundException.
2. IAM's clock. An orphaned role is one unused for 90 days; moto stamps CreateDate and
   RoleLastUsed with the current time. MOTO_CLOCK_OFFSET_FILE names a file holding seconds
   (may be negative) added to IAM's clock at every stamp, so a test can create a role "400
   days ago" and use it "100 days ago".
3. Lex V1 model building (GetBots) is not in moto at all. The shim answers GetBots from the
   JSON list in MOTO_LEXV1_BOTS_FILE (no file: no bots), so the V1 listing code runs over HTTP
   through the real SDK; it is the one hand-made answer, and the tests say so.
4. AssumeRole into a role that does not exist. moto hands out credentials for any role ARN;
   AWS answers AccessDenied. With MOTO_STS_REQUIRE_ROLE set (the organization tests), the shim
   answers AccessDenied when the role is not in the target account's IAM, or when its trust
   policy asks for an sts:ExternalId the call does not give, so a member account without its
   reader role behaves as it would in AWS. OrganizationAccountAccessRole, which Organizations
   creates in every account it creates, always exists.
5. Security Hub's import rules. moto imports any finding into any account, enabled or not. AWS
   refuses the whole BatchImportFindings call (InvalidAccessException) when Security Hub is not
   enabled in the account, and, under the default product, refuses each finding whose
   AwsAccountId is not the caller's (it lists them in FailedFindings). The shim applies both, so
   the sink's failure paths meet the answers AWS gives.
"""
import argparse
import datetime
import json
import os
import re
import urllib.parse

import moto.iam.models as iam_models
from moto.core.utils import utcnow as _real_utcnow


def _shifted_utcnow():
    path = os.environ.get("MOTO_CLOCK_OFFSET_FILE")
    offset = 0.0
    if path:
        try:
            with open(path) as f:
                offset = float(f.read().strip() or 0)
        except FileNotFoundError:
            pass
    return _real_utcnow() + datetime.timedelta(seconds=offset)


iam_models.utcnow = _shifted_utcnow

import moto.sts.models as sts_models
from moto.sts.exceptions import STSClientError

_real_assume_role = sts_models.STSBackend.assume_role


def _assume_existing_role(self, region_name, role_session_name, role_arn, policy, duration,
                          external_id):
    if os.environ.get("MOTO_STS_REQUIRE_ROLE"):
        parts = role_arn.split(":", 5)
        denied = STSClientError(
            "AccessDenied",
            f"User: rolewarden-test is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        )
        if len(parts) != 6 or not parts[5].startswith("role/"):
            raise denied
        account, name = parts[4], parts[5].rsplit("/", 1)[-1]
        # Organizations creates this role in every account it creates (CreateAccount).
        if name == "OrganizationAccountAccessRole":
            return _real_assume_role(self, region_name, role_session_name, role_arn, policy,
                                     duration, external_id)
        try:
            role = iam_models.iam_backends[account][parts[1]].get_role(name)
        except Exception:
            raise denied
        trust = urllib.parse.unquote(role.assume_role_policy_document or "")
        wanted = re.search(r'"sts:ExternalId"\s*:\s*"([^"]*)"', trust)
        if wanted and wanted.group(1) != external_id:
            raise denied
    return _real_assume_role(self, region_name, role_session_name, role_arn, policy, duration,
                             external_id)


sts_models.STSBackend.assume_role = _assume_existing_role

import moto.securityhub.models as securityhub_models
from moto.securityhub.exceptions import SecurityHubClientError

_real_import = securityhub_models.SecurityHubBackend.batch_import_findings


def _import_as_aws_does(self, findings):
    if not self.enabled:
        raise SecurityHubClientError(
            "InvalidAccessException",
            f"Account {self.account_id} is not subscribed to AWS Security Hub",
        )
    own = [f for f in findings if f.get("AwsAccountId") == self.account_id]
    refused = [
        {
            "Id": f.get("Id", ""),
            "ErrorCode": "AccessDeniedException",
            "ErrorMessage": f"the caller's account {self.account_id} cannot import findings "
                            f"for account {f.get('AwsAccountId')} under the default product",
        }
        for f in findings if f.get("AwsAccountId") != self.account_id
    ]
    failed, succeeded, failures = _real_import(self, own)
    return failed + len(refused), succeeded, failures + refused


securityhub_models.SecurityHubBackend.batch_import_findings = _import_as_aws_does

_TIMESTAMPS = {"creationDateTime", "lastUpdatedDateTime", "CreatedTime"}
# The signing scope names the service: Credential=AKID/20240101/us-east-1/lex/aws4_request
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/")
_LEX_ITEM = re.compile(r"/bots/[^/]+(/botaliases/[^/]+)?/?")


def _epoch(text):
    when = datetime.datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def _fix(node):
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if key in _TIMESTAMPS and isinstance(value, str):
                node[key] = _epoch(value)
            elif key == "latestBotVersion" and isinstance(value, int):
                node[key] = str(value)
            else:
                _fix(value)
    elif isinstance(node, list):
        for item in node:
            _fix(item)


def _reply(start_response, status, body, error_type=None):
    data = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    start_response(status, headers)
    return [data]


def _not_found(start_response):
    return _reply(start_response, "404 NOT FOUND", {"message": "Resource not found"},
                  "ResourceNotFoundException")


def shim(app):
    def middleware(environ, start_response):
        match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = match.group(1) if match else None
        if service not in ("lex", "connect"):
            return app(environ, start_response)
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if service == "lex" and method == "GET" and path.rstrip("/") == "/bots":
            bots = []
            if os.environ.get("MOTO_LEXV1_BOTS_FILE"):
                with open(os.environ["MOTO_LEXV1_BOTS_FILE"]) as f:
                    bots = json.load(f)
            return _reply(start_response, "200 OK", {"bots": bots})
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda _: None

        lex_item = service == "lex" and _LEX_ITEM.fullmatch(path)
        try:
            answer = app(environ, capture)
            try:
                body = b"".join(answer)
            finally:
                if hasattr(answer, "close"):
                    answer.close()
        except KeyError:
            if lex_item:
                return _not_found(start_response)
            raise
        code = int(captured["status"].split()[0])
        if lex_item and code == 500:
            return _not_found(start_response)
        if code == 200 and body.lstrip().startswith(b"{"):
            data = json.loads(body)
            _fix(data)
            return _reply(start_response, "200 OK", data)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], headers + [("Content-Length", str(len(body)))])
        return [body]

    return middleware


def main():
    from werkzeug.serving import run_simple
    from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                               create_backend_app)

    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, shim(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
