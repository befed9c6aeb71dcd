"""PostgreSQL persistence, the floor's source of truth.

- :mod:`.db` — connections and pools with retry, JSON codecs, outage classification, (URLs are redacted by
  :mod:`tradingfloor.observability.redact`).
- :mod:`.migrate` — numbered SQL migrations under an advisory lock (``migrate(url)`` at start-up).
- :mod:`.repositories` — typed rows and one function per query.
- :mod:`.journal` — the local journal and the :class:`DurableWriter` (exactly-once replay).
"""

from tradingfloor.persistence.db import (
    Database,
    DatabaseError,
    DatabaseUnavailable,
    connect,
    create_pool,
    is_unavailable,
)
from tradingfloor.persistence.migrate import migrate

__all__ = [
    "Database",
    "DatabaseError",
    "DatabaseUnavailable",
    "connect",
    "create_pool",
    "is_unavailable",
    "migrate",
]
