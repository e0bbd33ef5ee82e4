"""Golden XML files: compare, regenerate, validate.

``SRIOVIRT_REGEN_GOLDEN=1`` rewrites every golden file a test renders
(review the diff, then commit it); without it a difference fails.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from lxml import etree

from sriovirt.virt.libvirt.xml import base
from sriovirt.virt.libvirt.xml.domain import Domain, minimal_domain
from sriovirt.virt.libvirt.xml.hostdev import PciHostdev
from sriovirt.virt.libvirt.xml.interface import INTERFACE
from sriovirt.virt.libvirt.xml.nodedev import NodeDevice

ROOT = Path(__file__).resolve().parents[5]
GOLDEN = ROOT / "tests" / "golden"
SCHEMAS = Path("/usr/share/libvirt/schemas")
REGEN_VAR = "SRIOVIRT_REGEN_GOLDEN"


def regenerating() -> bool:
    return os.environ.get(REGEN_VAR, "") not in ("", "0")


def check_golden(relpath: str, text: str) -> None:
    """Assert ``text`` equals the golden file (or rewrite it)."""
    path = GOLDEN / relpath
    if regenerating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), (
        f"golden file {path} is missing; run with {REGEN_VAR}=1 to create"
    )
    assert text == path.read_text(), (
        f"{path} differs from the rendered XML; if the change is "
        f"intended, rerun with {REGEN_VAR}=1 and review the diff"
    )


def golden_files() -> list[Path]:
    return sorted(GOLDEN.rglob("*.xml"))


def parse_any(xml: str) -> Any:
    """Parse a golden document with the model its root tag names."""
    root = etree.fromstring(xml.encode())
    if root.tag == "interface":
        return INTERFACE.from_xml(xml)
    models: dict[str, type[base.XmlModel]] = {
        "domain": Domain,
        "hostdev": PciHostdev,
        "device": NodeDevice,
    }
    return models[str(root.tag)].from_xml(xml)


def as_domain_xml(xml: str, domain_type: str = "test") -> str:
    """A whole domain: ``xml`` itself, or a device wrapped in a minimal one."""
    obj = parse_any(xml)
    if isinstance(obj, Domain):
        return xml
    return minimal_domain([obj], type=domain_type).to_xml()


@functools.cache
def relaxng(name: str) -> etree.RelaxNG:
    return etree.RelaxNG(file=str(SCHEMAS / name))


def schema_errors(xml: str, schema: str = "domain.rng") -> str | None:
    """None when ``xml`` validates against the libvirt schema."""
    rng = relaxng(schema)
    if rng.validate(etree.fromstring(xml.encode())):
        return None
    return str(rng.error_log)
