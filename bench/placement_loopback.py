"""The embedded Placement's application served on loopback, for benches.

``python -m bench.placement_loopback STATE_DIR`` loads openstack-placement
exactly as the embedded default does
(:class:`~sriovirt.placement.embedded.EmbeddedPlacement` on
``STATE_DIR/placement.sqlite``, noauth2) and serves it with wsgiref,
single-threaded, on ``127.0.0.1`` and a port the kernel picks; it prints
``serving PORT`` once the socket listens.  :func:`start` runs it as a
child process and returns it with its port; :func:`stop` ends it.

This module must not populate Placement nor time anything: the bench
does, over HTTP, as a remote ``[placement] endpoint_override`` would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parents[1]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def start(state_path: Path) -> tuple[subprocess.Popen[str], int]:
    """The server on ``state_path``'s Placement database, and its port."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.placement_loopback", str(state_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline().split()
    if len(line) != 2 or line[0] != "serving":
        process.kill()
        _, err = process.communicate(timeout=10)
        raise RuntimeError(
            f"loopback Placement on {state_path} did not start: "
            f"{err.strip()[-500:]}"
        )
    return process, int(line[1])


def stop(process: subprocess.Popen[str]) -> None:
    """End the server started by :func:`start` (its own pid only)."""
    process.terminate()
    try:
        process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate(timeout=10)


def main() -> None:
    from sriovirt.placement.embedded import EmbeddedPlacement

    app = EmbeddedPlacement(sys.argv[1]).app()
    server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    print("serving", server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
