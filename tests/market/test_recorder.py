"""Recording raw frames from the simulator and replaying them through the live codec."""

from __future__ import annotations

import gzip
import re
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
    with pytest.raises(RecordingError, match="record 4"):
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


def _write_v1(path, frames: list[tuple[int, str, str | bytes]]) -> None:
    """A recording as version 1 wrote it: JSON lines, each frame a JSON string (or base64)."""
    import base64
    import json

    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(
            json.dumps({"format": "tradingfloor.frames", "version": 1, "started_ms": 1, "meta": {"a": 1}})
            + "\n"
        )
        for t, src, raw in frames:
            rec = {"t": t, "src": src}
            if isinstance(raw, bytes):
                rec["raw_b64"] = base64.b64encode(raw).decode()
            else:
                rec["raw"] = raw
            fh.write(json.dumps(rec, separators=(",", ":")) + "\n")


def _simulated_frames(minutes: int) -> list[tuple[int, str, str | bytes]]:
    """Venue-shaped frames of a simulated stretch, with the odd bad and binary frame among them."""
    import json
    from decimal import Decimal

    from tradingfloor.market.codec import event_to_json
    from tradingfloor.market.events import LastTrade, NewMarket
    from tradingfloor.sim import wire
    from tradingfloor.sim.model import SimConfig, simulate

    out: list[tuple[int, str, str | bytes]] = []
    for ev in simulate(SimConfig(seed=3), minutes * 60_000):
        if isinstance(ev, PriceChange):
            frame = wire.price_change_message(ev.market_id, ev.ts_ms, [(ev, None, None)])
        elif isinstance(ev, LastTrade):
            frame = wire.last_trade_message(ev)
        elif isinstance(ev, SpotTick):
            out.append(
                (
                    ev.ts_ms,
                    "spot",
                    json.dumps(wire.spot_update(ev.asset, ev.price, ev.volume, ev.ts_ms, ev.ts_ms)),
                )
            )
            continue
        elif isinstance(ev, NewMarket):
            out.append((ev.ts_ms, "listing", event_to_json(ev)))
            frame = wire.new_market_message(ev, Decimal("0.2"))
        else:
            continue
        out.append((ev.ts_ms, "market", json.dumps(frame)))
    out[5:5] = [
        (out[4][0], "market", "PONG"),
        (out[4][0], "market", b"\xff\xfe"),
        (out[4][0], "market", '{"event_type": "x"}'),
    ]
    return out


def test_old_and_converted_recordings_replay_to_identical_event_streams(tmp_path):
    from tradingfloor.market.recorder import convert_recording, read_header

    frames = _simulated_frames(20)
    old, new = tmp_path / "old.jsonl.gz", tmp_path / "new.frames.gz"
    _write_v1(old, frames)
    assert convert_recording(old, new) == len(frames)
    assert read_header(new)["version"] == 2 and read_header(new)["meta"]["a"] == 1
    assert list(read_frames(new)) == list(read_frames(old)) == frames  # bytes and text kept as they were
    old_events, new_events = list(replay_events(old)), list(replay_events(new))
    assert len(old_events) > 1000 and old_events == new_events
    sample = next(raw for _, src, raw in frames if src == "market" and isinstance(raw, str) and '"' in raw)
    with gzip.open(new, "rb") as fh:  # frames are stored as their bytes, not escaped into JSON strings
        assert sample.encode() in fh.read()


def test_record_convert_command(tmp_path):
    from typer.testing import CliRunner

    from tradingfloor.cli import app

    frames = _simulated_frames(2)
    old, new = tmp_path / "old.jsonl.gz", tmp_path / "new.frames.gz"
    _write_v1(old, frames)
    result = CliRunner().invoke(app, ["record-convert", str(old), str(new)])
    assert result.exit_code == 0 and f"{len(frames)} frames" in result.output, result.output
    assert list(read_frames(new)) == frames
    alien = tmp_path / "alien.gz"
    with gzip.open(alien, "wt") as fh:
        fh.write('{"hello": 1}\n')
    result = CliRunner().invoke(app, ["record-convert", str(alien), str(tmp_path / "x.gz")])
    said = re.sub(r"[\s│]+", " ", result.output)  # the error box wraps lines
    assert result.exit_code != 0 and "not a tradingfloor.frames recording" in said, said


def test_highly_compressible_multi_member_recording_reads_back_in_bounded_pieces(tmp_path):
    """Frames that compress ~1000x come back whole and in order, across a second gzip member
    (a recording appended to), while no decompressed piece exceeds the reader's piece size."""
    from tradingfloor.market import recorder

    path = tmp_path / "dense.frames.gz"
    frame = '{"event_type":"book","bids":[' + ",".join(['{"price":"0.5","size":"1"}'] * 4000) + "]}"
    rec = FrameRecorder(path, compresslevel=1)
    for i in range(60):  # ~6.5 MB decompressed from a few kilobytes
        rec.write("market", frame, 1_000 + i)
    rec.close()
    with gzip.open(path, "ab") as more:  # a second member, as an appended recording has
        more.write(b"2000 market 2\n{}\n")
    rows = list(read_frames(path))
    assert [t for t, _, _ in rows] == [1_000 + i for i in range(60)] + [2000]
    assert all(raw == frame for _, _, raw in rows[:60]) and rows[60][2] == "{}"
    with open(path, "rb") as fh:
        pieces = [len(p) for p in recorder._decompressed(fh, 0)]
    assert max(pieces) <= recorder._PIECE and sum(pieces) > 6 * recorder._PIECE
