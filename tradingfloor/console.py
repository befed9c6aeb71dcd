"""One console for every command: a terminal gets colour and its width; a pipe or a file gets plain
text, one line per message, and tables as wide as their content (nothing is ever cut to 80 columns)."""

from __future__ import annotations

from rich.console import Console

PIPE_WIDTH = 10_000  # wide enough for any row; tables printed with expand=False take their content's width


def make_console(*, stderr: bool = False) -> Console:
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, width=PIPE_WIDTH, no_color=True, soft_wrap=True, highlight=False)
