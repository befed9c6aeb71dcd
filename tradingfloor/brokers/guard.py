"""The two-key live-trading opt-in, as pure logic: the agent's manifest says ``mode: live`` AND the
floor allows live trading AND the Polymarket credentials are present. Anything less is refused."""

from __future__ import annotations

from typing import Protocol


class LiveTradingRefused(RuntimeError):
    """Live trading was asked for (or attempted) without every key turned; names the missing ones."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        super().__init__("live trading refused: " + "; ".join(missing))


class _Spec(Protocol):
    mode: str


class _Settings(Protocol):
    @property
    def allow_live_trading(self) -> bool: ...

    @property
    def has_live_credentials(self) -> bool: ...


def missing_live_keys(spec: _Spec, settings: _Settings) -> list[str]:
    """What stands between this agent and live trading (empty when everything is turned)."""
    missing = []
    if spec.mode != "live":
        missing.append(f"spec.mode is {spec.mode!r}, not 'live'")
    if not settings.allow_live_trading:
        missing.append("the floor does not allow live trading (FLOOR_ALLOW_LIVE_TRADING is not true)")
    if not settings.has_live_credentials:
        missing.append(
            "Polymarket credentials are missing (POLYMARKET_PRIVATE_KEY, POLYMARKET_API_KEY, "
            "POLYMARKET_SECRET, POLYMARKET_PASSPHRASE)"
        )
    return missing


def require_live_allowed(spec: _Spec, settings: _Settings) -> None:
    missing = missing_live_keys(spec, settings)
    if missing:
        raise LiveTradingRefused(missing)
