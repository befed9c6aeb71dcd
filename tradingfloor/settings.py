"""Process settings from the environment (see ``.env.example``); one object, read once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import overload


@overload
def _env(name: str) -> str | None: ...
@overload
def _env(name: str, default: str) -> str: ...
def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from None


def _env_bool(name: str, default: bool = False) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"environment variable {name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    redis_url: str | None = None
    state_dir: Path = Path("var")
    log_level: str = "INFO"
    environment: str = "development"
    initial_capital: Decimal = Decimal("1000")
    heartbeat_interval: int = 30
    checkpoint_interval: int = 30
    allow_live_trading: bool = False  # the floor-wide key of the two-key live opt-in
    polymarket_api_key: str | None = field(default=None, repr=False)
    polymarket_secret: str | None = field(default=None, repr=False)
    polymarket_passphrase: str | None = field(default=None, repr=False)
    polymarket_private_key: str | None = field(default=None, repr=False)
    polymarket_chain_id: int = 137
    gamma_url: str = "https://gamma-api.polymarket.com"
    clob_url: str = "https://clob.polymarket.com"
    market_ws_url: str = "wss://ws-subscriptions-clob.polymarket.com/ws/market"

    @classmethod
    def from_env(cls) -> Settings:
        try:
            capital = Decimal(_env("INITIAL_CAPITAL", "1000"))
        except ArithmeticError:
            raise ValueError(
                f"environment variable INITIAL_CAPITAL must be a number, got {_env('INITIAL_CAPITAL')!r}"
            ) from None
        return cls(
            database_url=_env("DATABASE_URL"),
            redis_url=_env("REDIS_URL"),
            state_dir=Path(_env("FLOOR_STATE_DIR", "var")),
            log_level=_env("LOG_LEVEL", "INFO"),
            environment=_env("ENVIRONMENT", "development"),
            initial_capital=capital,
            heartbeat_interval=_env_int("HEARTBEAT_INTERVAL", 30),
            checkpoint_interval=_env_int("CHECKPOINT_INTERVAL", 30),
            allow_live_trading=_env_bool("FLOOR_ALLOW_LIVE_TRADING", False),
            polymarket_api_key=_env("POLYMARKET_API_KEY"),
            polymarket_secret=_env("POLYMARKET_SECRET"),
            polymarket_passphrase=_env("POLYMARKET_PASSPHRASE"),
            polymarket_private_key=_env("POLYMARKET_PRIVATE_KEY"),
            polymarket_chain_id=_env_int("POLYMARKET_CHAIN_ID", 137),
            gamma_url=_env("POLYMARKET_GAMMA_URL", cls.gamma_url),
            clob_url=_env("POLYMARKET_CLOB_URL", cls.clob_url),
            market_ws_url=_env("POLYMARKET_WS_URL", cls.market_ws_url),
        )

    @property
    def has_live_credentials(self) -> bool:
        return bool(
            self.polymarket_private_key
            and self.polymarket_api_key
            and self.polymarket_secret
            and self.polymarket_passphrase
        )
