"""Log lines: JSON on request (one object per line with the extras), secrets never written."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import pytest

from dqplatform.logs import REDACTED, JsonFormatter, TextFormatter, logging_config, redact
from dqplatform.settings import load_settings


def _line(formatter: logging.Formatter, emit: Any) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("dqplatform.test.logs")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    return stream.getvalue()


def test_json_lines_carry_the_fields_and_the_extras() -> None:
    text = _line(
        JsonFormatter(),
        lambda log: log.warning("operation %s waits", "op-3", extra={"operation_id": 3}),
    )
    assert text.endswith("\n") and text.count("\n") == 1
    entry = json.loads(text)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "dqplatform.test.logs"
    assert entry["message"] == "operation op-3 waits"
    assert isinstance(entry["pid"], int) and entry["pid"] > 0
    assert entry["operation_id"] == 3
    assert entry["time"].endswith("+00:00") and "T" in entry["time"]


def test_json_lines_keep_an_exception_on_the_same_line() -> None:
    def emit(log: logging.Logger) -> None:
        try:
            raise ValueError("amqp://dqp:s3cret-pw@rabbit:5672// refused")
        except ValueError:
            log.exception("broker failed")

    text = _line(JsonFormatter(), emit)
    assert text.count("\n") == 1
    entry = json.loads(text)
    assert "ValueError" in entry["exception"]
    assert "s3cret-pw" not in text
    assert f"amqp://dqp:{REDACTED}@rabbit" in entry["exception"]


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()], ids=["json", "text"])
def test_secrets_never_reach_a_line(formatter: logging.Formatter) -> None:
    def emit(log: logging.Logger) -> None:
        log.info(
            "connecting to %s with Authorization: Bearer eyJhbGciOi.payload.sig",
            "postgresql+psycopg://dqp:hunter2@db:5432/dqp",
            extra={"jwt_secret": "k3y-material", "password": "pw-value", "api_token": "t0k"},
        )

    text = _line(formatter, emit)
    for secret in ("hunter2", "eyJhbGciOi", "k3y-material", "pw-value", "t0k"):
        assert secret not in text
    assert "postgresql+psycopg://dqp:" in text  # who and where stay readable


def test_redact_leaves_plain_text_alone() -> None:
    plain = "restart requested by admin at http://127.0.0.1:8000/api (no credentials)"
    assert redact(plain) == plain


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    uvicorn = logging.getLogger("uvicorn.error")
    saved = (uvicorn.handlers[:], uvicorn.propagate, uvicorn.level)
    yield
    root.handlers[:], root.level = handlers, level
    uvicorn.handlers[:], uvicorn.propagate, uvicorn.level = saved


def test_the_config_sends_uvicorn_through_the_same_json_handler(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.config.dictConfig(logging_config("INFO", "json"))
    logging.getLogger("uvicorn.error").info(
        "Started server process", extra={"color_message": "Started \x1b[36mserver\x1b[0m"}
    )
    logging.getLogger("py4j.clientserver").info("a py4j command")  # below its WARNING floor
    lines = capsys.readouterr().err.strip().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [entry["message"] for entry in entries] == ["Started server process"]
    assert "color_message" not in entries[0]  # uvicorn's copy with terminal colours


def test_the_setting_takes_text_or_json_only() -> None:
    assert load_settings().log_format == "text"
    assert load_settings(log_format="json").log_format == "json"
    with pytest.raises(Exception, match="DQP_LOG_FORMAT"):
        load_settings(log_format="xml")
