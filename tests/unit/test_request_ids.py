"""The request id: accepted from the caller or made, echoed in the response, carried by the
messages a request causes and written on the log lines written on its behalf."""

from __future__ import annotations

import io
import json
import logging

from fastapi import FastAPI
from fastapi.testclient import TestClient

from dqplatform.controlplane.request_ids import RequestIdMiddleware
from dqplatform.logs import JsonFormatter, TextFormatter
from dqplatform.messaging.schemas import HealthRequest, Request
from dqplatform.request_ids import (
    REQUEST_ID_HEADER,
    RequestIdFilter,
    accept_request_id,
    bound_request_id,
    current_request_id,
)


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/async")
    async def in_the_event_loop() -> dict[str, str | None]:
        return {"bound": current_request_id.get()}

    @app.get("/sync")
    def in_a_worker_thread() -> dict[str, str | None]:
        message = HealthRequest(expires_at=Request.expiry(5))
        return {"bound": current_request_id.get(), "message": message.request_id}

    app.add_middleware(RequestIdMiddleware)
    return app


def test_a_plausible_caller_id_is_kept_and_echoed() -> None:
    with TestClient(_app()) as client:
        response = client.get("/async", headers={REQUEST_ID_HEADER: "abc-123.x"})
    assert response.headers[REQUEST_ID_HEADER] == "abc-123.x"
    assert response.json() == {"bound": "abc-123.x"}


def test_an_implausible_caller_id_is_replaced() -> None:
    with TestClient(_app()) as client:
        for offered in ["", "a" * 129, "two words", "<script>"]:
            response = client.get("/async", headers={REQUEST_ID_HEADER: offered})
            made = response.headers[REQUEST_ID_HEADER]
            assert made != offered and len(made) == 32
            assert response.json() == {"bound": made}


def test_each_request_without_one_gets_its_own() -> None:
    with TestClient(_app()) as client:
        ids = {client.get("/async").headers[REQUEST_ID_HEADER] for _ in range(5)}
    assert len(ids) == 5


def test_messages_made_while_serving_a_sync_endpoint_carry_the_id() -> None:
    with TestClient(_app()) as client:
        body = client.get("/sync", headers={REQUEST_ID_HEADER: "req-7"}).json()
    assert body == {"bound": "req-7", "message": "req-7"}
    # Outside any request: none, and nothing leaks from the request served before.
    assert HealthRequest(expires_at=Request.expiry(5)).request_id is None


def test_accept_request_id() -> None:
    assert accept_request_id("ok_1:2") == "ok_1:2"
    assert accept_request_id(None) != accept_request_id(None)


def _lines(formatter: logging.Formatter, request_id: str | None) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("dqplatform.test.request_ids")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with bound_request_id(request_id):
            try:
                raise ValueError("boom")
            except ValueError:
                logger.exception("op-%d failed", 4)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    return stream.getvalue()


def test_log_lines_name_the_bound_request() -> None:
    text = _lines(TextFormatter(), "req-9")
    first = text.splitlines()[0]
    # On the message line itself, before the traceback.
    assert first.endswith("op-4 failed [request req-9]")
    assert "ValueError: boom" in text
    entry = json.loads(_lines(JsonFormatter(), "req-9"))
    assert entry["request_id"] == "req-9" and entry["message"] == "op-4 failed"


def test_log_lines_without_a_request_say_nothing_of_one() -> None:
    assert "[request" not in _lines(TextFormatter(), None)
    assert "request_id" not in json.loads(_lines(JsonFormatter(), None))
