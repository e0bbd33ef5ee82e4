"""host.py domain calls on the test driver: lookups, undefine, removal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sriovirt import exception, paths
from sriovirt.virt.driver import GuestSummary, InstanceState
from sriovirt.virt.libvirt.host import Host

UUID = "6f1e0c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
XML = (
    "<domain type='test'><name>h-1</name>"
    f"<uuid>{UUID}</uuid>"
    "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
    "<os><type arch='x86_64'>hvm</type></os></domain>"
)


@pytest.fixture
def host() -> Iterator[Host]:
    h = Host(paths.test_driver_uri(paths.sample_host("small")))
    yield h
    h.close()


def test_lookups_say_none_for_a_missing_domain(host: Host) -> None:
    assert host.domain(UUID) is None
    assert host.domain_by_name("h-1") is None
    assert host.domains() == []
    assert host.undefine(UUID) is False
    assert host.destroy_and_undefine(UUID) is False


def test_a_defined_domain_is_summarised(host: Host) -> None:
    host.define(XML)
    want = GuestSummary(
        uuid=UUID, name="h-1", state=InstanceState.SHUT_OFF, persistent=True
    )
    assert host.domain(UUID) == want
    assert host.domain(UUID.upper()) == want
    assert host.domain_by_name("h-1") == want
    assert host.domains() == [want]
    host.start(UUID)
    summary = host.domain(UUID)
    assert summary is not None and summary.state is InstanceState.RUNNING


def test_undefine_keeps_a_running_guest_running(host: Host) -> None:
    host.define(XML)
    host.start(UUID)
    assert host.undefine(UUID) is True
    summary = host.domain(UUID)
    assert summary is not None
    assert (summary.state, summary.persistent) == (
        InstanceState.RUNNING,
        False,
    )
    # Nothing left to undefine; stopping a transient guest removes it.
    assert host.undefine(UUID) is False
    assert host.destroy_and_undefine(UUID) is True
    assert host.domains() == []


def test_a_bad_uuid_is_a_hypervisor_error_naming_it(host: Host) -> None:
    with pytest.raises(exception.HypervisorError) as err:
        host.domain("nope")
    assert err.value.operation == "lookup of domain nope"
