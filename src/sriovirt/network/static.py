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
  the process: every change is a read-modify-write under an exclusive
  ``fcntl`` lock on a lock file beside it, written to a temporary file
  and renamed over it, so concurrent processes never lose each other's
  bindings and a reader never sees half a file.  A port another device
  holds (its ``device_id``) is not bound again, checked under that lock:
  of two boots racing for one port, one binds it and the other fails.

The binding itself is computed by :mod:`~sriovirt.network.binding`; a
``binding_failed`` result is not stored: the port is left unbound and
:class:`~sriovirt.exception.PortBindingFailed` raised, as the Neutron
backend does.
This module must not read configuration (paths are passed in) and must
not talk to Neutron.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sriovirt import exception
from sriovirt.network import binding as rules
from sriovirt.network.api import PortBinding, in_use, unbound_fields
from sriovirt.network.checks import show
from sriovirt.network.ports_file import Document, PortsFile

STATE_WHAT = "port binding state file"
STATE_VERSION = 1
#: The only keys a binding overlays on a port of the ports file.
OVERLAY_KEYS = frozenset(
    {
        "binding:host_id",
        "device_id",
        "device_owner",
        "binding:profile",
        "binding:vif_type",
        "binding:vif_details",
    }
)
UNBOUND = {"binding:vif_type": "unbound", "binding:vif_details": {}}

State = dict[str, dict[str, Any]]


class StaticNetwork:
    """Networks and ports of a file; bindings in a state file."""

    def __init__(self, *, ports_file: Path, state_file: Path) -> None:
        self._ports = PortsFile(Path(ports_file))
        self.state_file = Path(state_file)
        self._lock_file = self.state_file.with_name(
            self.state_file.name + ".lock"
        )

    def show_port(self, port_id: str) -> dict[str, Any]:
        doc = self._ports.load()
        base = self._base_port(doc, port_id)
        return _view(base, _read_state(self.state_file).get(port_id))

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
        with self._locked_state() as state:
            current = _view(base, state.get(port_id))
            # Checked under the lock: a boot that read the port unbound
            # must not take it from one that bound it since.
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
        with self._locked_state() as state:
            current = _view(base, state.get(port_id))
            return self._unbind(base, port_id, current, state)

    @staticmethod
    def _unbind(
        base: Mapping[str, Any],
        port_id: str,
        current: Mapping[str, Any],
        state: State,
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
        state = _read_state(self.state_file)
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

    @contextlib.contextmanager
    def _locked_state(self) -> Iterator[State]:
        """The state under an exclusive lock; written back on success."""
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_file, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                state = _read_state(self.state_file)
                yield state
                _write_state(self.state_file, state)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _view(
    base: Mapping[str, Any], overlay: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The port as shown: the file's body with the binding laid over."""
    port = {**base, **(overlay or {})}
    return copy.deepcopy(port)


def _read_state(path: Path) -> State:
    """The bindings per port id; a missing file means none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad_state(path, f"cannot be read: {exc}") from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad_state(
            path,
            f"is not JSON ({exc.msg} at line {exc.lineno} column "
            f"{exc.colno}); it is only written whole, so it was damaged "
            "outside sriovirt",
        ) from None
    return _state_ports(path, body)


def _state_ports(path: Path, body: object) -> State:
    if not isinstance(body, dict) or body.get("version") != STATE_VERSION:
        raise _bad_state(
            path,
            f"is not an object with version {STATE_VERSION} "
            f"(got {show(body)})",
        )
    ports = body.get("ports")
    if not isinstance(ports, dict):
        raise _bad_state(path, f"ports {show(ports)} is not an object")
    for port_id, overlay in ports.items():
        if not isinstance(overlay, dict) or not set(overlay) <= OVERLAY_KEYS:
            raise _bad_state(
                path,
                f"ports.{port_id} {show(overlay)} is not an object of "
                f"{', '.join(sorted(OVERLAY_KEYS))}",
            )
    return ports


def _write_state(path: Path, state: State) -> None:
    """Replace the state file whole (temporary file, fsync, rename)."""
    body = {"version": STATE_VERSION, "ports": state}
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _bad_state(path: Path, reason: str) -> exception.InvalidNetworkFile:
    return exception.InvalidNetworkFile(
        what=STATE_WHAT, path=str(path), reason=reason
    )
