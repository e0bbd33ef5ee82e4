"""The whole exception tree of sriovirt.

Every error the project raises on purpose is a :class:`SriovirtError`.
Each class carries a ``msg_fmt`` whose fields name the offending value,
where it came from and what was wanted; callers pass those fields as
keyword arguments.  Library errors (libvirt, SQLAlchemy, HTTP) are
translated into these classes at the edge that talks to the library and
nowhere else.

This module must not import anything from the project.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SriovirtError(Exception):
    """Base of every error sriovirt raises on purpose."""

    msg_fmt: ClassVar[str] = "An unknown error occurred."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        if message is None:
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


class Invalid(SriovirtError):
    msg_fmt = "Invalid value: %(reason)s"


class ConfigError(Invalid):
    msg_fmt = "Invalid configuration: %(reason)s"


class ConfigFileError(ConfigError):
    msg_fmt = "Cannot use configuration file %(path)s: %(reason)s"


class InvalidConfigValue(ConfigError):
    msg_fmt = (
        "Invalid value %(value)r of %(option)s in %(path)s line %(line)d: "
        "%(reason)s"
    )


class LoggingSetupError(ConfigError):
    msg_fmt = (
        "Cannot set up logging: %(option)s %(value)r (from %(source)s): "
        "%(reason)s"
    )


class InvalidPciAddress(Invalid):
    msg_fmt = "Invalid PCI address %(address)r: %(reason)s"


class InvalidDeviceSpec(ConfigError):
    msg_fmt = "Invalid [pci] device_spec: %(reason)s"


class InvalidPciAlias(ConfigError):
    msg_fmt = "Invalid [pci] alias: %(reason)s"


class InvalidHostDevice(Invalid):
    msg_fmt = "Invalid host PCI device %(address)s: %(reason)s"


class InvalidPciRequest(Invalid):
    msg_fmt = "Invalid PCI request %(request_id)s: %(reason)s"


class InvalidPciStats(Invalid):
    msg_fmt = "Invalid PCI stats %(source)s: %(reason)s"


# --- PCI tracking and scheduling ------------------------------------------


class PciDeviceNotFound(SriovirtError):
    msg_fmt = "PCI device %(address)s is not tracked on this host"


class PciDeviceInvalidStatus(SriovirtError):
    msg_fmt = (
        "PCI device %(address)s is %(status)s; %(action)s needs it to be "
        "%(expected)s"
    )


class PciDeviceInvalidOwner(SriovirtError):
    msg_fmt = (
        "PCI device %(address)s is owned by instance %(owner)s, not "
        "%(instance_uuid)s"
    )


class PciRequestUnsatisfiable(SriovirtError):
    msg_fmt = (
        "PCI request %(request_id)s cannot be satisfied: %(reason)s "
        "(stage: %(stage)s)"
    )

    @property
    def stage(self) -> str:
        return str(self.kwargs.get("stage", ""))


# --- Virtualisation --------------------------------------------------------


class HypervisorError(SriovirtError):
    msg_fmt = "libvirt error on %(uri)s during %(operation)s: %(reason)s"


class HypervisorUnavailable(HypervisorError):
    msg_fmt = "Cannot connect to libvirt at %(uri)s: %(reason)s"


class InvalidXml(Invalid):
    msg_fmt = "Invalid %(what)s XML: %(reason)s"


class VifError(Invalid):
    msg_fmt = "Port %(port_id)s cannot be plugged: %(reason)s"


class InvalidImageProperty(Invalid):
    msg_fmt = (
        "Image property %(name)s=%(value)r is invalid: %(reason)s"
    )


class InvalidFlavorExtraSpec(Invalid):
    msg_fmt = (
        "Flavor extra spec %(name)s=%(value)r is invalid: %(reason)s"
    )


class FlavorImageConflict(Invalid):
    msg_fmt = (
        "Flavor extra spec %(flavor_key)s=%(flavor_value)r conflicts with "
        "image property %(image_key)s=%(image_value)r"
    )


# --- Persistence -----------------------------------------------------------


class DatabaseError(SriovirtError):
    msg_fmt = "Database error on %(connection)s: %(reason)s"


class DatabaseNotSynced(DatabaseError):
    msg_fmt = (
        "Database %(connection)s is at revision %(current)s, expected "
        "%(expected)s; run 'sriovirt-manage db sync'"
    )


class InvalidDatabaseUrl(DatabaseError):
    msg_fmt = "Invalid [database] connection %(connection)s: %(reason)s"


class DatabaseRevisionUnknown(DatabaseError):
    msg_fmt = (
        "Database %(connection)s is at revision %(revision)s, which this "
        "sriovirt does not know (its newest is %(head)s): a newer release "
        "probably upgraded it; refusing to use it. Run the release that "
        "wrote it, or restore a backup taken before that upgrade"
    )


class PciStateConflict(DatabaseError):
    msg_fmt = (
        "PCI state of compute node %(node)s was not written: %(reason)s"
    )
