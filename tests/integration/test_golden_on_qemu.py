"""Every golden VIF device defines on the real QEMU driver.

The unit tier validates the golden files against libvirt's RelaxNG schema
and defines them on the test driver; neither runs the QEMU driver's own
post-parse validation (which, for instance, refuses ``packed`` on
anything but virtio).  Here each golden device, wrapped in a minimal TCG
guest, is defined with ``VIR_DOMAIN_DEFINE_VALIDATE`` on a real
libvirtd with QEMU, and libvirt's live definition must keep what the
builder asked for: the same number of interface/hostdev devices and the
same ``packed`` setting.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from tests.integration.conftest import Guests

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "vif"
FILES = sorted(GOLDEN.glob("*.xml"))


def test_there_are_golden_devices() -> None:
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_golden_device_defines_on_qemu(guests: Guests, path: Path) -> None:
    device = path.read_text()
    asked = etree.fromstring(device)
    dom = guests.define([device], prefix="golden")
    live = etree.fromstring(dom.XMLDesc(0)).find("devices")
    assert live is not None
    kept = live.findall(asked.tag)
    assert len(kept) == 1, etree.tostring(live).decode()
    asked_driver = asked.find("driver")
    kept_driver = kept[0].find("driver")
    asked_packed = None if asked_driver is None else asked_driver.get("packed")
    kept_packed = None if kept_driver is None else kept_driver.get("packed")
    assert kept_packed == asked_packed
    mac = asked.find("mac")
    if mac is not None:
        kept_mac = kept[0].find("mac")
        assert kept_mac is not None
        assert kept_mac.get("address") == mac.get("address")
