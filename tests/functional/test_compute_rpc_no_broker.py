"""Compute RPC calls with no broker at all: a ``rabbit://`` URL on a
closed loopback port.  oslo.messaging's first call would reconnect
forever; the RPC API gives up after its timeout plus its slack, with
one line naming the host and the topic, and the transport's cleanup
does not hang the caller.

The call runs in a child process: the reconnect loop it leaves behind
(a daemon thread) ends with that process, not with the test session.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.functional.test_cli import sriovirt

SRC = Path(__file__).resolve().parents[2] / "src"

CHILD = textwrap.dedent(
    """
    import sys, time
    from oslo_config import cfg
    from sriovirt import conf as sriovirt_conf
    from sriovirt import exception
    from sriovirt.compute import rpc, rpcapi

    conf = cfg.ConfigOpts()
    sriovirt_conf.register_opts(conf)
    conf([])
    transport = rpc.transport(conf, url=sys.argv[1])
    api = rpcapi.ComputeAPI(conf, transport, timeout=1, slack=2)
    start = time.monotonic()
    try:
        api.ping("cn-1")
    except exception.ComputeUnreachable as exc:
        print(f"{time.monotonic() - start:.2f}")
        print(exc)
    start = time.monotonic()
    finished = rpc.cleanup(transport, wait=1)
    print(f"{finished} {time.monotonic() - start:.2f}")
    """
)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_call_without_a_broker_fails_within_its_bound() -> None:
    url = f"rabbit://guest:guest@127.0.0.1:{_closed_port()}/"
    env = dict(os.environ, PYTHONPATH=str(SRC))
    result = subprocess.run(
        [sys.executable, "-c", CHILD, url],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    took, message, cleaned = result.stdout.splitlines()
    assert 2.5 < float(took) < 5, took
    assert message == (
        "ping on compute host cn-1 (topic sriovirt-compute): no connection "
        "to the message bus within 3 s: is the broker of [DEFAULT] "
        "transport_url running and reachable?"
    )
    finished, seconds = cleaned.split()
    assert finished == "False"
    assert float(seconds) < 2


def test_ping_command_without_a_broker_ends(tmp_path: Path) -> None:
    conf = tmp_path / "c.conf"
    conf.write_text(
        "[DEFAULT]\ntransport_url = "
        f"rabbit://guest:guest@127.0.0.1:{_closed_port()}/\n"
    )
    start = time.monotonic()
    result = sriovirt(
        tmp_path, conf, "compute", "ping", "cn-1", "--timeout", "1"
    )
    took = time.monotonic() - start
    assert result.returncode == 1
    # timeout 1 s + the API's 10 s slack + at most 5 s of cleanup.
    assert took < 25, f"took {took:.1f} s"
    assert result.stderr.strip().splitlines()[-1] == (
        "sriovirt compute ping: error: ping on compute host cn-1 (topic "
        "sriovirt-compute): no connection to the message bus within 11 s: "
        "is the broker of [DEFAULT] transport_url running and reachable?"
    )
