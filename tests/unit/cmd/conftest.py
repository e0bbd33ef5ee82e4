"""Fixtures of the command unit tests: configuration files in tmp_path,
the libvirt test driver on the small sample host, SQLite in tmp_path.

The commands run in-process through their ``main(argv)``; oslo.log
rewires the root logger on every run, so each test gets it back as it
was.
"""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Callable, Iterator

import pytest

from sriovirt import paths
from sriovirt.cmd import main as sriovirt_main
from sriovirt.cmd import manage

HOST = "unit-host"

SPEC = '{"address": "0000:81:00.0", "physical_network": "physnet1"}'

WriteConf = Callable[..., pathlib.Path]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture
def write_conf(tmp_path: pathlib.Path) -> WriteConf:
    """A configuration file on the small sample host; ``extra`` lines are
    appended as they are (later sections add to earlier ones)."""

    def write(*extra: str, name: str = "sriovirt.conf") -> pathlib.Path:
        lines = [
            "[DEFAULT]",
            f"host = {HOST}",
            f"state_path = {tmp_path / 'state'}",
            "[libvirt]",
            "connection_uri = "
            f"{paths.test_driver_uri(paths.sample_host('small'))}",
            "[database]",
            f"connection = sqlite:///{tmp_path / 'sriovirt.sqlite'}",
            "[pci]",
            f"device_spec = {SPEC}",
            *extra,
        ]
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        return path

    return write


def sriovirt(*argv: str) -> int:
    return sriovirt_main.main(list(argv))


def sriovirt_manage(*argv: str) -> int:
    return manage.main(list(argv))
