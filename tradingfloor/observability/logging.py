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
- secrets inside any string are replaced: URL passwords whatever characters they hold
  (``scheme://user:***@host``), runs of 64 or more hex digits (private keys, ``0x``-prefixed or
  not), PEM private-key blocks, JWTs, ``Bearer``/``Basic`` credentials, and ``KEY=value`` /
  ``key: value`` / ``"key": "value"`` / ``--key value`` pairs whose key names a secret by the rule
  above (``POLYMARKET_SECRET=…``, ``PGPASSWORD=…``, ``--requirepass …``). Values under identifier
  keys (``*_id``, ``*_ids``, ``*hash*``, ``digest``, ``checksum``) keep their hex: condition ids,
  order ids and audit hashes are 32-byte hex strings too, and are needed to debug;
- objects that are not JSON (exceptions, URLs, settings …) are turned into strings first and then
  redacted, so a secret cannot slip through a ``repr``;
- uncaught exceptions (main thread, other threads) are printed by ``install_excepthook`` through
  the same redaction, not by Python's default hook.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

# structlog's console renderer imports rich (about 5 MiB and 70 modules per process) for pretty
# tracebacks this chain never uses: format_exc_info turns exceptions into text before ``redact``.
# rich is hidden while structlog loads so agent processes stay small; it stays importable after.
_HIDE_RICH = "rich" not in sys.modules
if _HIDE_RICH:
    sys.modules["rich"] = None  # type: ignore[assignment]  # None makes `import rich` fail
try:
    import structlog
finally:
    if _HIDE_RICH:
        del sys.modules["rich"]

from tradingfloor.observability.redact import (  # noqa: E402 - after structlog's import above
    REDACTED,
    install_excepthook,
    is_identifier_key,
    is_secret_key,
    redact_text,
    redact_value,
)

__all__ = [
    "REDACTED",
    "configure_logging",
    "get_logger",
    "install_excepthook",
    "is_identifier_key",
    "is_secret_key",
    "redact",
    "redact_text",
    "redact_value",
]

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
    install_excepthook(stream)


def get_logger(name: str | None = None, **context: Any) -> Any:
    log = structlog.get_logger(name) if name else structlog.get_logger()
    return log.bind(**context) if context else log
