"""Progress of a long operation on a terminal: one status line, rewritten
at each step and cleared at the end.

Only a terminal sees it: when the stream is not a TTY (a pipe, a file, a
test) nothing is written, so the command's output stays parseable.
This module must not log or decide anything about the steps it shows.
"""

from __future__ import annotations

from typing import TextIO

# Carriage return, then erase to the end of the line.
_CLEAR = "\r\x1b[K"


class StepProgress:
    """``progress(server, step)`` shows ``server: step...``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = False
        try:
            self.enabled = stream.isatty()
        except (AttributeError, ValueError):
            self.enabled = False

    def __call__(self, server: str, step: str) -> None:
        if not self.enabled:
            return
        self.stream.write(f"{_CLEAR}{server}: {step}...")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write(_CLEAR)
            self.stream.flush()
            self.shown = False
