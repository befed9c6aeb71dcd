"""Recording raw frames from the simulator and replaying them through the live codec."""

from __future__ import annotations

import gzip
import time

import pytest

from tradingfloor.market.book import OrderBook
from tradingfloor.market.events import BookSnapshot, PriceChange, SpotTick, TickSizeChange
from tradingfloor.market.record import record
from tradingfloor.market.recorder import FrameRecorder, RecordingError, read_frames, replay, replay_events


async def test_record_then_replay_full_speed_and_realtime(sim, tmp_path):
    path = tmp_path / "btc.jsonl.gz"
    frames = await record(
        path,
        "BTC",
        "15m",
        1.5,
        gamma_url=sim.url,
        clob_url=sim.url,
        market_ws_url=sim.market_ws_url,
        spot_ws_url=sim.spot_ws_url,
    )
    assert frames > 20
    rows = list(read_frames(path))
    assert len(rows) == frames and {src for _, src, _ in rows} == {"listing", "market", "spot"}
    assert [t for t, _, _ in rows] == sorted(t for t, _, _ in rows)
    events = [ev for _, ev in replay_events(path)]
    assert any(isinstance(e, BookSnapshot) for e in events) and any(isinstance(e, SpotTick) for e in events)
    books: dict[str, OrderBook] = {}
    for ev in events:  # the replayed stream rebuilds uncrossed books
        if isinstance(ev, BookSnapshot):
            books.setdefault(ev.token_id, OrderBook()).apply_snapshot(ev)
        elif isinstance(ev, PriceChange) and ev.token_id in books:
            books[ev.token_id].apply_change(ev)
            assert not books[ev.token_id].is_crossed()
        elif isinstance(ev, TickSizeChange) and ev.token_id in books:
            books[ev.token_id].clear()
    assert books
    fast = [ev async for ev in replay(path)]
    assert fast == events
    span = (rows[-1][0] - rows[0][0]) / 1000
    t0 = time.monotonic()
    slow = [ev async for ev in replay(path, realtime=True, speed=4.0)]
    assert slow == events and time.monotonic() - t0 >= span / 4 * 0.8


def test_damaged_recordings_say_what_is_wrong(tmp_path):
    good = tmp_path / "ok.jsonl.gz"
    rec = FrameRecorder(good)
    rec.write("market", "PONG", 1)
    rec.write("market", b"\x00\x01", 2)
    rec.close()
    assert [r[2] for r in read_frames(good)] == ["PONG", b"\x00\x01"]
    bad = tmp_path / "bad.jsonl.gz"
    with gzip.open(good, "rt") as src, gzip.open(bad, "wt") as dst:
        dst.write(src.read() + '{"t": 3, "src": "market"}\n')
    with pytest.raises(RecordingError, match="line 4"):
        list(read_frames(bad))
    alien = tmp_path / "alien.jsonl.gz"
    with gzip.open(alien, "wt") as fh:
        fh.write('{"hello": 1}\n')
    with pytest.raises(RecordingError, match="not a tradingfloor.frames"):
        list(read_frames(alien))


async def test_floor_backtest_replays_a_recording(sim, tmp_path):
    """A recording carries its rounds' listings, so the backtester can trade it."""
    from typer.testing import CliRunner

    from tradingfloor.cli import app
    from tradingfloor.market.events import NewMarket

    path = tmp_path / "btc.jsonl.gz"
    await record(
        path,
        "BTC",
        "15m",
        1.5,
        gamma_url=sim.url,
        clob_url=sim.url,
        market_ws_url=sim.market_ws_url,
        spot_ws_url=sim.spot_ws_url,
    )
    listed = [ev for _, ev in replay_events(path) if isinstance(ev, NewMarket)]
    assert listed and all(ev.info.fee_rate > 0 and ev.info.up_token_id for ev in listed)
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        ["backtest", "--files", str(path), "--strategies", "momentum", "--assets", "BTC", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert (out / "report.json").exists() and (out / "equity.png").exists()
