"""``make run-cluster`` (tools/run-cluster), run once for real.

The tool starts a private RabbitMQ and three ``sriovirt-compute``
processes, boots servers over the message bus and stops everything; this
test runs it in a temporary state directory and checks, from its JSON
summary and from /proc, that the servers landed where the hosts'
networks and the free-VF weigher send them, that the packed-ring boot
was refused, and that no process it started is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.fixtures import rabbitmq

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "run-cluster"


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _processes_naming(text: str) -> list[str]:
    """Live processes whose command line mentions ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if text.encode() in cmdline and _alive(int(entry.name)):
            found.append(f"{entry.name}: {cmdline.decode(errors='replace')}")
    return found


def test_run_cluster_boots_where_expected_and_stops_everything(
    tmp_path: Path,
) -> None:
    rabbitmq.check_prerequisites()
    state = tmp_path / "cluster"
    summary_path = tmp_path / "summary.json"
    done = subprocess.run(
        [
            sys.executable,
            str(TOOL),
            "--state-dir",
            str(state),
            "--summary",
            str(summary_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    summary = json.loads(summary_path.read_text())
    assert summary["ok"] is True and summary["errors"] == []
    # vm-1 was deleted; the rest stay where the tool expected them.
    assert summary["deleted"] == ["vm-1"]
    assert summary["servers"] == {
        "vm-2": "host-c",
        "vm-3": "host-a",
        "vm-4": "host-b",
        "vm-5": "host-b",
    }
    assert list(summary["refused"]) == ["vm-packed"]
    assert "No valid host" in summary["refused"]["vm-packed"]
    assert "COMPUTE_NET_VIRTIO_PACKED" in summary["refused"]["vm-packed"]
    assert "vm-1 (" in output and "on host-c" in output

    # Every service exited by itself on SIGTERM, and nothing is left:
    # not the services, not the broker's script, beam or epmd.
    assert summary["service_exit"] == {
        "host-a": 0,
        "host-b": 0,
        "host-c": 0,
    }
    pids = {
        **{f"compute {h}": p for h, p in summary["service_pids"].items()},
        **summary["broker_pids"],
    }
    assert set(pids) == {
        "compute host-a",
        "compute host-b",
        "compute host-c",
        "rabbitmq-server",
        "beam",
        "epmd",
    }
    assert [name for name, pid in pids.items() if _alive(pid)] == []
    assert _processes_naming(str(state)) == []
    # The broker's data went with it; the services' logs stay.
    assert not (state / "rabbitmq").exists()
    assert sorted(p.name for p in (state / "logs").iterdir()) == [
        "host-a.log",
        "host-b.log",
        "host-c.log",
    ]


def test_run_cluster_interrupted_stops_everything_and_fails(
    tmp_path: Path,
) -> None:
    """SIGTERM to the tool once its services serve and a boot is done:
    it stops what it started, then exits 1."""
    rabbitmq.check_prerequisites()
    state = tmp_path / "cluster"
    summary_path = tmp_path / "summary.json"
    tool = subprocess.Popen(
        [
            sys.executable,
            str(TOOL),
            "--state-dir",
            str(state),
            "--summary",
            str(summary_path),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    try:
        assert tool.stdout is not None
        for line in tool.stdout:
            seen.append(line)
            if line.startswith("# boot vm-2"):
                tool.send_signal(signal.SIGTERM)
                break
        rest, _ = tool.communicate(timeout=180)
    finally:
        if tool.poll() is None:
            tool.kill()
            tool.wait(30)
    output = "".join(seen) + rest
    assert any(line.startswith("# boot vm-2") for line in seen), output
    assert tool.returncode == 1, output
    assert "FAILED: Stopped: SIGTERM" in output
    summary = json.loads(summary_path.read_text())
    assert summary["ok"] is False
    assert summary["servers"]["vm-1"] == "host-c"
    assert summary["service_exit"] == {
        "host-a": 0,
        "host-b": 0,
        "host-c": 0,
    }
    pids = [
        *summary["service_pids"].values(),
        *summary["broker_pids"].values(),
    ]
    assert len(pids) == 6
    assert [pid for pid in pids if _alive(pid)] == []
    assert _processes_naming(str(state)) == []
