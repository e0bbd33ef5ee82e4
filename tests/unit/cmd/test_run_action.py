"""``run_action``: the one place that turns an action's outcome into an
exit status and at most one line on stderr."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable

import pytest
from oslo_config import cfg

from sriovirt import cmd, exception


def _raise(exc: BaseException) -> Callable[[], int]:
    def action() -> int:
        raise exc

    return action


def test_the_actions_status_is_returned(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cmd.run_action("sriovirt x", lambda: 0) == 0
    assert cmd.run_action("sriovirt x", lambda: 3) == 3
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("exc", "status", "line"),
    [
        pytest.param(
            exception.InvalidPciAddress(address="zz", reason="not hex"),
            1,
            "sriovirt x: error: Invalid PCI address 'zz': not hex",
            id="sriovirt-error",
        ),
        pytest.param(
            cfg.RequiredOptError("host"),
            2,
            "sriovirt x: configuration error: value required for option "
            "host in group [DEFAULT]",
            id="oslo-config-error",
        ),
        pytest.param(
            exception.ConfigError(reason="[DEFAULT] host '' is empty"),
            2,
            "sriovirt x: error: Invalid configuration: [DEFAULT] host '' is "
            "empty",
            id="configuration-error",
        ),
        pytest.param(
            KeyError("boom"),
            1,
            "sriovirt x: error: unexpected KeyError: 'boom'",
            id="bug",
        ),
        pytest.param(
            exception.HypervisorError(
                uri="test:///x",
                operation="connect",
                reason="first line\n  second line\n",
            ),
            1,
            "sriovirt x: error: libvirt error on test:///x during connect: "
            "first line; second line",
            id="multi-line-reason",
        ),
        pytest.param(
            ValueError("a\r\nb"),
            1,
            "sriovirt x: error: unexpected ValueError: a; b",
            id="multi-line-bug",
        ),
        pytest.param(
            KeyboardInterrupt(),
            130,
            "sriovirt x: interrupted",
            id="ctrl-c",
        ),
    ],
)
def test_errors_are_one_line_and_a_status(
    exc: BaseException,
    status: int,
    line: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cmd.run_action("sriovirt x", _raise(exc)) == status
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [line]
    assert captured.out == ""


def test_a_reader_that_went_away_ends_quietly_with_141(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `sriovirt pci explain | head -1`: the pipe has no reader left.
    read_end, write_end = os.pipe()
    os.close(read_end)
    stdout = io.TextIOWrapper(os.fdopen(write_end, "wb"))
    monkeypatch.setattr(sys, "stdout", stdout)

    def action() -> int:
        print("x" * 100_000)
        return 0

    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    assert cmd.run_action("sriovirt x", action) == 141
    assert err.getvalue() == ""
    # stdout now goes nowhere: the flush at exit cannot fail again.
    print("more")
    stdout.flush()
    monkeypatch.undo()
    stdout.close()


def test_oslo_config_locations_are_readable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    where = cfg.LocationInfo(cfg.Locations.user, "/etc/sriovirt/x.conf")
    exc = cfg.ConfigFileValueError(
        f"Value for option max_queues from {where} is not valid: too small"
    )
    assert cmd.run_action("sriovirt x", _raise(exc)) == 2
    assert capsys.readouterr().err == (
        "sriovirt x: configuration error: Value for option max_queues from "
        "/etc/sriovirt/x.conf is not valid: too small\n"
    )


def test_output_that_cannot_be_written_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `sriovirt traits > /dev/full`: the disk is full.
    full = open("/dev/full", "w")  # noqa: SIM115 (closed below)
    monkeypatch.setattr(sys, "stdout", full)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)

    def action() -> int:
        print("a table")
        return 0

    assert cmd.run_action("sriovirt x", action) == 1
    assert err.getvalue() == (
        "sriovirt x: error: cannot write the output: No space left on device\n"
    )
    monkeypatch.undo()
    full.close()


def test_closed_stdout_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `sriovirt traits >&-`: Python starts with sys.stdout = None.
    monkeypatch.setattr(sys, "stdout", None)
    assert cmd.run_action("sriovirt x", lambda: 0) == 1
    assert capsys.readouterr().err == (
        "sriovirt x: error: standard output is closed; nothing to print to\n"
    )
