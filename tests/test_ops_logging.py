"""JSON-lines logging and secret redaction (checked on the bytes written to the log file)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from asymlp_runtime.config import load_config_text
from asymlp_runtime.ops.logging import (
    REDACTED,
    LoggingHandle,
    Redactor,
    configure_logging,
    configure_logging_from_config,
)

API_KEY = "AKIAxq7Zsecretapikey0001"
API_SECRET = "zR9vSecretSecretSecret42"
PRIVATE_KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
TX_HASH = "0x" + "9f" * 32


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("asymlp.test.ops_logging")
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


@pytest.fixture
def configured(tmp_path: Path, logger: logging.Logger) -> Iterator[LoggingHandle]:
    text = (
        '[GLOBAL]\nprocess_name = "trading_engine_test"\nlog_level = "INFO"\n'
        f'log_dir = "{tmp_path.as_posix()}"\n'
        '[HTTP_API]\nexchange_id = "binance"\napi_key = "${K}"\napi_secret = "${S}"\n'
    )
    cfg = load_config_text(text, "t.toml", {"K": API_KEY, "S": API_SECRET})
    handle = configure_logging_from_config(cfg, logger=logger, redactor=Redactor())
    yield handle
    handle.close()


def lines(handle: LoggingHandle) -> list[dict]:
    for h in handle.handlers:
        h.flush()
    return [json.loads(line) for line in handle.path.read_text(encoding="utf-8").splitlines()]


def raw(handle: LoggingHandle) -> str:
    for h in handle.handlers:
        h.flush()
    return handle.path.read_text(encoding="utf-8")


def test_log_file_is_json_lines_with_the_documented_fields(configured, logger):
    logger.info("hedge sent %s", "order-1", extra={"qty": 0.5, "venue": "binance"})
    (record,) = lines(configured)
    assert configured.path.name == "trading_engine_test.log"
    assert record["level"] == "INFO"
    assert record["process"] == "trading_engine_test"
    assert record["msg"] == "hedge sent order-1"
    assert record["extra"] == {"qty": 0.5, "venue": "binance"}
    assert record["ts"].endswith("Z") and record["ts"][:4].isdigit()


def test_level_from_config_drops_lower_records(configured, logger):
    logger.debug("not written")
    logger.warning("written")
    assert [r["msg"] for r in lines(configured)] == ["written"]


def test_registered_secret_never_reaches_the_file(configured, logger):
    logger.info(f"connecting with key {API_KEY}")
    logger.info("args carry it: %s / %r", API_KEY, {"secret": API_SECRET})
    logger.warning("extra carries it", extra={"headers": {"X-MBX-APIKEY": API_KEY}, "note": [API_SECRET]})
    try:
        raise RuntimeError(f"venue rejected signature for {API_SECRET}")
    except RuntimeError:
        logger.exception("order failed")
    text = raw(configured)
    assert API_KEY not in text
    assert API_SECRET not in text
    assert text.count(REDACTED) >= 5
    assert "order failed" in text and "RuntimeError" in text


def test_secret_from_an_interpolated_config_is_grepped_out(configured, logger, tmp_path):
    logger.error("raw dump %s", f"apiKey:{API_KEY}&secret:{API_SECRET}")
    content = (tmp_path / "trading_engine_test.log").read_bytes()
    assert API_KEY.encode() not in content and API_SECRET.encode() not in content


@pytest.mark.parametrize(
    ("message", "leak"),
    [
        ("params key=abcd1234efgh5678", "abcd1234efgh5678"),
        ("secret=hunter2hunter2", "hunter2hunter2"),
        ("api_key: 'k-9f8e7d6c'", "k-9f8e7d6c"),
        ('{"apiKey": "qwerty-123456"}', "qwerty-123456"),
        ("password=correcthorse", "correcthorse"),
        (f"loaded {PRIVATE_KEY}", PRIVATE_KEY[2:]),
        (f"loaded {PRIVATE_KEY[2:]} without prefix", PRIVATE_KEY[2:]),
        ("rpc https://alice:s3cretpw@rpc.example.org/v1", "s3cretpw"),
        ("ws wss://bob:tok3n@stream.example.org", "tok3n"),
        ("Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi"),
        ("GET /api?timestamp=1&signature=a1b2c3d4e5", "a1b2c3d4e5"),
    ],
)
def test_credential_looking_text_is_redacted_without_registration(message, leak):
    redacted = Redactor().redact(message)
    assert leak not in redacted
    assert REDACTED in redacted


def test_transaction_hash_named_as_such_stays_readable():
    r = Redactor()
    assert r.redact(f"mint sent tx_hash={TX_HASH}") == f"mint sent tx_hash={TX_HASH}"
    assert r.redact_value(TX_HASH, "tx_hash") == TX_HASH
    assert r.redact_value(TX_HASH, "note") == REDACTED


def test_ordinary_text_is_left_alone():
    text = "hedge sell 0.5 ETHUSDT at 2000.5 residual=0.12 tick=-200000"
    assert Redactor().redact(text) == text


def test_short_values_are_not_registered_as_secrets():
    r = Redactor(["abc", ""])
    assert r.redact("abc is fine") == "abc is fine"


def test_stderr_copy_is_redacted_too(tmp_path, logger, capfd):
    handle = configure_logging(
        "p", log_dir=tmp_path, stderr=True, secrets=[API_KEY], logger=logger, redactor=Redactor()
    )
    try:
        logger.warning("key %s", API_KEY)
    finally:
        handle.close()
    err = capfd.readouterr().err
    assert API_KEY not in err and REDACTED in err
    assert API_KEY not in (tmp_path / "p.log").read_text()


def test_bad_format_arguments_do_not_break_logging(configured, logger):
    logger.info("two placeholders %s %s", "only-one")
    assert len(lines(configured)) == 1
