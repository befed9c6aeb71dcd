"""structlog JSON logging that never prints secrets.

Every event — from structlog loggers and from the standard ``logging`` module (asyncpg, redis,
kopf, aiohttp …), which is routed through the same chain — passes through ``redact`` before it
is rendered:

- a value under a key that names a secret is replaced whole: keys whose words include secret,
  passphrase, password/passwd/pwd, credential(s), mnemonic, auth/authorization, cookie, jwt,
  bearer, apikey/privatekey, or the word pairs private key, api key, secret key, access key,
  signing key, seed phrase, pass phrase, access/refresh/auth/session/api token, or that end in
  token(s) or signature (``POLYMARKET_PRIVATE_KEY``, ``apiKey``, ``x-api-key``, ``clobSecret``,
  ``auth_token`` …). Identifiers that merely contain such a word stay readable: ``token_id``,
  ``up_token_id``, ``signature_type``, ``idempotency_key``, ``key``;
- secrets inside any string are replaced: URL passwords (``scheme://user:***@host``), runs of 64
  or more hex digits (private keys, ``0x``-prefixed or not), ``Bearer``/``Basic`` credentials and
  ``password=…``-style pairs. Values under identifier keys (``*_id``, ``*_ids``, ``*hash*``,
  ``digest``, ``checksum``) keep their hex: condition ids, order ids and audit hashes are 32-byte
  hex strings too, and are needed to debug;
- objects that are not JSON (exceptions, URLs, settings …) are turned into strings first and then
  redacted, so a secret cannot slip through a ``repr``.
"""

from __future__ import annotations

import itertools
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

REDACTED = "***"

_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_SECRET_WORDS = frozenset(
    {
        "secret",
        "secrets",
        "passphrase",
        "password",
        "passwords",
        "passwd",
        "pwd",
        "credential",
        "credentials",
        "mnemonic",
        "auth",
        "authorization",
        "cookie",
        "cookies",
        "jwt",
        "bearer",
        "apikey",
        "privatekey",
        "privkey",
    }
)
_SECRET_LAST_WORDS = frozenset({"token", "tokens", "signature", "signatures"})
_SECRET_PAIRS = frozenset(
    {
        ("private", "key"),
        ("api", "key"),
        ("secret", "key"),
        ("access", "key"),
        ("signing", "key"),
        ("seed", "phrase"),
        ("pass", "phrase"),
        ("access", "token"),
        ("refresh", "token"),
        ("auth", "token"),
        ("session", "token"),
        ("api", "token"),
        ("id", "token"),
    }
)
_IDENTIFIER_LAST_WORDS = frozenset({"id", "ids", "hash", "hashes", "digest", "checksum"})

_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^\s/]*)(?=@)", re.IGNORECASE)
_HEX_KEY = re.compile(r"(?<![0-9A-Za-z])(?:0x)?[0-9a-fA-F]{64,}(?![0-9A-Za-z])")
_AUTH_HEADER = re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_KV_SECRET = re.compile(
    r"(?P<key>\b(?:password|passwd|pwd|secret|passphrase|api[_-]?key|private[_-]?key|access[_-]?token|auth[_-]?token|token)\b"
    r"[\"']?\s*[=:]\s*[\"']?)(?P<value>[^\s\"',;&}]+)",
    re.IGNORECASE,
)


def _words(key: str) -> list[str]:
    return [w.lower() for w in _SPLIT.split(key) if w]


def is_secret_key(key: str) -> bool:
    """Whether a value stored under ``key`` is a secret (see the module docstring)."""
    words = _words(key)
    if not words:
        return False
    if any(w in _SECRET_WORDS for w in words) or words[-1] in _SECRET_LAST_WORDS:
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


def is_identifier_key(key: str) -> bool:
    words = _words(key)
    return bool(words) and (words[-1] in _IDENTIFIER_LAST_WORDS or "hash" in words)


def redact_text(text: str, *, keep_hex: bool = False) -> str:
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)
    if not keep_hex:
        text = _HEX_KEY.sub(REDACTED, text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    return _KV_SECRET.sub(lambda m: m.group("key") + REDACTED, text)


def _stringify(value: Any) -> str:
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def redact_value(key: str | None, value: Any, *, _identifier: bool = False) -> Any:
    if key is not None:
        if is_secret_key(key):
            return REDACTED if value not in (None, "") else value
        _identifier = is_identifier_key(key)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return redact_text(value, keep_hex=_identifier)
    if isinstance(value, dict):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact_value(None, v, _identifier=_identifier) for v in value]
    return redact_text(_stringify(value), keep_hex=_identifier)


_UNCHECKED_KEYS = frozenset({"event", "level", "logger", "timestamp"})


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    return {k: redact_value(None if k in _UNCHECKED_KEYS else k, v) for k, v in event_dict.items()}


def configure_logging(level: str = "INFO", *, json: bool = True, stream: Any = None) -> None:
    """Configure structlog and the standard ``logging`` root logger: both render through ``redact``
    (JSON by default) to ``stream`` (stderr by default)."""
    lvl = getattr(logging, level.upper(), logging.INFO)
    stream = stream or sys.stderr
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            timestamper,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name, timestamper],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(lvl)


def get_logger(name: str | None = None, **context: Any) -> Any:
    log = structlog.get_logger(name) if name else structlog.get_logger()
    return log.bind(**context) if context else log
