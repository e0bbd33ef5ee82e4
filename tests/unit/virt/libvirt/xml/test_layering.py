"""The XML layer maps and decides nothing: it imports no policy."""

from __future__ import annotations

import ast
from pathlib import Path

import sriovirt.virt.libvirt.xml as xml_pkg

FORBIDDEN = (
    "libvirt",
    "oslo_config",
    "sqlalchemy",
    "sriovirt.conf",
    "sriovirt.objects",
    "sriovirt.db",
    "sriovirt.network",
    "sriovirt.virt.libvirt.vif",
    "sriovirt.virt.libvirt.host",
)


def test_xml_package_imports_nothing_forbidden() -> None:
    root = Path(xml_pkg.__file__).parent
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not any(
                    name == bad or name.startswith(bad + ".")
                    for bad in FORBIDDEN
                ), f"{path.name} imports {name}"
