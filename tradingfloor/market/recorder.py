"""Raw-frame recording and replay (format: docs/recording-format.md).

A recording is gzip-compressed JSON lines. Line 1 is a header
``{"format": "tradingfloor.frames", "version": 1, "started_ms": …, "meta": {…}}``; every other
line is one frame exactly as received: ``{"t": <receive ms>, "src": "market"|"spot", "raw": "<text>"}``
(binary frames as ``"raw_b64"``). Replay decodes frames with the same codec the live stream
uses, so a recording yields the same normalized events the live client produced.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from tradingfloor.market.codec import FrameError, decode_frame, decode_spot_frame, event_from_json
from tradingfloor.market.events import MarketEvent

FORMAT = "tradingfloor.frames"
VERSION = 1


class RecordingError(ValueError):
    """A recording file that cannot be read; says which line and why."""


class FrameRecorder:
    def __init__(self, path: str | Path, meta: dict | None = None, compresslevel: int = 6) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = gzip.open(self.path, "wt", encoding="utf-8", compresslevel=compresslevel)
        self._fh.write(
            json.dumps(
                {
                    "format": FORMAT,
                    "version": VERSION,
                    "started_ms": int(time.time() * 1000),
                    "meta": meta or {},
                }
            )
            + "\n"
        )
        self.frames = 0

    def write(self, src: str, raw: str | bytes, recv_ms: int) -> None:
        rec = {"t": recv_ms, "src": src}
        if isinstance(raw, bytes):
            rec["raw_b64"] = base64.b64encode(raw).decode()
        else:
            rec["raw"] = raw
        self._fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self.frames += 1

    def sink(self, src: str):
        """A ``raw_sink`` callback for ``MarketStream`` (and friends)."""
        return lambda raw, recv_ms: self.write(src, raw, recv_ms)

    def close(self) -> None:
        self._fh.close()


def read_frames(path: str | Path) -> Iterator[tuple[int, str, str | bytes]]:
    """(receive ms, source, raw frame) in file order; a damaged line raises ``RecordingError``."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        header_line = fh.readline()
        try:
            header = json.loads(header_line)
        except ValueError:
            raise RecordingError(f"{path}: line 1 is not a JSON header") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("version") != VERSION:
            raise RecordingError(f"{path}: not a {FORMAT} v{VERSION} recording (header {header_line[:80]!r})")
        for n, line in enumerate(fh, start=2):
            try:
                rec = json.loads(line)
                raw = rec["raw"] if "raw" in rec else base64.b64decode(rec["raw_b64"])
                yield int(rec["t"]), str(rec["src"]), raw
            except (ValueError, KeyError, TypeError) as exc:
                raise RecordingError(f"{path}: line {n}: {type(exc).__name__}: {exc}"[:200]) from None


def decode_recorded(src: str, raw: str | bytes) -> tuple[list[MarketEvent], list[FrameError]]:
    if src == "listing":  # the rounds discovered through Gamma when recording began (normalized)
        try:
            return [event_from_json(raw)], []
        except FrameError as exc:
            return [], [exc]
    if src == "spot":
        ticks, errors = decode_spot_frame(raw)
        return list(ticks), errors
    return decode_frame(raw)


def replay_events(path: str | Path) -> Iterator[tuple[int, MarketEvent]]:
    """Full speed: (receive ms, event) for every event of every frame. Malformed frames were
    recorded as received and are skipped here just as the live client skips them."""
    for recv_ms, src, raw in read_frames(path):
        events, _errors = decode_recorded(src, raw)
        for ev in events:
            yield recv_ms, ev


async def replay(path: str | Path, realtime: bool = False, speed: float = 1.0) -> AsyncIterator[MarketEvent]:
    """Events in recorded order; with ``realtime`` the original receive gaps are kept (÷ speed)."""
    first_recv = None
    wall0 = time.monotonic()
    for recv_ms, ev in replay_events(path):
        if realtime:
            if first_recv is None:
                first_recv = recv_ms
            due = wall0 + (recv_ms - first_recv) / 1000 / speed
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        yield ev
