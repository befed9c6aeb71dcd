"""Redaction of secrets in keys, values and free text, and a redacting hook for uncaught
exceptions. Pure and light (no logging framework), so the ``floor`` command installs the hook
before anything else runs. ``tradingfloor.observability.logging`` applies it to every log event.

The rules are described in ``tradingfloor.observability.logging``.
"""

from __future__ import annotations

import itertools
import re
import sys
import threading
import traceback
from typing import Any

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
# Words that hold a secret word inside them: PGPASSWORD, REDISPASS, requirepass, masterauth.
_SECRET_INFIXES = ("password", "passwd", "passphrase", "secret", "requirepass", "masterauth", "privkey")
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

# The password runs to the last '@' of the URL, so '/', ':', '@', '#' or '?' inside it (unencoded,
# as people write them) cannot end the match early and leave the rest printed.
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^\s]*)(?=@[^@\s]*)", re.IGNORECASE
)
_HEX_KEY = re.compile(r"(?<![0-9A-Za-z])(?:0x)?[0-9a-fA-F]{64,}(?![0-9A-Za-z])")
_PEM_KEY = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|$)", re.DOTALL
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_AUTH_HEADER = re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# key = value, key: value, "key": "value"; --key value, --key=value. The key decides (is_secret_key).
_VALUE = r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s\"',;&}\]]+)"
_KV = re.compile(r"(?P<key>[\"']?(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)[\"']?\s*[=:]\s*)" + _VALUE)
_FLAG = re.compile(r"(?P<key>(?<![\w-])--(?P<name>[A-Za-z][A-Za-z0-9_-]*)(?:=|[ \t]+))" + _VALUE)


def _words(key: str) -> list[str]:
    return [w.lower() for w in _SPLIT.split(key) if w]


def is_secret_key(key: str) -> bool:
    """Whether a value stored under ``key`` is a secret (see the module docstring)."""
    words = _words(key)
    if not words:
        return False
    if any(w in _SECRET_WORDS for w in words) or words[-1] in _SECRET_LAST_WORDS:
        return True
    if any(infix in w for w in words for infix in _SECRET_INFIXES):
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


def is_identifier_key(key: str) -> bool:
    words = _words(key)
    return bool(words) and (words[-1] in _IDENTIFIER_LAST_WORDS or "hash" in words)


def _redact_pairs(pattern: re.Pattern[str], text: str) -> str:
    """Replace the value of every pair whose key names a secret. A pair whose key does not is
    skipped past its key only, so its value is searched again (``error: POLYMARKET_SECRET=…``)."""
    out, pos = [], 0
    while (match := pattern.search(text, pos)) is not None:
        secret = is_secret_key(match.group("name")) and not match.group("value").startswith("$")
        if secret:  # a reference ($PGPASSWORD) is not the value, so it stays
            out.append(text[pos : match.start("value")] + REDACTED)
            pos = match.end("value")
        else:
            out.append(text[pos : match.end("name")])
            pos = match.end("name")
    out.append(text[pos:])
    return "".join(out)


def redact_text(text: str, *, keep_hex: bool = False) -> str:
    text = _PEM_KEY.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)
    if not keep_hex:
        text = _HEX_KEY.sub(REDACTED, text)
    text = _JWT.sub(REDACTED, text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    return _redact_pairs(_FLAG, _redact_pairs(_KV, text))


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


def _print_redacted(exc_type: type[BaseException], exc: BaseException, tb: Any, stream: Any) -> None:
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    try:
        print(redact_text(text), end="", file=stream or sys.stderr, flush=True)
    except Exception:  # the hook itself must never fail loudly with the secret in hand
        print(f"{exc_type.__name__} (details withheld: redaction failed)", file=sys.__stderr__)


def install_excepthook(stream: Any = None) -> None:
    """Print uncaught exceptions (main and other threads) redacted: a database URL in a
    connection error's traceback is printed as ``postgresql://user:***@host``."""

    def hook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        _print_redacted(exc_type, exc, tb, stream)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            _print_redacted(args.exc_type, args.exc_value, args.exc_traceback, stream)

    sys.excepthook = hook
    threading.excepthook = thread_hook


def redact_url(url: str) -> str:
    """A connection URL (or libpq ``key=value`` string) with its password replaced by ``***``,
    whatever characters the password holds (``/``, ``@``, ``:`` included)."""
    return redact_text(url)
