"""Drive schemathesis over every operation of app/openapi.yaml against a running Fixloop, and count.

Synchronous on purpose (schemathesis sends with ``requests``): the test runs it in a thread so that the
fakes the app talks to (GitHub, Kubernetes) keep answering on the test's event loop meanwhile.

Credentials rotate deterministically per example: most requests carry the right bearer token or a
valid webhook signature, so the fuzz reaches past authentication; the rest carry a wrong one or the
fuzzer's own, which must be refused with a documented 401.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, Case
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

DESCRIPTION = Path(__file__).resolve().parents[2] / "app" / "openapi.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
HANG_SECONDS = 30.0  # the gate may legitimately take its 25 s analysis bound; anything longer is a hang
SIGNATURE_HEADER = "X-Hub-Signature-256"
KEPT_REPORTS = 5
EXAMPLE_RUNS = 10  # requests per documented example


@dataclass
class Tally:
    operations: int = 0
    requests: int = 0
    server_errors: int = 0
    hangs: int = 0
    violations: int = 0
    statuses: dict[str, set[int]] = field(default_factory=dict)
    reports: list[str] = field(default_factory=list)

    def keep(self, report: str) -> None:
        if len(self.reports) < KEPT_REPORTS:
            self.reports.append(report)


class SignBody(requests.auth.AuthBase):
    """Signs the exact bytes ``requests`` sends, as GitHub does: sha256=<hex HMAC of the raw body>."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else body
        digest = hmac.new(self._secret, raw, hashlib.sha256).hexdigest()
        request.headers[SIGNATURE_HEADER] = f"sha256={digest}"
        return request


@dataclass
class Credentials:
    """Which credential the n-th example of an operation sends: right (3 in 4), wrong, or the fuzzer's."""

    notify_token: str
    webhook_secret: str
    turn: Iterator[int] = field(default_factory=itertools.count)

    def for_case(self, case: Case) -> dict[str, Any]:
        kind = next(self.turn) % 4
        schemes = {
            name for requirement in case.operation.definition.raw.get("security", []) for name in requirement
        }
        if "githubSignature" in schemes:
            secret = {0: "", 1: "wrong-secret"}.get(kind, self.webhook_secret)
            return {"auth": SignBody(secret)} if secret else {}
        if "notifyToken" in schemes:
            token = {0: None, 1: "wrong-token"}.get(kind, self.notify_token)
            return {"headers": {"Authorization": f"Bearer {token}"}} if token else {}
        return {}


def fuzz_all(base_url: str, credentials: Credentials, examples: int) -> Tally:
    """Every operation, ``examples`` valid and ``examples`` invalid requests each (fewer when exhausted)."""
    schema = schemathesis.openapi.from_path(DESCRIPTION)
    with requests.Session() as session:
        fuzzer = Fuzzer(base_url, session, credentials, examples)
        for result in schema.get_all_operations():
            fuzzer.fuzz(result.ok())
    return fuzzer.tally


@dataclass
class Fuzzer:
    base_url: str
    session: requests.Session
    credentials: Credentials
    examples: int
    tally: Tally = field(default_factory=Tally)

    def fuzz(self, operation: APIOperation) -> None:
        self.tally.operations += 1
        self._run(operation, GenerationMode.POSITIVE, self.examples)
        if _can_be_negated(operation):
            self._run(operation, GenerationMode.NEGATIVE, self.examples)
        for fixed in documented_examples(operation):  # e.g. a `ping` delivery, a names-only notification
            self._run(operation, GenerationMode.POSITIVE, EXAMPLE_RUNS, **fixed)

    def _run(self, operation: APIOperation, mode: GenerationMode, examples: int, **fixed: Any) -> None:
        @settings(
            max_examples=examples,
            derandomize=True,  # the same examples on every run: CI does not flake
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],  # failures are counted, not raised: nothing to shrink
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode, **fixed))
        def one(case: Case) -> None:
            self._send(case, self.credentials.for_case(case))

        one()

    def _send(self, case: Case, extra: dict[str, Any]) -> None:
        tally = self.tally
        tally.requests += 1
        try:
            response = case.call_and_validate(
                base_url=self.base_url, session=self.session, checks=CHECKS, timeout=HANG_SECONDS, **extra
            )
        except requests.Timeout:
            tally.hangs += 1
            tally.keep(f"hang: {case.operation.label} {case.as_curl_command()}")
            return
        except FailureGroup as group:
            if any(isinstance(failure, ServerError) for failure in group.exceptions):
                tally.server_errors += 1
            tally.violations += sum(not isinstance(f, ServerError) for f in group.exceptions)
            tally.keep(str(group))
            return
        tally.statuses.setdefault(case.operation.label, set()).add(response.status_code)


def documented_examples(operation: APIOperation) -> Iterator[dict[str, Any]]:
    """``as_strategy`` arguments that pin one documented example: a header's ``examples``, a body's.

    Random generation rarely hits a specific value (the `ping` event), so each documented one gets a
    few requests of its own; the rest of the request is still generated.
    """
    raw = operation.definition.raw
    for parameter in raw.get("parameters", []):
        if parameter.get("in") == "header":
            for value in parameter.get("schema", {}).get("examples", []):
                yield {"headers": {parameter["name"]: value}}
    json_body = raw.get("requestBody", {}).get("content", {}).get("application/json", {})
    for example in json_body.get("examples", {}).values():
        yield {"body": example["value"], "media_type": "application/json"}


def _can_be_negated(operation: APIOperation) -> bool:
    """Operations without any input have no invalid request to generate (schemathesis refuses)."""
    raw = operation.definition.raw
    return bool(raw.get("parameters") or raw.get("requestBody") or operation.path_parameters)
