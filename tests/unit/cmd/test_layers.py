"""The commands go through the layers meant for them: the compute driver
interface, the resource tracker and the database API; never libvirt's
host connection or its node-device parsing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CMD = Path(__file__).resolve().parents[3] / "src" / "sriovirt" / "cmd"

FORBIDDEN = ("sriovirt.virt.libvirt.host", "sriovirt.virt.libvirt.inventory")


def _imported(path: Path) -> set[str]:
    """Every module ``path`` imports, ``from a import b`` as ``a`` and
    ``a.b`` (``b`` may be a module), at any depth in the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize(
    "path", sorted(CMD.glob("*.py")), ids=lambda p: p.name
)
def test_commands_do_not_reach_into_libvirt_internals(path: Path) -> None:
    bad = {
        name
        for name in _imported(path)
        if name.startswith(FORBIDDEN) or name == "libvirt"
    }
    assert not bad, f"cmd/{path.name} imports {sorted(bad)}"


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from sriovirt.virt.libvirt import host\n")
    assert "sriovirt.virt.libvirt.host" in _imported(module)
