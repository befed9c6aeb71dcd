"""Raw-frame recording and replay (format: docs/recording-format.md).

Version 2 (written here) is a gzip stream: a JSON header line, then per frame a short ASCII line
``<receive ms> <source> <byte count>[ b]`` followed by the frame's bytes exactly as they arrived
and a newline. No frame is escaped into a JSON string, so replay hands the codec the venue's own
bytes without parsing an outer document first. Version 1 (JSON lines with the frame as a JSON
string) is still read, and ``convert_recording`` rewrites it as version 2. Replay decodes frames
with the same codec the live stream uses, so a recording yields the events the live client saw.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO

from tradingfloor.market.codec import FrameError, decode_frame, decode_spot_frame, event_from_json
from tradingfloor.market.events import MarketEvent

FORMAT = "tradingfloor.frames"
VERSION = 2
READABLE_VERSIONS = (1, 2)
SOURCES = frozenset({"market", "spot", "listing"})
MAX_RECORD_BYTES = 64 * 1024 * 1024


class RecordingError(ValueError):
    """A recording file that cannot be read; says which record and why."""


def _header(meta: dict | None) -> bytes:
    head = {"format": FORMAT, "version": VERSION, "started_ms": int(time.time() * 1000), "meta": meta or {}}
    return json.dumps(head).encode() + b"\n"


class FrameRecorder:
    def __init__(self, path: str | Path, meta: dict | None = None, compresslevel: int = 6) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = gzip.open(self.path, "wb", compresslevel=compresslevel)
        self._fh.write(_header(meta))
        self.frames = 0

    def write(self, src: str, raw: str | bytes, recv_ms: int) -> None:
        if src not in SOURCES or " " in src:
            raise ValueError(f"unknown frame source {src!r}; expected one of {sorted(SOURCES)}")
        if isinstance(raw, str):
            data, flag = raw.encode(), b""
        else:
            data, flag = bytes(raw), b" b"  # a binary WebSocket frame
        self._fh.write(b"%d %s %d%s\n" % (recv_ms, src.encode(), len(data), flag))
        self._fh.write(data)
        self._fh.write(b"\n")
        self.frames += 1

    def sink(self, src: str) -> Callable[[str | bytes, int], None]:
        """A ``raw_sink`` callback for ``MarketStream`` (and friends)."""
        return lambda raw, recv_ms: self.write(src, raw, recv_ms)

    def close(self) -> None:
        self._fh.close()


def _read_header(fh: gzip.GzipFile, path: str | Path) -> tuple[int, int]:
    """(version, header length in bytes)."""
    line = fh.readline(1 << 20)
    try:
        header = json.loads(line)
    except ValueError:
        raise RecordingError(f"{path}: line 1 is not a JSON header") from None
    if (
        not isinstance(header, dict)
        or header.get("format") != FORMAT
        or header.get("version") not in READABLE_VERSIONS
    ):
        raise RecordingError(
            f"{path}: not a {FORMAT} recording of version {READABLE_VERSIONS} (header {line[:80]!r})"
        )
    return int(header["version"]), len(line)


def read_header(path: str | Path) -> dict:
    with gzip.open(path, "rb") as fh:
        _read_header(fh, path)
        fh.seek(0)
        return dict(json.loads(fh.readline(1 << 20)))


_PIECE = 1 << 20  # decompressed bytes per zlib call: frames compress 10-40x, so unbounded calls
# on a megabyte of input made pieces of tens of megabytes (and as much again to join them)


def _decompressed(fh: IO[bytes], skip: int) -> Iterator[bytes]:
    """The file's decompressed bytes in pieces of at most a megabyte (gzip members in sequence),
    minus the first ``skip`` bytes. One zlib call per megabyte instead of a Python-level read per
    frame, and memory bounded by the piece size whatever the compression ratio."""
    inflater = zlib.decompressobj(31)
    pending = skip
    while True:
        chunk = fh.read(1 << 18)
        if not chunk:
            break
        while chunk:
            out = inflater.decompress(chunk, _PIECE)
            if pending:
                cut = min(pending, len(out))
                out, pending = out[cut:], pending - cut
            if out:
                yield out
            if inflater.eof:  # another gzip member may follow
                chunk = inflater.unused_data
                inflater = zlib.decompressobj(31)
            else:
                chunk = inflater.unconsumed_tail  # what the piece limit left for the next call
    tail = inflater.flush()
    if tail:
        yield tail


def _frames_v2(
    pieces: Iterator[bytes], path: str | Path, as_text: bool
) -> Iterator[tuple[int, str, str | bytes]]:
    n = 1
    sources: dict[bytes, str] = {s.encode(): s for s in SOURCES}
    buf = b""
    pos = 0
    for piece in pieces:
        buf = buf[pos:] + piece if pos < len(buf) else piece
        pos = 0
        end = len(buf)
        while True:
            nl = buf.find(b"\n", pos, pos + 128)
            if nl < 0:
                if end - pos >= 128:
                    raise RecordingError(f"{path}: record {n + 1}: no record header")
                break  # the header continues in the next piece
            parts = buf[pos:nl].split(b" ")
            try:
                recv_ms, src, size = int(parts[0]), sources[parts[1]], int(parts[2])
                if not 0 <= size <= MAX_RECORD_BYTES or len(parts) > 4:
                    raise ValueError(f"bad record header {buf[pos:nl][:60]!r}")
            except (ValueError, IndexError, KeyError) as exc:
                raise RecordingError(f"{path}: record {n + 1}: {type(exc).__name__}: {exc}"[:200]) from None
            stop = nl + 1 + size
            if stop >= end:
                break  # the frame continues in the next piece
            if buf[stop] != 10:  # b"\n"
                raise RecordingError(f"{path}: record {n + 1}: frame not followed by a newline")
            n += 1
            data = buf[nl + 1 : stop]
            pos = stop + 1
            if as_text and len(parts) == 3:  # a text frame: hand back the text it was
                yield recv_ms, src, data.decode("utf-8", "surrogateescape")
            else:
                yield recv_ms, src, data
    if pos < len(buf):
        raise RecordingError(f"{path}: record {n + 1}: truncated ({len(buf) - pos} bytes left over)")


def _frames_v1(fh: gzip.GzipFile, path: str | Path) -> Iterator[tuple[int, str, str | bytes]]:
    for n, line in enumerate(fh, start=2):
        try:
            rec = json.loads(line)
            raw = rec["raw"] if "raw" in rec else base64.b64decode(rec["raw_b64"])
            yield int(rec["t"]), str(rec["src"]), raw
        except (ValueError, KeyError, TypeError) as exc:
            raise RecordingError(f"{path}: line {n}: {type(exc).__name__}: {exc}"[:200]) from None


def read_frames(path: str | Path, as_text: bool = True) -> Iterator[tuple[int, str, str | bytes]]:
    """(receive ms, source, raw frame) in file order: text frames as str, binary frames as bytes
    (with ``as_text=False`` every version-2 frame comes as its bytes: what the codec reads
    fastest). A damaged record raises ``RecordingError``."""
    with gzip.open(path, "rb") as fh:
        try:
            version, header_len = _read_header(fh, path)
            if version == 1:
                yield from _frames_v1(fh, path)
                return
        except (OSError, EOFError) as exc:  # a damaged gzip stream
            raise RecordingError(f"{path}: {type(exc).__name__}: {exc}"[:200]) from None
    with open(path, "rb") as raw:
        try:
            yield from _frames_v2(_decompressed(raw, header_len), path, as_text)
        except (zlib.error, EOFError) as exc:  # a damaged gzip stream
            raise RecordingError(f"{path}: {type(exc).__name__}: {exc}"[:200]) from None


def convert_recording(src: str | Path, dst: str | Path, compresslevel: int = 6) -> int:
    """Rewrite a recording (any readable version) as the current version; returns frames written.
    Frames keep their bytes, sources and receive times; the header's meta is carried over."""
    meta = read_header(src).get("meta") or {}
    rec = FrameRecorder(dst, meta={**meta, "converted_from": str(src)}, compresslevel=compresslevel)
    try:
        for recv_ms, source, raw in read_frames(src):
            rec.write(source, raw, recv_ms)
    finally:
        rec.close()
    return rec.frames


def decode_recorded(src: str, raw: str | bytes) -> tuple[list[MarketEvent], list[FrameError]]:
    if src == "listing":  # a round discovered through Gamma (normalized: Gamma is not a frame feed)
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
    for recv_ms, src, raw in read_frames(path, as_text=False):
        if src == "market":
            events: list = decode_frame(raw)[0]
        else:
            events = decode_recorded(src, raw)[0]
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
