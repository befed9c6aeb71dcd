"""Following rounds by both paths against the simulator speaking the venue's ``new_market`` shape."""

from __future__ import annotations

from tradingfloor.market.clob import ClobRest
from tradingfloor.market.events import BookSnapshot, NewMarket
from tradingfloor.market.gamma import GammaClient
from tradingfloor.market.record import record
from tradingfloor.market.recorder import replay_events
from tradingfloor.market.rounds import RoundTracker

from .conftest import FAST


async def test_recorder_follows_every_round_by_both_paths(sim, tmp_path):
    path = tmp_path / "rounds.frames.gz"
    found: dict[str, int] = {}
    wall_s = 4 * 900 / FAST  # four 15-minute rounds
    await record(
        path,
        "BTC",
        "15m",
        wall_s,
        gamma_url=sim.url,
        clob_url=sim.url,
        market_ws_url=sim.market_ws_url,
        discover_every=0.3,
        rounds_found=found,
    )
    events = [ev for _, ev in replay_events(path)]
    listed = {ev.info.market_id: ev.info for ev in events if isinstance(ev, NewMarket)}
    booked = {ev.market_id for ev in events if isinstance(ev, BookSnapshot)}
    assert len(listed) >= 4, sorted(i.slug for i in listed.values())
    # every round that opened while recording has its listing and, but for the newest (which may
    # still wait for its first snapshot on a loaded machine), its book in the recording
    first = min(i.start_ms for i in listed.values())
    end = max(ev.ts_ms for ev in events)
    opened = sorted((i for i in listed.values() if first < i.start_ms <= end), key=lambda i: i.start_ms)
    # a round found before it started is read again once open: its price to beat is recorded
    assert all(i.price_to_beat is not None for i in opened[:-1]), [
        i.slug for i in opened if i.price_to_beat is None
    ]
    missing = [i.slug for i in opened[:-1] if i.market_id not in booked]
    assert len(opened) >= 3 and not missing, (missing, [i.slug for i in opened], end)
    # both paths worked on their own: each found the later rounds
    assert found["new_market"] >= 3 and found["discovery"] >= 4, found


async def test_a_round_whose_new_market_is_lost_is_found_by_discovery(sim, http):
    """No market stream at all here (every new_market lost): discovery alone picks rounds up."""
    clob = ClobRest(sim.url, http)
    tracker = RoundTracker(GammaClient(sim.url, http), "BTC", "15m", rounds_ahead=1, retries=0)
    now = await clob.server_time_ms()
    first = await tracker.discover(now)
    assert first and tracker.counts() == {"new_market": 0, "discovery": len(first)}
    later = await tracker.discover(now + 900_000)  # a round on (the simulator lists one ahead)
    assert later and not {i.market_id for i in later} & {i.market_id for i in first}
    assert await tracker.discover(now + 900_000) == []  # found once, not again
