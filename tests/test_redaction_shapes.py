"""Every shape a secret takes inside free text is redacted, wherever it is printed: log messages,
exception messages and uncaught tracebacks (printed by a subprocess, as a crashing command would)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tradingfloor.observability.redact import REDACTED, redact_text

SECRET = "Hunter2/x:y@z#q?w%25"  # a password with every URL-special character in it
HEX = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"

SHAPES = {
    "postgres-url": f"postgresql://floor:{SECRET}@db:5432/floor",
    "redis-url-no-user": f"redis://:{SECRET}@127.0.0.1:6379/0",
    "url-in-sentence": f"connect to postgres://u:{SECRET}@h/db failed: timeout",
    "env-polymarket-secret": f"POLYMARKET_SECRET={SECRET}",
    "env-polymarket-passphrase": f"POLYMARKET_PASSPHRASE={SECRET}",
    "env-polymarket-api-key": f"POLYMARKET_API_KEY={SECRET}",
    "env-private-key": f"POLYMARKET_PRIVATE_KEY={SECRET}",
    "env-pgpassword": f"PGPASSWORD={SECRET}",
    "env-aws": f"AWS_SECRET_ACCESS_KEY={SECRET}",
    "env-redis-password": f"REDIS_PASSWORD={SECRET}",
    "env-quoted": f'DB_PASSWORD="{SECRET} with spaces"',
    "libpq-dsn": f"host=db user=floor password={SECRET} dbname=floor",
    "json-pair": f'{{"apiSecret": "{SECRET}", "price": "0.5"}}',
    "python-repr": f"{{'passphrase': '{SECRET}'}}",
    "yaml-pair": f"secret: {SECRET}",
    "header-api-key": f"x-api-key: {SECRET}",
    "header-poly-passphrase": f"POLY_PASSPHRASE: {SECRET}",
    "flag-with-space": f"redis-server --requirepass {SECRET} --port 6390",
    "flag-with-equals": f"psql --password={SECRET}",
    "bearer": f"Authorization: Bearer {SECRET}",
    "basic": f"Authorization: Basic {SECRET}",
    "hex-key": f"loaded {HEX}",
    "hex-key-0x": f"loaded 0x{HEX}",
    "pem": f"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI{SECRET}\n-----END EC PRIVATE KEY-----",
    "pem-truncated": f"-----BEGIN PRIVATE KEY-----\nMIIEv{SECRET}",
    "jwt": "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_secret_shape_is_redacted(shape):
    text = SHAPES[shape]
    out = redact_text(text)
    assert REDACTED in out
    for part in (SECRET, SECRET.split("/")[0], SECRET.split("/")[1], HEX, "c2lnbmF0dXJl"):
        assert part not in out, f"{part!r} survived in {out!r}"


@pytest.mark.parametrize(
    "text",
    [
        "token_id=7132104567925221259 market_id=0xabc",
        "error: connection refused",
        "password hunter2 is prose, not a pair",
        "secret: $POLYMARKET_SECRET",
        "http://sim:8080/path/to/x",
        "side=BUY price=0.55 size=12.5",
    ],
)
def test_ordinary_text_stays_readable(text):
    assert redact_text(text) == text


def test_uncaught_traceback_is_redacted():
    """A crash with the database URL in its message: the floor command's hook prints it redacted."""
    code = (
        "import tradingfloor.cli\n"
        f"url = 'postgresql://floor:{SECRET}@db:5432/floor'\n"
        "raise ConnectionError(f'cannot connect to {url}')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ConnectionError" in result.stderr
    assert "postgresql://floor:***@db:5432/floor" in result.stderr
    assert SECRET not in result.stderr and "Hunter2" not in result.stderr


def test_uncaught_thread_exception_is_redacted():
    code = (
        "import threading\n"
        "from tradingfloor.observability.redact import install_excepthook\n"
        "install_excepthook()\n"
        "def boom():\n"
        f"    raise RuntimeError('POLYMARKET_SECRET={SECRET}')\n"
        "t = threading.Thread(target=boom); t.start(); t.join()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "RuntimeError: POLYMARKET_SECRET=***" in result.stderr
    assert "Hunter2" not in result.stderr
