"""The whole exception tree of sriovirt.

Every error the project raises on purpose is a :class:`SriovirtError`.
Each class carries a ``msg_fmt`` whose fields name the offending value,
where it came from and what was wanted; callers pass those fields as
keyword arguments, and only those: there is no way to hand over a whole
message instead (a message that needs other parts gets a class whose
``msg_fmt`` has fields for them).  Each field is then an attribute of
the error, declared on the class (``exc.reason``, ``exc.stage``), so
code that inspects an error reads typed attributes, never the message.

Library errors (libvirt, SQLAlchemy, HTTP) are translated into these
classes at the edge that talks to the library and nowhere else.

This module must not import anything from the project.  It is one
module over the usual size on purpose: the design wants one exception
module, so every error class (grouped by layer below) is found in one
place and no layer imports another's errors from elsewhere.
"""

from __future__ import annotations

from typing import Any, ClassVar

# Attributes every error has; a msg_fmt field must not shadow them.
_RESERVED = frozenset({"args", "kwargs", "message", "msg_fmt"})


class SriovirtError(Exception):
    """Base of every error sriovirt raises on purpose.

    ``kwargs`` are the fields of ``msg_fmt``; each becomes an attribute
    of the same name (subclasses declare them, so the type checker knows
    them).  ``kwargs`` stays readable as a whole for code that handles
    any error alike (logging); code reading one field uses its attribute.
    """

    msg_fmt: ClassVar[str] = "An unknown error occurred."

    def __init__(self, **kwargs: Any) -> None:
        clash = _RESERVED.intersection(kwargs)
        if clash:
            raise TypeError(
                f"{type(self).__name__}: {sorted(clash)} cannot be "
                "message fields"
            )
        self.kwargs = kwargs
        for name, value in kwargs.items():
            setattr(self, name, value)
        try:
            message = self.msg_fmt % kwargs
        except (KeyError, TypeError, ValueError) as exc:
            # A wrong format call is a bug in the caller; say so
            # instead of hiding the original error behind it.
            message = (
                f"{self.msg_fmt} (formatting failed: {exc!r}; "
                f"arguments {kwargs!r})"
            )
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


class NotFound(SriovirtError):
    """Base of the errors saying a named thing is not there (not
    found, not tracked, unknown)."""

    msg_fmt = "Resource could not be found."


class Invalid(SriovirtError):
    msg_fmt = "Invalid value: %(reason)s"

    reason: str


class ConfigError(Invalid):
    msg_fmt = "Invalid configuration: %(reason)s"


class ConfigFileError(ConfigError):
    msg_fmt = "Cannot use configuration file %(path)s: %(reason)s"

    path: str


class InvalidConfigValue(ConfigError):
    msg_fmt = (
        "Invalid value %(value)r of %(option)s in %(path)s line %(line)d: "
        "%(reason)s"
    )

    value: object
    option: str
    path: str
    line: int


class LoggingSetupError(ConfigError):
    msg_fmt = (
        "Cannot set up logging: %(option)s %(value)r (from %(source)s): "
        "%(reason)s"
    )

    option: str
    value: object
    source: str


class InvalidConfigOption(ConfigError):
    """A multi-valued JSON option (device_spec, alias) as a whole is
    wrong: not a list of values."""

    msg_fmt = "Invalid %(option)s: %(reason)s"

    option: str


class InvalidConfigEntry(InvalidConfigOption):
    """One entry of a multi-valued JSON option is wrong.

    Built by :func:`sriovirt.pci.config_entries.config_error` only:
    ``where`` is the entry said in words ("entry 3 (item 1 of value
    2)"), ``entry`` its JSON text, ``field`` the key at fault;
    ``position``, ``value`` and ``item`` are the numbers behind
    ``where``.  ``option_error`` is the class of the same option's
    whole-option errors.
    """

    msg_fmt = "Invalid %(option)s: %(where)s %(entry)s: %(field)s: %(reason)s"

    option_error: ClassVar[type[InvalidConfigOption]] = InvalidConfigOption

    where: str
    entry: str
    field: str
    position: int
    value: int
    item: int | None


class InvalidPciAddress(Invalid):
    msg_fmt = "Invalid PCI address %(address)r: %(reason)s"

    address: object


class InvalidDeviceSpec(InvalidConfigOption):
    """``[pci] device_spec`` (or a deprecated name of it) is wrong."""


class InvalidDeviceSpecEntry(InvalidConfigEntry, InvalidDeviceSpec):
    option_error = InvalidDeviceSpec


class InvalidPciAlias(InvalidConfigOption):
    """``[pci] alias`` is wrong."""


class InvalidPciAliasEntry(InvalidConfigEntry, InvalidPciAlias):
    option_error = InvalidPciAlias


class InvalidHostDevice(Invalid):
    msg_fmt = "Invalid host PCI device %(address)s: %(reason)s"

    address: object


class InvalidPciRequest(Invalid):
    msg_fmt = "Invalid PCI request %(request_id)s: %(reason)s"

    request_id: str | None


class InvalidPciStats(Invalid):
    msg_fmt = "Invalid PCI stats %(source)s: %(reason)s"

    source: str


# --- PCI tracking and scheduling ------------------------------------------


class PciDeviceNotFound(NotFound):
    msg_fmt = "PCI device %(address)s is not tracked on this host"

    address: object


class PciDeviceInvalidStatus(SriovirtError):
    msg_fmt = (
        "PCI device %(address)s is %(status)s; %(action)s needs it to be "
        "%(expected)s"
    )

    address: object
    status: str
    action: str
    expected: str


class PciDeviceInvalidOwner(SriovirtError):
    msg_fmt = (
        "PCI device %(address)s is owned by instance %(owner)s, not "
        "%(instance_uuid)s"
    )

    address: object
    owner: str | None
    instance_uuid: str


class PciRequestUnsatisfiable(SriovirtError):
    msg_fmt = (
        "PCI request %(request_id)s cannot be satisfied: %(reason)s "
        "(stage: %(stage)s)"
    )

    request_id: str | None
    reason: str
    #: Which check said no (a ``sriovirt.pci.filters`` stage name).
    stage: str


class InvalidRequestSpec(Invalid):
    """A boot request the scheduler cannot turn into a Placement query
    (a port that needs a device but names no physical network, ...)."""

    msg_fmt = "Invalid scheduling request (%(source)s): %(reason)s"

    source: str


class TraitConflict(Invalid):
    """Two parts of one boot request disagree on a trait."""

    msg_fmt = (
        "Trait %(trait)s is %(wanted)s by %(wanted_by)s but %(denied)s by "
        "%(denied_by)s"
    )

    trait: str
    wanted: str
    wanted_by: str
    denied: str
    denied_by: str


class InvalidAllocationCandidates(SriovirtError):
    """Placement's allocation-candidates answer is not what 1.39 gives."""

    msg_fmt = "Invalid allocation candidates from Placement: %(reason)s"

    reason: str


class NoValidHost(SriovirtError):
    """No host passed Placement and the host filters.

    ``candidates`` is how many hosts Placement returned, ``query`` the
    allocation-candidates query sent, ``removed`` what each host filter
    removed and why (already in words).
    """

    msg_fmt = (
        "No valid host: Placement returned %(candidates)d candidate "
        "host(s) for GET /allocation_candidates?%(query)s; %(removed)s"
    )

    candidates: int
    query: str
    removed: str


# --- Virtualisation --------------------------------------------------------


class HypervisorError(SriovirtError):
    msg_fmt = "libvirt error on %(uri)s during %(operation)s: %(reason)s"

    uri: str
    operation: str
    reason: str


class InstanceExists(HypervisorError):
    """A guest of that UUID or name is already defined: spawn never
    replaces a definition."""


class HypervisorUnavailable(HypervisorError):
    msg_fmt = "Cannot connect to libvirt at %(uri)s: %(reason)s"


class InvalidXml(Invalid):
    msg_fmt = "Invalid %(what)s XML: %(reason)s"

    what: str


class VifError(Invalid):
    msg_fmt = "Port %(port_id)s cannot be plugged: %(reason)s"

    port_id: str


class PortNotFound(NotFound):
    msg_fmt = "Port %(port_id)s not found in %(source)s"

    port_id: str
    source: str


class NetworkNotFound(NotFound):
    msg_fmt = "Network %(network_id)s not found in %(source)s"

    network_id: str
    source: str


class InvalidNetworkFile(Invalid):
    """The static network backend's ports file or binding state file."""

    msg_fmt = "Invalid %(what)s %(path)s: %(reason)s"

    what: str
    path: str


class InvalidImageProperty(Invalid):
    msg_fmt = "Image property %(name)s=%(value)r is invalid: %(reason)s"

    name: str
    value: object


class InvalidFlavorExtraSpec(Invalid):
    msg_fmt = "Flavor extra spec %(name)s=%(value)r is invalid: %(reason)s"

    name: str
    value: object


class FlavorImageConflict(Invalid):
    msg_fmt = (
        "Flavor extra spec %(flavor_key)s=%(flavor_value)r conflicts with "
        "image property %(image_key)s=%(image_value)r"
    )

    flavor_key: str
    flavor_value: object
    image_key: str
    image_value: object


# --- Compute manager -------------------------------------------------------


class SchedulingFailed(SriovirtError):
    """Every host tried for a boot failed it (or Placement refused its
    claim): ``attempts`` names each try and why, in order."""

    msg_fmt = (
        "Server %(instance)s was not booted: %(count)d host(s) tried: "
        "%(attempts)s"
    )

    instance: str
    count: int
    attempts: str


class BuildFailed(SriovirtError):
    """A boot failed at ``step``; ``aftermath`` says whether every
    earlier step was rolled back or what is left for reconcile."""

    msg_fmt = (
        "Boot of server %(instance)s failed at step %(step)s: %(reason)s "
        "(%(aftermath)s)"
    )

    instance: str
    step: str
    reason: str
    aftermath: str


class DeleteFailed(SriovirtError):
    """A delete stopped at ``step``; the steps before it are done and the
    server's rows are kept, so the delete can be run again."""

    msg_fmt = (
        "Delete of server %(instance)s failed at step %(step)s: %(reason)s "
        "(the server's rows are kept; run the delete again)"
    )

    instance: str
    step: str
    reason: str


class ServerNameInUse(Invalid):
    msg_fmt = (
        "Server name %(name)r is already used on host %(host)s by server "
        "%(uuid)s; names are unique per host"
    )

    name: str
    host: str
    uuid: str


class ServerBusy(SriovirtError):
    """Another live process is booting or deleting the server."""

    msg_fmt = (
        "Server %(server)s on host %(host)s is being booted or deleted by "
        "another live process; try again when it is done"
    )

    server: str
    host: str


class ServerNotFound(NotFound):
    msg_fmt = "Server %(server)s not found on host %(host)s"

    server: str
    host: str


class ServiceNotFound(NotFound):
    msg_fmt = (
        "No %(binary)s service on host %(host)s in %(database)s: "
        "it registers at its first start"
    )

    binary: str
    host: str
    database: str


# --- Persistence -----------------------------------------------------------


class DatabaseError(SriovirtError):
    msg_fmt = "Database error on %(connection)s: %(reason)s"

    connection: str
    reason: str


class DatabaseNotSynced(DatabaseError):
    msg_fmt = (
        "Database %(connection)s is at revision %(current)s, expected "
        "%(expected)s; run 'sriovirt-manage db sync'"
    )

    current: str | None
    expected: str | None


class InvalidDatabaseUrl(DatabaseError):
    msg_fmt = "Invalid [database] connection %(connection)s: %(reason)s"


class DatabaseRevisionUnknown(DatabaseError):
    msg_fmt = (
        "Database %(connection)s is at revision %(revision)s, which this "
        "sriovirt does not know (its newest is %(head)s): a newer release "
        "probably upgraded it; refusing to use it. Run the release that "
        "wrote it, or restore a backup taken before that upgrade"
    )

    revision: str
    head: str | None


class PciStateConflict(DatabaseError):
    msg_fmt = "PCI state of compute node %(node)s was not written: %(reason)s"

    node: str


# --- Neutron -----------------------------------------------------------------


class NeutronError(SriovirtError):
    """A Neutron API call failed (an answer that is not 2xx, or none)."""

    msg_fmt = (
        "Neutron %(call)s for %(subject)s failed after %(attempts)d "
        "attempt(s): %(status)s"
    )

    call: str
    subject: str
    attempts: int
    status: str


class NeutronUnavailable(NeutronError):
    """No answer, or 5xx answers, until the retries ran out."""


class PortBindingFailed(SriovirtError):
    """No mechanism driver bound the port (``binding_failed``); the
    backend unbound it again (the reason says when that failed)."""

    msg_fmt = "Port %(port_id)s failed to bind on host %(host)s: %(reason)s"

    port_id: str
    host: str
    reason: str


# --- Placement ---------------------------------------------------------------


class PlacementError(SriovirtError):
    """Placement answered a request with an error, or could not be
    loaded (embedded)."""

    msg_fmt = "Placement at %(endpoint)s: %(reason)s"

    endpoint: str
    reason: str


class PlacementUnavailable(PlacementError):
    """No answer from Placement (connection refused or reset, timeout),
    or a 5xx answer: nothing local was changed, the next sync retries."""


# --- compute RPC -------------------------------------------------------------


class ComputeRPCError(SriovirtError):
    """A call to a compute service over the message bus failed."""

    msg_fmt = (
        "%(method)s on compute host %(host)s (topic %(topic)s): %(reason)s"
    )

    method: str
    host: str
    topic: str
    reason: str


class ComputeUnreachable(ComputeRPCError):
    """No answer in time (the host's service is down or not consuming),
    or the message bus could not be reached within the retries: the
    call may not have been delivered."""


class ComputeServiceDown(ComputeRPCError):
    """The services table says the host's service is down or disabled;
    nothing was sent."""


class RemoteComputeError(ComputeRPCError):
    """The compute service ran the call and it raised; ``error`` is the
    remote error's class name, ``reason`` its message."""

    msg_fmt = (
        "%(method)s on compute host %(host)s (topic %(topic)s) failed: "
        "%(error)s: %(reason)s"
    )

    error: str


class RPCVersionTooNew(ComputeRPCError):
    """The call needs an RPC version above ``[upgrade_levels] compute``."""


class ServerInDoubt(ComputeRPCError):
    """A boot's call went unanswered after the host wrote the server's
    row: the host may still finish it or its reconcile rolls it back,
    so it is not retried elsewhere and its allocation is kept."""

    msg_fmt = (
        "%(method)s on compute host %(host)s (topic %(topic)s) got no "
        "answer, but server %(server)s is journalled there as "
        "%(vm_state)s/%(task_state)s: not retried on another host; its "
        "Placement allocation is kept until host %(host)s finishes the "
        "boot or its reconcile (at the service's restart, or `sriovirt "
        "compute reconcile`) rolls it back and deletes the allocation "
        "(%(reason)s)"
    )

    server: str
    vm_state: str
    task_state: str


class InstanceUuidInUse(SriovirtError):
    """A boot names an instance uuid whose row is another server's, or
    the same server's on another host or still in flight."""

    msg_fmt = (
        "Boot of server %(name)r refused on host %(host)s: instance uuid "
        "%(uuid)s already has a row (server %(other)r on host "
        "%(other_host)s, %(state)s); a boot is run once per uuid"
    )

    name: str
    host: str
    uuid: str
    other: str
    other_host: str
    state: str
