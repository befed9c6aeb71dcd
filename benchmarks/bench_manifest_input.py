"""How fast hostile manifest files are refused (and a good one read): each case through
``tradingfloor.models.yaml_input.load_documents``, the reader behind ``floor validate``.

    .venv/bin/python benchmarks/bench_manifest_input.py
"""

from __future__ import annotations

import time
from pathlib import Path

from tradingfloor.models.yaml_input import YAMLInputError, load_documents

ROOT = Path(__file__).resolve().parents[1]


def alias_bomb() -> bytes:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return ("\n".join(lines) + "\n").encode()


CASES = {
    "good manifest (examples/momentum-btc.yaml)": (ROOT / "examples" / "momentum-btc.yaml").read_bytes(),
    "alias bomb (9^9 values)": alias_bomb(),
    "20,000-deep flow nesting": b"spec: " + b"[" * 20000 + b"]" * 20000 + b"\n",
    "3 MiB of '['": b"a: " + b"[" * (3 * 1024 * 1024 - 10),
    "3 MiB list of scalars": b"- a\n" * (3 * 1024 * 1024 // 4 - 10),
    "2,400-deep block nesting": b"".join(b" " * i + b"a:\n" for i in range(2400)),
    "over 3 MiB": b"# " + b"x" * (3 * 1024 * 1024) + b"\n",
}


def main() -> None:
    for name, data in CASES.items():
        start = time.perf_counter()
        try:
            load_documents(data, "bench")
            verdict = "accepted"
        except YAMLInputError as exc:
            verdict = str(exc).removeprefix("bench: ")[:60]
        print(f"{name:45s} {1000 * (time.perf_counter() - start):9.1f} ms  {verdict}")


if __name__ == "__main__":
    main()
