"""The floor's decision thresholds and evidence bar, in one validated object.

Defaults are the seed's rules (win rate < 45 % for 24 h → retire, > 60 % → clone, Sharpe < 0.5 for
7 days → reduce size, drawdown > 20 % → pause), plus the statistical bar a clone or a retirement
must clear so a lucky or unlucky streak never decides. The clone defaults (6 h hold, 20 trades,
97.5 % confidence) were changed from the seed's (24 h, 100, 95 %) on bench_evolution's measurements:
over 3,000 null floor-days they clone 3.3 % of no-edge families and clone a planted edge after 1.38 ×
its minimum track record length (docs/floor-boss.md).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

HOUR = 3600.0
DAY = 24 * HOUR


class FloorPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- evolution thresholds (seed) ---
    retire_win_rate: float = Field(
        0.45, gt=0, lt=1, description="Win rate below this, held for retire_after_seconds, retires."
    )
    retire_after_seconds: float = Field(DAY, ge=0)
    clone_win_rate: float = Field(
        0.60, gt=0, lt=1, description="Win rate above this, held for clone_after_seconds, clones."
    )
    clone_after_seconds: float = Field(
        6 * HOUR,
        ge=0,
        description="How long the clone signal must hold (the seed's 24 h cost a fast edge a day of trades).",
    )
    reduce_sharpe: float = Field(
        0.5, description="Sharpe below this, held for reduce_after_seconds, reduces size."
    )
    reduce_after_seconds: float = Field(7 * DAY, ge=0)
    reduce_factor: float = Field(0.5, gt=0, le=1, description="Size multiplier applied while reduced.")

    # --- pause ceilings: an agent's spec.risk may be stricter, never looser ---
    max_drawdown: float = Field(0.20, gt=0, le=1)
    max_consecutive_losses: int = Field(5, ge=1)
    max_daily_loss: float = Field(
        0.10, gt=0, le=1, description="Daily loss as a fraction of the agent's capital."
    )

    # --- evidence bar ---
    confidence: float = Field(
        0.975,
        gt=0.5,
        lt=1,
        description=(
            "One-sided confidence before deflation for the number of variants; above 0.95 because the "
            "bar is re-checked at every review (see docs/floor-boss.md, measured by bench_evolution)."
        ),
    )
    break_even_win_rate: float = Field(
        0.52,
        gt=0,
        lt=1,
        description=(
            "Reference break-even (≈0.518 buying at 0.50 with a 7 % fee rate): used for agents that do not "
            "report their own per-trade break-even; the win-rate signals are stated at it and move with each "
            "agent's own."
        ),
    )
    min_trades_clone: int = Field(
        20,
        ge=1,
        description="A floor under the statistics: skewness and kurtosis from fewer trades are noise.",
    )
    min_trades_retire: int = Field(50, ge=1)

    # --- cloning limits ---
    max_children: int = Field(3, ge=0, description="Clones one agent may have.")
    clone_cooldown_seconds: float = Field(
        DAY, ge=0, description="Minimum time between two clones of one agent."
    )
    max_family_size: int = Field(16, ge=1, description="Agents sharing one lineage root, originals included.")
    max_generation: int = Field(10, ge=1)
    variation_step: float = Field(
        0.10, gt=0, lt=1, description="Relative parameter change per variation step."
    )

    # --- floor-wide circuit breakers ---
    floor_daily_loss: float = Field(
        0.05, gt=0, le=1, description="Floor daily loss as a fraction of all agents' capital."
    )
    api_error_rate: float = Field(0.20, gt=0, le=1)
    api_min_requests: int = Field(20, ge=1, description="Requests needed before the error rate counts.")
    database_failures_to_open: int = Field(
        3, ge=1, description="Consecutive failed database probes before DatabaseUnreachable opens."
    )

    # --- heartbeats ---
    heartbeat_misses: int = Field(3, ge=1, description="Missed heartbeat windows before a restart.")
