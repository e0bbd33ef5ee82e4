"""The static backend's ports file: networks and ports, read and checked.

``[network] ports_file`` is a JSON document (YAML when its name ends in
``.yaml`` or ``.yml``) ``{"networks": [...], "ports": [...]}`` whose
items are Neutron API v2.0 bodies, as ``GET /v2.0/networks`` and ``GET
/v2.0/ports`` return them.  :class:`PortsFile` reads it into a
:class:`Document` (bodies by id) and reads it again only when the file
changed.  Every problem is an :class:`~sriovirt.exception.
InvalidNetworkFile` naming the file, the item and the field: a document
that is not an object, an unknown top-level key, an item without a
string ``id`` (a UUID for ports: the guest XML relies on it), a
duplicate id, a port whose ``network_id`` names no network.

The bodies themselves are checked where they are used
(:meth:`~sriovirt.network.model.VIF.from_port`, :func:`~sriovirt.
network.api.port_request`).  This module must never write the file,
read configuration or compute bindings.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from sriovirt import exception
from sriovirt.network.checks import show

WHAT = "ports file"
YAML_SUFFIXES = frozenset({".yaml", ".yml"})
KINDS = ("networks", "ports")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")

Bodies = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """The networks and ports of a ports file, by id."""

    networks: Bodies
    ports: Bodies


class PortsFile:
    """One ports file; :meth:`load` re-reads it only when it changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cached: tuple[tuple[int, int, int], Document] | None = None

    def load(self) -> Document:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise self._bad(f"cannot be read: {exc.strerror}") from None
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self._cached is not None and self._cached[0] == stamp:
            return self._cached[1]
        doc = parse(self.path, self._read())
        self._cached = (stamp, doc)
        return doc

    def _read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise self._bad(f"cannot be read: {exc}") from None

    def _bad(self, reason: str) -> exception.InvalidNetworkFile:
        return bad(self.path, reason)


def bad(path: Path, reason: str) -> exception.InvalidNetworkFile:
    return exception.InvalidNetworkFile(
        what=WHAT, path=str(path), reason=reason
    )


def parse(path: Path, text: str) -> Document:
    """The document ``text`` of ``path`` (JSON, or YAML by suffix)."""
    body = _decode(path, text)
    if not isinstance(body, dict):
        raise bad(path, f"{show(body)} is not an object")
    unknown = sorted(set(body) - set(KINDS))
    if unknown:
        raise bad(
            path,
            f"unknown key(s) {', '.join(map(show, unknown))}; "
            f"expected {' and '.join(KINDS)}",
        )
    networks = _by_id(path, "networks", body.get("networks", []))
    ports = _by_id(path, "ports", body.get("ports", []))
    for index, (port_id, port) in enumerate(ports.items()):
        network_id = port.get("network_id")
        if not isinstance(network_id, str) or network_id not in networks:
            raise bad(
                path,
                f"ports[{index}] (id {port_id}): network_id "
                f"{show(network_id)} is not the id of one of the networks",
            )
    return Document(
        networks=MappingProxyType(networks), ports=MappingProxyType(ports)
    )


def _decode(path: Path, text: str) -> object:
    if path.suffix.lower() in YAML_SUFFIXES:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            # PyYAML's messages span lines; errors here are one line.
            reason = " ".join(str(exc).split())
            raise bad(path, f"is not YAML: {reason}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad(
            path,
            f"is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
        ) from None


def _by_id(path: Path, kind: str, items: object) -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        raise bad(path, f"{kind} {show(items)} is not a list")
    found: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(items):
        where = f"{kind}[{index}]"
        if not isinstance(item, dict):
            raise bad(path, f"{where} {show(item)} is not an object")
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id.strip():
            raise bad(path, f"{where}: id {show(item_id)} is not a string")
        if kind == "ports" and not _UUID.fullmatch(item_id):
            raise bad(path, f"{where}: id {show(item_id)} is not a UUID")
        if item_id in found:
            raise bad(path, f"{where}: id {item_id} is used twice")
        found[item_id] = item
    return found
