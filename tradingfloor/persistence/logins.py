"""Database logins for the least-privilege roles of migration 0090: one login per agent, in its
kind's group role, so every agent process connects with only what its kind may do.

A login is named ``tf_<kind>_<digest of database and agent>``: the underscore keeps it apart from
every agent name (RFC 1123 labels have none), and the database in the digest keeps floors that share
a PostgreSQL cluster (roles are cluster-wide) from resetting each other's passwords. Row-level
security finds the agent a login speaks for in ``agent_logins`` (migration 0096), which only the
migration owner writes.

Creating logins needs a role with CREATEROLE (the floor's migration owner). Without one — a managed
database whose admin did not grant it — ``LoginsUnavailable`` says why, and the caller decides
whether agents may fall back to the owner's URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

# kind of process → its group role (migrations 0090 and 0096)
GROUPS = {
    "trader": "tf_trader",
    "auditor": "tf_auditor",
    "monitor": "tf_monitor",
    "collector": "tf_collector",
    "floor": "tf_floor",
}
# an agent's manifest kind → the kind of its login
AGENT_KINDS = {"TraderAgent": "trader", "Auditor": "auditor", "Monitor": "monitor"}


class LoginsUnavailable(RuntimeError):
    """Per-kind logins cannot be made on this database; the message says why and what to do."""


def login_name(database: str, kind: str, agent: str | None = None) -> str:
    """The login of ``agent`` (or of the kind's shared process, e.g. a collector) in ``database``."""
    if kind not in GROUPS:
        raise ValueError(f"unknown login kind {kind!r} (one of {', '.join(GROUPS)})")
    digest = hashlib.sha256(f"{database}\0{kind}\0{agent or ''}".encode()).hexdigest()[:24]
    return f"tf_{kind}_{digest}"


def with_user(url: str, user: str, password: str) -> str:
    """``url`` with its user and password replaced (host, port, database and options kept)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass
class PasswordFile:
    """Generated login passwords, kept owner-only (0600) in one JSON file: never on a command line,
    never in a log; a restarted floor reuses them."""

    path: Path

    def password(self, login: str) -> str:
        known = self._read()
        if login not in known:
            known[login] = secrets.token_urlsafe(32)
            self._write(known)
        return known[login]

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            raise LoginsUnavailable(f"{self.path} is not JSON: delete it to generate new passwords") from None
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _write(self, known: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(json.dumps(known))
        tmp.replace(self.path)


class PasswordSource(Protocol):
    def password(self, login: str) -> str: ...


@dataclass(frozen=True)
class DerivedPasswords:
    """Passwords derived from a secret only the migration owner's holder knows (the operator's
    DATABASE_URL): stable across operator restarts with nothing stored, distinct per login, and no
    login can derive another's."""

    secret: str

    def password(self, login: str) -> str:
        digest = hmac.new(self.secret.encode(), f"tradingfloor-login\0{login}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


_PRIVILEGED = "rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls"


async def ensure_login(admin: asyncpg.Connection, login: str, group: str, password: str) -> None:
    """Create (or reset) ``login`` with ``password``, member of ``group`` and nothing more. Refuses
    to touch an existing role that holds more than a login may (it is not one of ours)."""
    ready = await admin.fetchrow(
        "SELECT current_user AS me,"
        " (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) AS may,"
        " EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS has_group",
        group,
    )
    if not ready["may"]:
        raise LoginsUnavailable(
            "the database user may not create roles (CREATEROLE): have an admin create the agents' "
            "logins (docs/security.md), or connect the floor as a user that may"
        )
    if not ready["has_group"]:
        raise LoginsUnavailable(
            f"group role {group} is missing: run the migrations as a user with CREATEROLE"
        )
    existing = await admin.fetchval(f"SELECT {_PRIVILEGED} FROM pg_roles WHERE rolname = $1", login)
    if existing:
        raise LoginsUnavailable(
            f"role {login} exists with more privileges than a login may hold: not using it"
        )
    # identifiers and the password are quoted by the server's format(), never spliced in here
    verb = "CREATE" if existing is None else "ALTER"
    statement = await admin.fetchval(
        "SELECT format('%s ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
        "NOBYPASSRLS INHERIT PASSWORD %L', $1::text, $2::text, $3::text)",
        verb,
        login,
        password,
    )
    await admin.execute(statement)
    try:
        await admin.execute(
            await admin.fetchval("SELECT format('GRANT %I TO %I', $1::text, $2::text)", group, login)
        )
    except asyncpg.InsufficientPrivilegeError:
        # PostgreSQL 16+: granting a role needs ADMIN OPTION on it, which only its creator gets; the
        # group roles are cluster-wide, so a second floor's owner on the same server lacks it
        me = ready["me"]
        raise LoginsUnavailable(
            f"{me} may not grant {group} (created by another user of this PostgreSQL server; "
            f"PostgreSQL 16+ needs ADMIN OPTION): have an admin run "
            f'GRANT {group} TO "{me}" WITH ADMIN OPTION (for each tf_ group role), '
            "or connect the floor as the user that created them"
        ) from None


@dataclass
class DatabaseLogins:
    """Per-agent database URLs for a floor whose migration owner connects with ``admin_url``."""

    admin_url: str
    passwords: PasswordSource
    _urls: dict[tuple[str, str | None], str] = field(default_factory=dict)

    @property
    def database(self) -> str:
        return urlsplit(self.admin_url).path.lstrip("/") or "postgres"

    async def url_for(self, kind: str, agent: str | None = None) -> str:
        """The URL ``agent`` (of manifest kind ``TraderAgent``/``Auditor``/``Monitor``, or login kind
        ``collector``/``floor`` with no agent) connects with; its login is made on first use."""
        login_kind = AGENT_KINDS.get(kind, kind)
        key = (login_kind, agent)
        if key not in self._urls:
            login = login_name(self.database, login_kind, agent)
            password = self.passwords.password(login)
            admin = await asyncpg.connect(self.admin_url)
            try:
                async with admin.transaction():
                    await ensure_login(admin, login, GROUPS[login_kind], password)
                    if agent is not None:  # row-level security: which agent this login speaks for
                        await admin.execute(
                            "INSERT INTO agent_logins (login, agent, kind) VALUES ($1, $2, $3)"
                            " ON CONFLICT (login) DO UPDATE SET agent = excluded.agent, kind = excluded.kind",
                            login,
                            agent,
                            login_kind,
                        )
            finally:
                await admin.close()
            self._urls[key] = with_user(self.admin_url, login, password)
        return self._urls[key]

    async def disable(self, kind: str, agent: str) -> bool:
        """A retired agent gives its login back: the role stays (with its ``agent_logins`` row, for
        the record) but may no longer log in; a later ``url_for`` re-enables it. True when a login
        was disabled, False when the agent never had one."""
        login_kind = AGENT_KINDS.get(kind, kind)
        login = login_name(self.database, login_kind, agent)
        self._urls.pop((login_kind, agent), None)
        admin = await asyncpg.connect(self.admin_url)
        try:
            privileged = await admin.fetchval(f"SELECT {_PRIVILEGED} FROM pg_roles WHERE rolname = $1", login)
            if privileged is None or privileged:
                return False  # none, or not one of ours (ensure_login refuses those too)
            await admin.execute(
                await admin.fetchval("SELECT format('ALTER ROLE %I NOLOGIN', $1::text)", login)
            )
        finally:
            await admin.close()
        return True
