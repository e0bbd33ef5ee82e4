"""The connection to libvirt: the ONLY module that imports libvirt.

:class:`Host` opens ``[libvirt] connection_uri`` lazily, reconnects when
the connection drops, and translates every ``libvirtError`` into a
:class:`~sriovirt.exception.HypervisorError` naming the URI and the
operation.  It hands out raw XML strings, version integers and domain
summaries (:class:`~sriovirt.virt.driver.GuestSummary`, libvirt's states
mapped to :class:`~sriovirt.virt.driver.InstanceState`); "no such
domain" is an answer (None, False), not an error.  Parsing and policy
live elsewhere (``inventory``, ``xml/``, ``traits``, ``guest``,
``driver``).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import libvirt

from sriovirt import exception
from sriovirt.virt.driver import GuestSummary, InstanceState
from sriovirt.virt.libvirt.version import int_to_version

T = TypeVar("T")

# libvirt prints every error to stderr unless a handler is registered; we
# report errors ourselves, with context, through exceptions.
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: InstanceState.UNKNOWN,
    libvirt.VIR_DOMAIN_RUNNING: InstanceState.RUNNING,
    # Blocked on a resource (I/O): still a running guest.
    libvirt.VIR_DOMAIN_BLOCKED: InstanceState.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: InstanceState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: InstanceState.SHUTTING_DOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: InstanceState.SHUT_OFF,
    libvirt.VIR_DOMAIN_CRASHED: InstanceState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: InstanceState.SUSPENDED,
}

# Managed-save images and snapshot metadata belong to the definition:
# forgetting the guest forgets them too (the test driver knows these two
# flags; NVRAM is not one of them).
_UNDEFINE_FLAGS = (
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
)

_NODEDEV_FLAGS = (
    libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV
    | libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET
)


@dataclass(frozen=True, slots=True)
class Versions:
    """Library and hypervisor versions, as libvirt integers."""

    lib_version: int
    hv_version: int
    hv_type: str

    @staticmethod
    def format(version: int) -> str:
        """``6003000`` -> ``"6.3.0"``; the decoding traits.py reports."""
        return int_to_version(version)


class Host:
    """A libvirt host reached through one URI."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._conn: libvirt.virConnect | None = None
        self._lock = threading.Lock()

    # -- connection ---------------------------------------------------------

    def _connect(self) -> libvirt.virConnect:
        with self._lock:
            conn = self._conn
            if conn is not None:
                with contextlib.suppress(libvirt.libvirtError):
                    if conn.isAlive():
                        return conn
                self._conn = None
            problem = _test_driver_file_problem(self.uri)
            if problem is not None:
                raise exception.HypervisorUnavailable(
                    uri=self.uri, reason=problem
                )
            try:
                conn = libvirt.open(self.uri)
            except libvirt.libvirtError as exc:
                raise exception.HypervisorUnavailable(
                    uri=self.uri, reason=_reason(exc)
                ) from None
            self._conn = conn
            return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(libvirt.libvirtError):
                    self._conn.close()
                self._conn = None

    def _call(
        self, operation: str, func: Callable[[libvirt.virConnect], T]
    ) -> T:
        """Run ``func`` on a live connection; retry once if it dropped."""
        for attempt in (1, 2):
            conn = self._connect()
            try:
                return func(conn)
            except libvirt.libvirtError as exc:
                dropped = exc.get_error_code() in (
                    libvirt.VIR_ERR_SYSTEM_ERROR,
                    libvirt.VIR_ERR_INTERNAL_ERROR,
                    libvirt.VIR_ERR_RPC,
                ) and not _alive(conn)
                if dropped and attempt == 1:
                    with self._lock:
                        self._conn = None
                    continue
                raise exception.HypervisorError(
                    uri=self.uri, operation=operation, reason=_reason(exc)
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- facts ----------------------------------------------------------------

    def versions(self) -> Versions:
        def get(conn: libvirt.virConnect) -> Versions:
            return Versions(
                lib_version=conn.getLibVersion(),
                hv_version=conn.getVersion(),
                hv_type=conn.getType(),
            )

        return self._call("version query", get)

    def node_info(self) -> tuple[int, int]:
        """``(logical CPUs, memory in MiB)`` of the host
        (``virNodeGetInfo``)."""

        def get(conn: libvirt.virConnect) -> tuple[int, int]:
            info = conn.getInfo()
            return int(info[2]), int(info[1])

        return self._call("node info query", get)

    def node_device_xmls(self) -> list[str]:
        """XML of every PCI and network node device of the host."""

        def get(conn: libvirt.virConnect) -> list[str]:
            return [d.XMLDesc(0) for d in conn.listAllDevices(_NODEDEV_FLAGS)]

        return self._call("node device listing", get)

    # -- domains --------------------------------------------------------------

    def define(self, xml: str, validate: bool = True) -> str:
        """Define a domain; returns its UUID."""
        flags = libvirt.VIR_DOMAIN_DEFINE_VALIDATE if validate else 0

        def define(conn: libvirt.virConnect) -> str:
            return str(conn.defineXMLFlags(xml, flags).UUIDString())

        return self._call("domain define", define)

    def start(self, uuid: str, paused: bool = False) -> None:
        flags = libvirt.VIR_DOMAIN_START_PAUSED if paused else 0
        self._call(
            f"start of domain {uuid}",
            lambda conn: conn.lookupByUUIDString(uuid).createWithFlags(flags),
        )

    def destroy_and_undefine(self, uuid: str) -> bool:
        """Stop and forget a domain; False when it did not exist.

        A transient domain disappears when stopped; a domain that goes
        away while this runs counts as gone, not as an error.
        """

        def remove(conn: libvirt.virConnect) -> bool:
            dom = _lookup(conn, uuid)
            if dom is None:
                return False
            with _gone_is_fine():
                if dom.isActive():
                    dom.destroy()
                if dom.isPersistent():
                    dom.undefineFlags(_UNDEFINE_FLAGS)
            return True

        return self._call(f"removal of domain {uuid}", remove)

    def undefine(self, uuid: str) -> bool:
        """Forget a domain's definition, running or not; False when it
        had none (missing or transient)."""

        def forget(conn: libvirt.virConnect) -> bool:
            dom = _lookup(conn, uuid)
            if dom is None or not dom.isPersistent():
                return False
            dom.undefineFlags(_UNDEFINE_FLAGS)
            return True

        return self._call(f"undefine of domain {uuid}", forget)

    def domain(self, uuid: str) -> GuestSummary | None:
        """The domain of ``uuid``, or None when libvirt has none."""

        def get(conn: libvirt.virConnect) -> GuestSummary | None:
            dom = _lookup(conn, uuid)
            return None if dom is None else _summary(dom)

        return self._call(f"lookup of domain {uuid}", get)

    def domain_by_name(self, name: str) -> GuestSummary | None:
        """The domain called ``name``, or None when libvirt has none."""

        def get(conn: libvirt.virConnect) -> GuestSummary | None:
            try:
                return _summary(conn.lookupByName(name))
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    return None
                raise

        return self._call(f"lookup of domain {name!r}", get)

    def domains(self) -> list[GuestSummary]:
        """Every domain, running or not, defined or transient."""

        def get(conn: libvirt.virConnect) -> list[GuestSummary]:
            found = []
            for dom in conn.listAllDomains():
                # A domain stopped meanwhile is simply not listed.
                with _gone_is_fine():
                    found.append(_summary(dom))
            return found

        return self._call("domain listing", get)

    def domain_xml(self, uuid: str, inactive: bool = False) -> str:
        """The domain's XML: live, or its definition (``inactive``:
        what defining it again takes, without the running state)."""
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0
        return self._call(
            f"XML of domain {uuid}",
            lambda conn: str(conn.lookupByUUIDString(uuid).XMLDesc(flags)),
        )

    def domain_uuids(self) -> list[str]:
        """UUIDs of every defined domain, running or not."""
        return self._call(
            "domain listing",
            lambda conn: [str(d.UUIDString()) for d in conn.listAllDomains()],
        )


def _lookup(conn: libvirt.virConnect, uuid: str) -> libvirt.virDomain | None:
    try:
        return conn.lookupByUUIDString(uuid)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise


@contextlib.contextmanager
def _gone_is_fine() -> Iterator[None]:
    """Swallow "no such domain": it vanished (transient, or removed by
    someone else) between lookup and use."""
    try:
        yield
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise


def _summary(dom: libvirt.virDomain) -> GuestSummary:
    state, _reason = dom.state()
    return GuestSummary(
        uuid=str(dom.UUIDString()),
        name=str(dom.name()),
        state=_STATES.get(state, InstanceState.UNKNOWN),
        persistent=bool(dom.isPersistent()),
    )


def _alive(conn: libvirt.virConnect) -> bool:
    try:
        return bool(conn.isAlive())
    except libvirt.libvirtError:
        return False


# Control characters other than newlines, which are handled as lines.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def _reason(exc: libvirt.libvirtError) -> str:
    """libvirt's message as one line, with its error code."""
    message = exc.get_error_message() or str(exc)
    lines = [line.strip() for line in message.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) >= 3 and set(lines[-1]) == {"^"}:
        # libxml2's parse errors quote the offending line of the file and
        # draw a caret under it: noise on one line, and the quoted text
        # may be a secret (``--host-xml /etc/shadow``).
        lines = lines[:-2]
    text = lines[0] if lines else "no message"
    for line in lines[1:]:
        # "monitor:" + "qemu: ..." reads as one sentence; else separate.
        text += (" " if text[-1] in ":;,." else "; ") + line
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return f"{text} (libvirt error code {exc.get_error_code()})"


def _test_driver_file_problem(uri: str) -> str | None:
    """Why the host file of a ``test:///path`` URI cannot be read, or None.

    Checked before libvirt opens it: for a missing file libxml2 prints
    an "I/O warning" straight to stderr, beside the error we raise.
    """
    parts = urlsplit(uri)
    if parts.scheme != "test" or parts.netloc or parts.path == "/default":
        return None
    path = parts.path
    if not os.path.exists(path):
        return f"the test driver's host file {path!r} does not exist"
    if not os.path.isfile(path):
        return f"the test driver's host file {path!r} is not a file"
    if not os.access(path, os.R_OK):
        return f"the test driver's host file {path!r} is not readable"
    return None
