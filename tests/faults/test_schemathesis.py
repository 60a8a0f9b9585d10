"""Schemathesis against the live /api/openapi.json, as an Admin: every operation, every
method, valid and invalid input. No 5xx, and every answer matches what the document says.

The platform is `dqp up` with the embedded defaults and a real dataplane, so that status and
connection-test answers are the real ones. Each operation gets MAX_EXAMPLES examples of valid
input and as many of invalid input, and at most OPERATION_SECONDS (pytest-timeout), so the
whole run is bounded by operations x OPERATION_SECONDS.

Schemathesis' own pytest loader (`from_fixture`) does not run under pytest 9, so the
operations are listed from the application's document at collection time and each test
draws its cases from the live document with Hypothesis.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from schemathesis import GenerationMode, checks
from schemathesis.core.failures import AcceptedNegativeData, FailureGroup

from dqplatform.controlplane.app import create_app
from dqplatform.settings import Settings
from tests.faults.ledger import SecretLedger
from tests.faults.live import LivePlatform, secret_env

MAX_EXAMPLES = 25
OPERATION_SECONDS = 120
# What is judged: no 5xx; documented content types, headers and bodies that match their
# schemas; input that breaks the document is never taken (2xx).
# Left out: status_code_conformance (FastAPI documents neither 401 nor 403 on every
# operation, so it would report the auth answers themselves) and positive_data_acceptance
# (the document gives types, not every rule: username characters, a host that resolves to a
# name, cross-field rules, strict integers; input that fits the types but not the rules gets
# a clear 422, which is the behaviour wanted).
CHECKS = [
    checks.not_a_server_error,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]
METHODS = ("get", "put", "post", "delete", "patch")


def _operations() -> list[tuple[str, str]]:
    document = create_app(Settings(data_dir=Path("/nonexistent-dqp-data-dir"))).openapi()  # type: ignore[call-arg]
    return sorted(
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    )


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, ledger: SecretLedger
) -> Iterator[LivePlatform]:
    root: Path = tmp_path_factory.mktemp("schemathesis")
    platform = LivePlatform(
        data_dir=root / "data", broker_url=None, extra_env=secret_env(ledger), ledger=ledger
    )
    try:
        platform.start_up()
        platform.wait_dataplane_healthy()
        yield platform
    finally:
        platform.close()


@pytest.fixture(scope="module")
def admin_id(server: LivePlatform) -> int:
    return int(server.api("GET", "/api/users/me").json()["id"])


# No made-up extra parameters: an unknown query parameter is ignored, as HTTP APIs do (unknown
# body fields are refused, and test_bad_input says so). No generated Authorization header:
# every call carries the Admin's token (the token attacks are test_attacks_tokens).
CONFIG = schemathesis.Config.from_dict(
    {"generation": {"allow-extra-parameters": False, "with-security-parameters": False}}
)


@pytest.fixture(scope="module")
def live_schema(server: LivePlatform) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{server.url}/api/openapi.json", config=CONFIG)


def test_the_live_document_has_every_operation(live_schema: schemathesis.BaseSchema) -> None:
    live = sorted(
        (result.ok().method.upper(), result.ok().path)
        for result in live_schema.get_all_operations()
    )
    assert live == OPERATIONS


def _call(server: LivePlatform, admin_id: int, case: schemathesis.Case) -> None:
    if case.method in ("PUT", "DELETE") and (case.path_parameters or {}).get("user_id") == admin_id:
        return  # the Admin whose token runs the test stays an Admin
    response = case.call(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"})
    headers = "\n".join(f"{key}: {', '.join(values)}" for key, values in response.headers.items())
    where = f"{case.method} {case.formatted_path} -> {response.status_code}"
    server.ledger.record_text(where, f"{headers}\n{response.text}")
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as group:
        if not all(_typeless_query_text(failure) for failure in group.exceptions):
            raise


def _typeless_query_text(failure: Exception) -> bool:
    """An invalid case that only gave query parameters values of another JSON type: in a
    URL every value is text ("0.0" is a fine way to write a date-time), and a value of no
    listed type (`anyOf`: an empty array, an object) is sent as nothing at all, so the
    request that arrives is a valid one. Schemathesis 4 names the component once
    ("parameters `a`, `b` in query") and lists the violations below it."""
    if not isinstance(failure, AcceptedNegativeData):
        return False
    message = failure.message
    lines = [line for line in message.splitlines() if "violates" in line]
    if lines and all("in query" in line and "violates `type`" in line for line in lines):
        return True  # the form that names the component on each line
    components = [line for line in message.splitlines() if "Invalid component" in line]
    if not components or not all(line.rstrip().endswith("in query") for line in components):
        return False
    return bool(lines) and all(
        "violates `type`" in line or "violates `anyOf`" in line for line in lines
    )


@pytest.mark.timeout(OPERATION_SECONDS)
@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[" ".join(o) for o in OPERATIONS])
def test_every_operation_answers_as_documented(
    live_schema: schemathesis.BaseSchema,
    server: LivePlatform,
    admin_id: int,
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    operation = live_schema[path][method]

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        database=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
    )
    def run(case: schemathesis.Case) -> None:
        _call(server, admin_id, case)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        if mode is GenerationMode.NEGATIVE:
            pytest.skip("no parameter or body that could be made invalid")
        raise
