"""The design's dependency rules, checked on the source tree.

- ``pci/`` imports only the stdlib, ``sriovirt.exception``, ``pci/`` and
  ``re2`` (the linear-time engine operators' address regexes run on);
- ``virt/libvirt/xml/`` never imports libvirt, conf, objects or db;
- only ``virt/libvirt/host.py`` imports libvirt;
- only ``db/`` imports SQLAlchemy or alembic;
- ``oslo_config`` is imported only at the edges (conf, cmd, compute,
  virt driver, service), never by domain code.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "sriovirt"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                raise AssertionError(f"{path}: use absolute imports")
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


MODULES = sorted(SRC.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _top(name: str) -> str:
    return name.split(".", 1)[0]


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_dependency_rules(path: Path) -> None:
    rel = _rel(path)
    imports = _imports(path)
    tops = {_top(n) for n in imports}
    if rel.startswith("pci/"):
        foreign = {
            n
            for n in imports
            if _top(n) not in ("__future__", "re2")
            and _top(n) not in sys.stdlib_module_names
            and not n.startswith(("sriovirt.pci", "sriovirt.exception"))
            and n != "sriovirt"
        }
        assert not foreign, f"pci/ must stay pure: {rel} imports {foreign}"
    if rel.startswith("virt/libvirt/xml/"):
        bad = {
            n
            for n in imports
            if _top(n) == "libvirt"
            or n.startswith(
                ("sriovirt.conf", "sriovirt.objects", "sriovirt.db")
            )
            or _top(n) == "oslo_config"
        }
        assert not bad, f"xml/ maps only: {rel} imports {bad}"
    if rel != "virt/libvirt/host.py":
        assert not tops & {"libvirt", "libvirt_qemu"}, (
            f"only virt/libvirt/host.py may import libvirt ({rel} does)"
        )
    if not rel.startswith("db/"):
        assert not tops & {"sqlalchemy", "alembic"}, (
            f"only db/ may import SQLAlchemy/alembic ({rel} does)"
        )
    edges = ("conf/", "cmd/", "compute/", "virt/libvirt/driver.py", "service")
    if not rel.startswith(edges):
        assert "oslo_config" not in tops, (
            f"configuration is read at the edges only ({rel} imports "
            "oslo_config)"
        )


def test_every_module_has_a_docstring() -> None:
    missing = [
        _rel(p)
        for p in MODULES
        if not ast.get_docstring(ast.parse(p.read_text()))
    ]
    assert not missing, f"modules without a docstring: {missing}"
