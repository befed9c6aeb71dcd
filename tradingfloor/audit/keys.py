"""The audit key: the HMAC key the audit chain is computed with, kept out of the database.

Looked up in order: ``AUDIT_HMAC_KEY`` (the Auditor's Secret, in Kubernetes), the file named by
``AUDIT_HMAC_KEY_FILE``, then ``<state dir>/audit/hmac.key`` (the local floor creates it, mode
0600, on first use). A key shorter than 32 characters is refused: it could be guessed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

KEY_ENV = "AUDIT_HMAC_KEY"
KEY_FILE_ENV = "AUDIT_HMAC_KEY_FILE"
MIN_KEY_CHARS = 32


class AuditKeyError(ValueError):
    """No usable audit key; the message says where one was looked for."""


def parse_key(text: str, source: str) -> bytes:
    key = text.strip()
    if len(key) < MIN_KEY_CHARS:
        raise AuditKeyError(
            f"audit key from {source} is {len(key)} characters; at least {MIN_KEY_CHARS} needed"
        )
    return key.encode("utf-8")


def local_key_path(state_dir: Path) -> Path:
    return Path(state_dir) / "audit" / "hmac.key"


def create_key_file(path: Path) -> None:
    """A fresh random key, readable by its owner only (created atomically, never overwritten)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32) + "\n")


def load_key(state_dir: Path | None, env: Mapping[str, str] | None = None, *, create: bool = False) -> bytes:
    env = os.environ if env is None else env
    if env.get(KEY_ENV):
        return parse_key(env[KEY_ENV], f"${KEY_ENV}")
    candidates = [Path(env[KEY_FILE_ENV])] if env.get(KEY_FILE_ENV) else []
    if state_dir is not None:
        candidates.append(local_key_path(state_dir))
    for path in candidates:
        if path.is_file():
            return parse_key(path.read_text(), str(path))
    if create and state_dir is not None and not env.get(KEY_FILE_ENV):
        path = local_key_path(state_dir)
        try:
            create_key_file(path)
        except FileExistsError:
            pass  # another process created it first
        return parse_key(path.read_text(), str(path))
    where = [f"${KEY_ENV}", *(str(p) for p in candidates)]
    raise AuditKeyError(f"no audit key found (looked in {', '.join(where)})")
