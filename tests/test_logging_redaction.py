"""Logs never print secrets: keys, secrets, passphrases, private keys, URL passwords are redacted;
ordinary fields (ids, token ids, prices, hashes) are printed as they are."""

from __future__ import annotations

import io
import json
import logging
from decimal import Decimal

import pytest
import structlog

from tradingfloor.observability.logging import (
    REDACTED,
    configure_logging,
    get_logger,
    is_secret_key,
    redact_text,
)
from tradingfloor.settings import Settings

PRIVATE_KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
SECRETS = [
    PRIVATE_KEY,
    "0x" + PRIVATE_KEY,
    "hunter2-db-password",
    "my-api-key-value-123",
    "c2VjcmV0LXNlY3JldC1zZWNyZXQ=",  # a base64 CLOB secret
    "correct horse battery staple passphrase",
    "redis-password-xyz",
    "eyJhbGciOiJIUzI1NiJ9.payload.sig",
]


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.fixture
def logs():
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    return stream


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"secret {secret[:12]}… printed in {text}"


def test_secret_keys_are_redacted_normal_fields_are_not(logs):
    log = get_logger("test", agent="momentum-btc")
    log.info(
        "placing order",
        secret=SECRETS[4],
        api_key=SECRETS[3],
        passphrase=SECRETS[5],
        private_key=PRIVATE_KEY,
        POLYMARKET_PRIVATE_KEY="0x" + PRIVATE_KEY,
        apiKey=SECRETS[3],
        clobSecret=SECRETS[4],
        password=SECRETS[2],
        auth_token=SECRETS[7],
        headers={"Authorization": "Bearer " + SECRETS[7], "x-api-key": SECRETS[3]},
        creds=[{"apiSecret": SECRETS[4], "passPhrase": SECRETS[5]}],
        market_id="0x" + "ab" * 32,
        token_id="71321045679252212594626385532706912750332728571942532289631379312455583992563",
        price=Decimal("0.55"),
        size=12.5,
        side="BUY",
        idempotency_key="trade-7",
        prev_hash="cd" * 32,
        market="0x" + "ef" * 32,
        signature_type=1,
        empty_secret="",
    )
    out = logs.getvalue()
    assert_no_secret(out)
    (event,) = lines(logs)
    for key in (
        "secret",
        "api_key",
        "passphrase",
        "private_key",
        "POLYMARKET_PRIVATE_KEY",
        "apiKey",
        "clobSecret",
        "password",
        "auth_token",
    ):
        assert event[key] == REDACTED, key
    assert event["headers"] == {"Authorization": REDACTED, "x-api-key": REDACTED}
    assert event["creds"] == [{"apiSecret": REDACTED, "passPhrase": REDACTED}]
    assert event["event"] == "placing order" and event["agent"] == "momentum-btc" and event["level"] == "info"
    assert event["market_id"] == "0x" + "ab" * 32
    assert event["token_id"].startswith("713210456792522125946")
    assert (event["price"], event["size"], event["side"]) == ("0.55", 12.5, "BUY")
    assert event["idempotency_key"] == "trade-7" and event["prev_hash"] == "cd" * 32
    assert event["market"] == "0x" + "ef" * 32  # a condition id is public, though shaped like a key
    assert event["signature_type"] == 1 and event["empty_secret"] == ""


def test_secrets_inside_strings_are_redacted(logs):
    log = get_logger("test")
    log.warning(f"cannot connect to postgresql://floor:{SECRETS[2]}@db:5432/floor")
    log.error(
        "wallet",
        detail=f"loaded key {PRIVATE_KEY} and 0x{PRIVATE_KEY}",
        url=f"redis://:{SECRETS[6]}@127.0.0.1:6379/0",
        dsn=f"host=db user=floor password={SECRETS[2]}",
        header=f"Authorization: Bearer {SECRETS[7]}",
    )
    out = logs.getvalue()
    assert_no_secret(out)
    first, second = lines(logs)
    assert first["event"] == "cannot connect to postgresql://floor:***@db:5432/floor"
    assert second["url"] == "redis://:***@127.0.0.1:6379/0"
    assert second["detail"] == "loaded key *** and ***"


def test_exceptions_and_objects_are_redacted(logs):
    log = get_logger("test")
    try:
        raise ConnectionError(f"postgresql://u:{SECRETS[2]}@h/db refused; key={PRIVATE_KEY}")
    except ConnectionError as exc:
        log.exception("db down", error=exc)
    settings = Settings(
        database_url=f"postgresql://u:{SECRETS[2]}@h/db",
        polymarket_private_key=PRIVATE_KEY,
        polymarket_secret=SECRETS[4],
        polymarket_passphrase=SECRETS[5],
        polymarket_api_key=SECRETS[3],
    )
    log.info("settings", settings=settings, cfg=settings.__dict__)
    out = logs.getvalue()
    assert_no_secret(out)
    first, second = lines(logs)
    assert "Traceback" in first["exception"] and first["error"].startswith(
        "ConnectionError: postgresql://u:***@h/db"
    )
    assert second["cfg"]["polymarket_private_key"] == REDACTED
    assert second["cfg"]["database_url"] == "postgresql://u:***@h/db"


def test_standard_library_logging_is_redacted_too(logs):
    std = logging.getLogger("asyncpg.pool")
    std.warning("reconnecting to %s", f"postgresql://u:{SECRETS[2]}@h/db")
    try:
        raise RuntimeError(f"private key {PRIVATE_KEY}")
    except RuntimeError:
        std.exception("failed")
    out = logs.getvalue()
    assert_no_secret(out)
    first, second = lines(logs)
    assert first["event"] == "reconnecting to postgresql://u:***@h/db"
    assert first["logger"] == "asyncpg.pool" and first["level"] == "warning"
    assert "RuntimeError: private key ***" in second["exception"]


def test_console_renderer_is_redacted_too():
    stream = io.StringIO()
    configure_logging("INFO", json=False, stream=stream)
    get_logger().info("hello", api_key=SECRETS[3], market="m1")
    assert_no_secret(stream.getvalue())
    assert "market=m1" in stream.getvalue()


@pytest.mark.parametrize(
    "key",
    [
        "secret",
        "api_secret",
        "apiKey",
        "x-api-key",
        "PASSPHRASE",
        "privateKey",
        "wallet_private_key",
        "mnemonic",
        "seed_phrase",
        "token",
        "access_token",
        "Authorization",
        "cookie",
        "order_signature",
        "db_password",
    ],
)
def test_secret_key_names(key):
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "token_id",
        "up_token_id",
        "clob_token_ids",
        "idempotency_key",
        "key",
        "keys",
        "author",
        "seed",
        "market_id",
        "signature_type",
        "event_key",
        "hash",
        "price",
    ],
)
def test_ordinary_key_names(key):
    assert not is_secret_key(key)


def test_redact_text_leaves_ordinary_text_alone():
    text = "order tf-abc filled at 0.55 on http://127.0.0.1:8080/book (token 123, hash abcdef)"
    assert redact_text(text) == text
    assert redact_text("a 63-hex " + "a" * 63) == "a 63-hex " + "a" * 63
    assert redact_text("sig " + "b" * 130) == "sig ***"
