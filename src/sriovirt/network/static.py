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
  a change, and a bind costs the same however many ports are bound.  A
  port another device holds (its ``device_id``) is not bound again,
  checked inside that transaction: of two boots racing for one port, one
  binds it and the other fails.

The binding itself is computed by :mod:`~sriovirt.network.binding`; a
``binding_failed`` result is not stored: the port is left unbound and
:class:`~sriovirt.exception.PortBindingFailed` raised, as the Neutron
backend does.
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
from sriovirt.network.api import PortBinding, in_use, unbound_fields
from sriovirt.network.binding_store import BindingStore, Transaction
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
            current = _view(base, state.get(port_id))
            # Checked in the transaction: a boot that read the port
            # unbound must not take it from one that bound it since.
            taken = in_use(current, binding.device_id)
            if taken is not None:
                raise exception.VifError(port_id=port_id, reason=taken)
            fields = binding.fields(current)
            result = rules.bind({**base, **fields}, network, binding)
            if not result.failed:
                overlay = {**fields, **result.fields()}
                state[port_id] = overlay
                return _view(base, overlay)
            # As the Neutron backend: the port is left unbound.
            self._unbind(base, port_id, current, state)
        raise exception.PortBindingFailed(
            port_id=port_id,
            host=binding.host,
            reason=f"binding:vif_type {rules.BINDING_FAILED}: "
            f"{result.reason}; left unbound",
        )

    def unbind_port(self, port_id: str) -> dict[str, Any]:
        doc = self._ports.load()
        base = self._base_port(doc, port_id)
        with self._state.transaction() as state:
            current = _view(base, state.get(port_id))
            return self._unbind(base, port_id, current, state)

    @staticmethod
    def _unbind(
        base: Mapping[str, Any],
        port_id: str,
        current: Mapping[str, Any],
        state: Transaction,
    ) -> dict[str, Any]:
        """Write ``port_id`` unbound into ``state``; the port as shown."""
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
