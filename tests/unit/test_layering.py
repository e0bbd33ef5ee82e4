"""The design's dependency rules, checked on the source tree.

- ``pci/`` imports only the stdlib, ``sriovirt.exception``, ``pci/`` and
  ``re2`` (the linear-time engine operators' address regexes run on);
- ``virt/libvirt/xml/`` never imports libvirt, conf, objects or db;
- only ``virt/libvirt/host.py`` imports libvirt;
- only ``db/`` imports SQLAlchemy or alembic;
- ``oslo_config`` is imported only at the edges (conf, cmd, compute,
  virt driver, service), never by domain code;
- the package order of design section 2 (exception < pci < network,
  xml < virt < db, objects < placement, scheduler < compute < cmd), with
  objects -> virt, objects -> pci.tracker and host -> traits forbidden;
- no import cycle, counting imports under ``TYPE_CHECKING``.
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


# Design section 2's package order: a package may import its own modules
# and those of packages ranked below it, never above.  ``conf`` is the
# option declarations (read at the edges, passed in as values).
RANKS = {
    "exception": 0,
    "conf": 2,
    "pci": 1,
    "network": 2,
    "virt.libvirt.xml": 2,
    "virt": 3,
    "db": 4,
    "objects": 4,
    "placement": 5,
    "scheduler": 5,
    "compute": 6,
    "service": 7,
    "cmd": 7,
}

#: Imports the order allows but the design forbids by name.
FORBIDDEN = (
    ("objects", "virt", "versioned objects carry values, not drivers"),
    ("objects", "pci.tracker", "objects must not reach tracker internals"),
    ("virt.libvirt.host", "virt.libvirt.traits", "host reports facts only"),
)


def _module(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


def _package(module: str) -> str:
    """The ranked package a ``sriovirt`` module belongs to."""
    best = ""
    for name in RANKS:
        if (module == name or module.startswith(name + ".")) and len(
            name
        ) > len(best):
            best = name
    return best


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in MODULES}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for imported in _imports(path):
            if not imported.startswith("sriovirt."):
                continue
            target = imported.removeprefix("sriovirt.")
            # "from sriovirt.pci import stats" names a module too.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                deps.add(target)
        graph[name] = deps
    return graph


def test_package_order() -> None:
    wrong = []
    for module, deps in _graph().items():
        here = _package(module)
        for dep in deps:
            there = _package(dep)
            if not here or not there or here == there:
                continue
            if RANKS[there] > RANKS[here] or (
                RANKS[there] == RANKS[here]
                and not there.startswith(here)
                and not here.startswith(there)
                and (here, there) not in SAME_RANK_ALLOWED
            ):
                wrong.append(f"{module} -> {dep}")
            for low, high, why in FORBIDDEN:
                if (module + ".").startswith(low + ".") and (
                    dep + "."
                ).startswith(high + "."):
                    wrong.append(f"{module} -> {dep} ({why})")
    assert wrong == []


#: Same-rank packages that may import one another, in this direction only.
SAME_RANK_ALLOWED = {("objects", "db")}


def test_no_import_cycles() -> None:
    # Tarjan's strongly connected components over every import, those
    # under TYPE_CHECKING included (a cycle hidden there is still one).
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in graph.get(node, ()):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []
