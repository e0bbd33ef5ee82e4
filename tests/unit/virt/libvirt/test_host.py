"""host.py: lazy connection, reconnect after a drop, error translation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import libvirt
import pytest

from sriovirt import exception, paths
from sriovirt.virt.libvirt import host as libvirt_host
from sriovirt.virt.libvirt import traits


class FakeConn:
    """A connection that can be made to drop."""

    def __init__(self, lib_version: int = 9_000_000) -> None:
        self.alive = True
        self.lib_version = lib_version
        self.closed = False

    def isAlive(self) -> int:
        return 1 if self.alive else 0

    def getLibVersion(self) -> int:
        if not self.alive:
            raise _error(libvirt.VIR_ERR_SYSTEM_ERROR, "Broken pipe")
        return self.lib_version

    def getVersion(self) -> int:
        return 7_002_000

    def getType(self) -> str:
        return "QEMU"

    def close(self) -> int:
        self.closed = True
        return 0


def _error(code: int, message: str) -> libvirt.libvirtError:
    err = libvirt.libvirtError(message)
    err.err = (code, 0, message, 0, "", None, None, 0, 0)
    return err


def _opener(conns: list[FakeConn]) -> Any:
    def open_(uri: str) -> FakeConn:
        conn = FakeConn(lib_version=9_000_000 + len(conns))
        conns.append(conn)
        return conn

    return open_


def test_connects_lazily_and_reuses_a_live_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conns: list[FakeConn] = []
    monkeypatch.setattr(libvirt, "open", _opener(conns))
    host = libvirt_host.Host("qemu:///system")
    assert conns == []
    host.versions()
    host.versions()
    assert len(conns) == 1


def test_reconnects_when_the_connection_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conns: list[FakeConn] = []
    monkeypatch.setattr(libvirt, "open", _opener(conns))
    host = libvirt_host.Host("qemu:///system")
    assert host.versions().lib_version == 9_000_000
    conns[0].alive = False
    # The next call notices the dead connection and opens a new one.
    assert host.versions().lib_version == 9_000_001
    assert len(conns) == 2


def test_drop_during_a_call_is_retried_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conns: list[FakeConn] = []
    monkeypatch.setattr(libvirt, "open", _opener(conns))
    host = libvirt_host.Host("qemu:///system")
    calls: list[int] = []

    def flaky(conn: FakeConn) -> str:
        calls.append(1)
        if len(calls) == 1:
            conn.alive = False
            raise _error(libvirt.VIR_ERR_SYSTEM_ERROR, "Broken pipe")
        return "ok"

    assert host._call("test", flaky) == "ok"  # type: ignore[arg-type]
    assert len(conns) == 2 and len(calls) == 2


def test_libvirt_errors_name_uri_and_operation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conns: list[FakeConn] = []
    monkeypatch.setattr(libvirt, "open", _opener(conns))
    host = libvirt_host.Host("qemu:///system")

    def fails(conn: FakeConn) -> None:
        raise _error(libvirt.VIR_ERR_NO_DOMAIN, "Domain not found: x")

    with pytest.raises(exception.HypervisorError) as err:
        host._call("start of domain x", fails)  # type: ignore[arg-type]
    text = str(err.value)
    assert "qemu:///system" in text
    assert "start of domain x" in text
    assert "Domain not found: x" in text
    assert f"code {libvirt.VIR_ERR_NO_DOMAIN}" in text


def test_unreachable_host_is_hypervisor_unavailable(tmp_path: Path) -> None:
    host = libvirt_host.Host(paths.test_driver_uri(tmp_path / "none.xml"))
    with pytest.raises(exception.HypervisorUnavailable) as err:
        host.versions()
    assert "none.xml" in str(err.value)


def test_domain_lifecycle_on_the_test_driver() -> None:
    host = libvirt_host.Host("test:///default")
    xml = (
        "<domain type='test'><name>sriovirt-host-test</name>"
        "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )
    uuid = host.define(xml)
    assert uuid in host.domain_uuids()
    host.start(uuid)
    assert "<name>sriovirt-host-test</name>" in host.domain_xml(uuid)
    assert host.destroy_and_undefine(uuid) is True
    assert host.destroy_and_undefine(uuid) is False
    with pytest.raises(exception.HypervisorError, match="domain define"):
        host.define("<domain type='test'><name>bad</name></domain>")


@pytest.mark.parametrize("value", [0, 2, 4_001_999, 6_003_000, 10_000_001])
def test_versions_format_matches_traits(value: int) -> None:
    # The CLI prints versions with Versions.format and the trait reasons
    # with version.int_to_version: one decoding, never two spellings.
    assert libvirt_host.Versions.format(value) == traits.int_to_version(value)


def test_missing_host_file_is_one_exact_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nonexist.xml"
    uri = paths.test_driver_uri(path)
    with pytest.raises(exception.HypervisorUnavailable) as err:
        libvirt_host.Host(uri).versions()
    assert str(err.value) == (
        f"Cannot connect to libvirt at {uri}: the test driver's host file "
        f"{str(path)!r} does not exist"
    )
    # libxml2's "I/O warning : failed to load external entity" went
    # straight to the terminal, outside any error message.
    assert capfd.readouterr().err == ""


def test_a_directory_is_not_a_host_file(tmp_path: Path) -> None:
    uri = paths.test_driver_uri(tmp_path)
    with pytest.raises(exception.HypervisorUnavailable) as err:
        libvirt_host.Host(uri).versions()
    assert str(err.value).endswith(
        f"the test driver's host file {str(tmp_path)!r} is not a file"
    )


def test_xml_parse_error_is_one_line_without_the_file_text(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # As `pci explain --host-xml /etc/passwd`: libvirt quotes the line it
    # choked on and draws a caret under it; that line may be a secret.
    path = tmp_path / "passwd"
    path.write_text("root:x:0:0:secret:/root:/bin/bash\nsecond line\n")
    uri = paths.test_driver_uri(path)
    with pytest.raises(exception.HypervisorUnavailable) as err:
        libvirt_host.Host(uri).versions()
    assert str(err.value) == (
        f"Cannot connect to libvirt at {uri}: {path}:1: Start tag "
        "expected, '<' not found (libvirt error code "
        f"{libvirt.VIR_ERR_XML_DETAIL})"
    )
    assert capfd.readouterr().err == ""


def test_multi_line_libvirt_messages_are_joined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conns: list[FakeConn] = []
    monkeypatch.setattr(libvirt, "open", _opener(conns))
    host = libvirt_host.Host("qemu:///system")

    def fails(conn: FakeConn) -> None:
        raise _error(
            libvirt.VIR_ERR_INTERNAL_ERROR,
            "process exited while connecting to monitor:\n"
            "qemu: bad option\x1b[31m\n\n",
        )

    with pytest.raises(exception.HypervisorError) as err:
        host._call("start of domain x", fails)  # type: ignore[arg-type]
    assert str(err.value) == (
        "libvirt error on qemu:///system during start of domain x: "
        "process exited while connecting to monitor: qemu: bad option"
        "\\x1b[31m (libvirt error code 1)"
    )
