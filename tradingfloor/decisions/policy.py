"""The floor's decision thresholds and evidence bar, in one validated object.

Defaults are the seed's rules (win rate < 45 % for 24 h → retire, > 60 % → clone, Sharpe < 0.5 for
7 days → reduce size, drawdown > 20 % → pause), plus the statistical bar a clone or a retirement
must clear so a lucky or unlucky streak never decides. The clone defaults (6 h hold, 20 trades,
97.5 % confidence) were changed from the seed's (24 h, 100, 95 %) on bench_evolution's measurements:
over 3,000 null floor-days they clone 3.3 % of no-edge families and clone a planted edge after 1.38 ×
its minimum track record length (docs/floor-boss.md).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

HOUR = 3600.0
DAY = 24 * HOUR


class FloorPolicy(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    # --- evolution thresholds (seed) ---
    retire_win_rate: Annotated[
        float, Meta(gt=0, lt=1, description="Win rate below this, held for retire_after_seconds, retires.")
    ] = 0.45
    retire_after_seconds: Annotated[float, Meta(ge=0)] = DAY
    clone_win_rate: Annotated[
        float, Meta(gt=0, lt=1, description="Win rate above this, held for clone_after_seconds, clones.")
    ] = 0.60
    clone_after_seconds: Annotated[
        float,
        Meta(
            ge=0,
            description="How long the clone signal must hold (the seed's 24 h cost a fast edge a day of trades).",
        ),
    ] = 6 * HOUR
    reduce_sharpe: Annotated[
        float, Meta(description="Sharpe below this, held for reduce_after_seconds, reduces size.")
    ] = 0.5
    reduce_after_seconds: Annotated[float, Meta(ge=0)] = 7 * DAY
    reduce_factor: Annotated[
        float, Meta(gt=0, le=1, description="Size multiplier applied while reduced.")
    ] = 0.5

    # --- pause ceilings: an agent's spec.risk may be stricter, never looser ---
    max_drawdown: Annotated[float, Meta(gt=0, le=1)] = 0.20
    max_consecutive_losses: Annotated[int, Meta(ge=1)] = 5
    max_daily_loss: Annotated[
        float, Meta(gt=0, le=1, description="Daily loss as a fraction of the agent's capital.")
    ] = 0.10

    # --- evidence bar ---
    confidence: Annotated[
        float,
        Meta(
            gt=0.5,
            lt=1,
            description="One-sided confidence before deflation for the number of variants; above 0.95 because the "
            "bar is re-checked at every review (see docs/floor-boss.md, measured by bench_evolution).",
        ),
    ] = 0.975
    break_even_win_rate: Annotated[
        float,
        Meta(
            gt=0,
            lt=1,
            description="Reference break-even (≈0.518 buying at 0.50 with a 7 % fee rate): used for agents that do not "
            "report their own per-trade break-even; the win-rate signals are stated at it and move with each "
            "agent's own.",
        ),
    ] = 0.52
    min_trades_clone: Annotated[
        int,
        Meta(
            ge=1,
            description="A floor under the statistics: skewness and kurtosis from fewer trades are noise.",
        ),
    ] = 20
    min_trades_retire: Annotated[int, Meta(ge=1)] = 50

    # --- cloning limits ---
    max_children: Annotated[int, Meta(ge=0, description="Clones one agent may have.")] = 3
    clone_cooldown_seconds: Annotated[
        float, Meta(ge=0, description="Minimum time between two clones of one agent.")
    ] = DAY
    max_family_size: Annotated[
        int, Meta(ge=1, description="Agents sharing one lineage root, originals included.")
    ] = 16
    max_generation: Annotated[int, Meta(ge=1)] = 10
    variation_step: Annotated[
        float, Meta(gt=0, lt=1, description="Relative parameter change per variation step.")
    ] = 0.10

    # --- floor-wide circuit breakers ---
    floor_daily_loss: Annotated[
        float, Meta(gt=0, le=1, description="Floor daily loss as a fraction of all agents' capital.")
    ] = 0.05
    api_error_rate: Annotated[float, Meta(gt=0, le=1)] = 0.20
    api_min_requests: Annotated[
        int, Meta(ge=1, description="Requests needed before the error rate counts.")
    ] = 20
    database_failures_to_open: Annotated[
        int, Meta(ge=1, description="Consecutive failed database probes before DatabaseUnreachable opens.")
    ] = 3

    # --- heartbeats ---
    heartbeat_misses: Annotated[int, Meta(ge=1, description="Missed heartbeat windows before a restart.")] = 3

    # --- rollouts ---
    template_roll_interval_seconds: Annotated[
        float,
        Meta(
            ge=0,
            description="Seconds between two agents started again in Pods of a new template (an upgraded "
            "Floor Boss moves the floor one agent at a time); 0: all at once.",
        ),
    ] = 10.0
