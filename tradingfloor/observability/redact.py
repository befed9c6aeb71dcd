"""Connection URLs with their passwords hidden, for logs and error messages.

Shared by every adapter that names its server (PostgreSQL, Redis) so none of them has to import
another adapter just to print a URL safely.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_KV_PASSWORD = re.compile(r"(password\s*=\s*)(\S+)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL (or libpq ``key=value`` string) with any password replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _KV_PASSWORD.sub(r"\1***", url)
    if not parts.scheme or not parts.netloc:
        return _KV_PASSWORD.sub(r"\1***", url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{hostport}"
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
