"""structlog JSON logging that never prints secrets.

Every event passes through ``redact`` before rendering: values under keys that name a secret
(key, secret, passphrase, password, private key, token, credentials …) are replaced, and so are
secrets embedded in strings (URL passwords, hex private keys, ``Bearer`` tokens).
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

REDACTED = "***"
_SECRET_KEY = re.compile(
    r"(secret|passphrase|password|passwd|private[_-]?key|api[_-]?key|apikey|token|credential|auth|signature|mnemonic|seed_phrase)",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<pw>[^@\s]+)(?=@)", re.IGNORECASE)
_HEX_KEY = re.compile(r"\b(0x)?[0-9a-fA-F]{64}\b")
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def redact_text(text: str) -> str:
    text = _URL_PASSWORD.sub(lambda m: m.group("scheme") + REDACTED, text)
    text = _HEX_KEY.sub(REDACTED, text)
    return _BEARER.sub(lambda m: m.group(1) + REDACTED, text)


def redact_value(key: str | None, value: Any) -> Any:
    if key is not None and _SECRET_KEY.search(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(None, v) for v in value)
    return value


def redact(_logger: Any, _method: str, event_dict: dict) -> dict:
    return {k: redact_value(k if k != "event" else None, v) for k, v in event_dict.items()}


def configure_logging(level: str = "INFO", *, json: bool = True, stream: Any = None) -> None:
    """Configure structlog (and the stdlib root logger) once per process."""
    lvl = getattr(logging, level.upper(), logging.INFO)
    stream = stream or sys.stderr
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=lvl, stream=stream, format="%(levelname)s %(name)s %(message)s", force=True)


def get_logger(name: str | None = None, **context: Any) -> Any:
    log = structlog.get_logger(name) if name else structlog.get_logger()
    return log.bind(**context) if context else log
