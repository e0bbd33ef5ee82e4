"""The static network backend: Neutron's answers without Neutron.

:class:`StaticNetwork` implements :class:`~sriovirt.network.api.
NetworkAPI` (``[network] backend = static``, the embedded default) over
two files:

- the *ports file* (``[network] ports_file``), a JSON or YAML document
  ``{"networks": [...], "ports": [...]}`` whose items are Neutron API
  v2.0 bodies; it is only ever read (:mod:`~sriovirt.network.
  ports_file`);
- the *binding state file*, which holds what binding wrote on each port
  (``binding:host_id``, ``device_id``, ``device_owner``,
  ``binding:profile``, ``binding:vif_type``, ``binding:vif_details``),
  laid over the port of the ports file when it is shown.  It survives
  the process: a SQLite file, one row per port, each change one
  transaction (:mod:`~sriovirt.network.binding_store`), so concurrent
  processes never lose each other's bindings, a reader never sees half
  a change, and a bind costs the same however many ports are bound.

The binding itself is computed by :mod:`~sriovirt.network.binding`.
This module must not read configuration (paths are passed in) and must
not talk to Neutron.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sriovirt import exception
from sriovirt.network import binding as rules
from sriovirt.network.api import PortBinding, unbound_fields
from sriovirt.network.binding_store import BindingStore
from sriovirt.network.checks import show
from sriovirt.network.ports_file import Document, PortsFile

UNBOUND = {"binding:vif_type": "unbound", "binding:vif_details": {}}


class StaticNetwork:
    """Networks and ports of a file; bindings in a state file."""

    def __init__(self, *, ports_file: Path, state_file: Path) -> None:
        self._ports = PortsFile(Path(ports_file))
        self.state_file = Path(state_file)
        self._state = BindingStore(self.state_file)

    def show_port(self, port_id: str) -> dict[str, Any]:
        doc = self._ports.load()
        base = self._base_port(doc, port_id)
        return _view(base, self._state.get(port_id))

    def show_network(self, network_id: str) -> dict[str, Any]:
        network = self._ports.load().networks.get(network_id)
        if network is None:
            raise exception.NetworkNotFound(
                network_id=show(network_id), source=str(self._ports.path)
            )
        return copy.deepcopy(dict(network))

    def bind_port(self, port_id: str, binding: PortBinding) -> dict[str, Any]:
        doc = self._ports.load()
        base = self._base_port(doc, port_id)
        network = doc.networks[base["network_id"]]
        with self._state.transaction() as state:
            fields = binding.fields(_view(base, state.get(port_id)))
            result = rules.bind({**base, **fields}, network, binding)
            overlay = {**fields, **result.fields()}
            state[port_id] = overlay
        return _view(base, overlay)

    def unbind_port(self, port_id: str) -> dict[str, Any]:
        doc = self._ports.load()
        base = self._base_port(doc, port_id)
        with self._state.transaction() as state:
            current = _view(base, state.get(port_id))
            overlay = {**unbound_fields(current), **UNBOUND}
            if _view(base, overlay) == _view(base, None):
                # Back to what the ports file says: nothing to keep.
                state.pop(port_id, None)
                return _view(base, None)
            state[port_id] = overlay
        return _view(base, overlay)

    def bound_ports(self) -> dict[str, dict[str, Any]]:
        """Every port the state file has a binding for, as shown."""
        doc = self._ports.load()
        state = self._state.all()
        return {
            port_id: _view(doc.ports[port_id], overlay)
            for port_id, overlay in state.items()
            if port_id in doc.ports
        }

    def _base_port(self, doc: Document, port_id: str) -> Mapping[str, Any]:
        port = doc.ports.get(port_id)
        if port is None:
            raise exception.PortNotFound(
                port_id=show(port_id), source=str(self._ports.path)
            )
        return port


def _view(
    base: Mapping[str, Any], overlay: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The port as shown: the file's body with the binding laid over."""
    port = {**base, **(overlay or {})}
    return copy.deepcopy(port)
