"""``sriovirt-compute``'s command side: the signal flags, the refusal
without ``transport_url``, and the whitelist of a reload checked as
``sriovirt config check`` checks it.

Real signals are sent to this process (the handlers only set flags);
the reload reads real files on the libvirt test driver and SQLite.
"""

from __future__ import annotations

import logging
import os
import signal
import time

import pytest

from sriovirt.cmd import compute_service
from sriovirt.pci.whitelist import Whitelist

from .conftest import WriteConf, sriovirt_manage


@pytest.fixture
def signals() -> compute_service.Signals:
    found = compute_service.Signals()
    found.install()
    try:
        yield found
    finally:
        found.uninstall()


def test_sighup_wakes_the_wait_with_a_reload(
    signals: compute_service.Signals,
) -> None:
    start = time.monotonic()
    os.kill(os.getpid(), signal.SIGHUP)
    wake = signals.wait(10)
    assert time.monotonic() - start < 5
    assert wake.reload and not wake.stop
    # Taken once: the next wait times out with nothing asked.
    wake = signals.wait(0.05)
    assert not wake.reload and not wake.stop


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signals_wake_the_wait_with_a_stop(
    signals: compute_service.Signals, signum: int
) -> None:
    start = time.monotonic()
    os.kill(os.getpid(), signum)
    wake = signals.wait(10)
    assert time.monotonic() - start < 5
    assert wake.stop
    # A stop stays asked for.
    assert signals.wait(0.01).stop


def test_uninstall_restores_the_handlers() -> None:
    before = signal.getsignal(signal.SIGHUP)
    found = compute_service.Signals()
    found.install()
    assert signal.getsignal(signal.SIGHUP) != before
    found.uninstall()
    assert signal.getsignal(signal.SIGHUP) == before


def test_no_transport_url_exits_2_naming_the_option(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf()
    status = compute_service.main(["--config-file", str(conf)])
    assert status == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("sriovirt-compute: error: ")
    assert "[DEFAULT] transport_url is not set" in err[0]


def test_reload_builds_the_whitelist_of_the_files_now(
    write_conf: WriteConf,
) -> None:
    conf = write_conf()
    assert sriovirt_manage("--config-file", str(conf), "db", "sync") == 0
    write_conf(
        'device_spec = {"devname": "ens2f0", "physical_network": "physnet2"}'
    )
    found = compute_service.reloaded_whitelist(["--config-file", str(conf)])
    assert isinstance(found, Whitelist)
    assert len(found.entries) == 2


def test_reload_refuses_a_bad_device_spec_with_the_errors_logged(
    write_conf: WriteConf, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_conf()
    # (Its oslo.log set-up logs to this test's stderr from now on.)
    assert sriovirt_manage("--config-file", str(conf), "db", "sync") == 0
    write_conf('device_spec = {"address": "0000:81:00.0", "physical')
    capsys.readouterr()
    found = compute_service.reloaded_whitelist(["--config-file", str(conf)])
    assert found is None
    text = capsys.readouterr().err
    assert "[pci] device_spec" in text
    assert "Reload refused: 1 error(s)" in text


def test_reload_refuses_a_file_that_cannot_be_read(
    write_conf: WriteConf, caplog: pytest.LogCaptureFixture
) -> None:
    conf = write_conf()
    conf.write_bytes(b"[DEFAULT]\nhost = \xff\n")
    with caplog.at_level(logging.ERROR, "sriovirt.cmd.compute_service"):
        found = compute_service.reloaded_whitelist(
            ["--config-file", str(conf)]
        )
    assert found is None
    assert "not UTF-8" in caplog.text
