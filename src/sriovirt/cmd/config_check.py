"""``sriovirt config check``: validate the whole configuration.

Every check runs even when an earlier one failed, so the operator sees all
problems at once, each with the option, the file it came from and the
reason.  Exit status 1 when any error was found, 0 otherwise (warnings do
not fail the check).  A database that is empty or behind the newest
schema is an error: the ``pci`` commands refuse to run on it.

This module must not change anything (no database write, no schema
upgrade): it reads, asks the compute driver and the database, and
reports.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import os
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from oslo_config import cfg

from sriovirt import conf as sriovirt_conf
from sriovirt import exception
from sriovirt.cmd import (
    compute_driver,
    host_name,
    libvirt_uri,
    option_source,
    output,
)
from sriovirt.conf import pci as pci_conf
from sriovirt.conf import placement as placement_conf
from sriovirt.db import api as db_api
from sriovirt.pci import alias, whitelist


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    OK = "ok"


@dataclasses.dataclass(frozen=True)
class Finding:
    severity: Severity
    option: str
    source: str
    message: str


#: Where an option's value came from (a file, or the default).
source_of = option_source


def _check_option_values(conf: cfg.ConfigOpts) -> Iterator[Finding]:
    """Every sriovirt option's value parses (type, choices, bounds).

    The checks below look deeper at some options; this one is what makes
    a bad value of any other option (``[libvirt] rx_queue_size = 100``)
    an error here rather than at the first use.
    """
    for group, opts in sriovirt_conf.list_opts():
        section = conf if group == "DEFAULT" else conf[group]
        for opt in opts:
            try:
                section[opt.dest]
            except cfg.Error as exc:
                # oslo.config says "Value for option X from <location>
                # is not valid: REASON" and, for a value that does not
                # parse, cannot say where it is: read the files again.
                text = str(exc)
                reason = text.partition(" is not valid: ")[2] or text
                source, raw = _file_value(conf, group, opt.name)
                yield Finding(
                    Severity.ERROR,
                    f"[{group}] {opt.name}",
                    source,
                    f"invalid value {raw!r}: {reason}"
                    if raw is not None
                    else f"invalid value: {reason}",
                )


def _file_value(
    conf: cfg.ConfigOpts, group: str, name: str
) -> tuple[str, str | None]:
    """The file and raw text of an option's value (the last file wins)."""
    for path in reversed(conf.config_file):
        sections: dict[str, dict[str, list[str]]] = {}
        try:
            cfg.ConfigParser(path, sections).parse()
        except (OSError, cfg.Error):
            continue
        values = sections.get(group, {}).get(name)
        if values:
            return os.path.abspath(path), values[-1]
    return "unknown", None


def _check_device_spec(conf: cfg.ConfigOpts) -> Iterator[Finding]:
    source = source_of(conf, "device_spec", "pci")
    # Each value labelled with the option it came from (deprecated names
    # included), so messages name the line the operator wrote.
    values = pci_conf.device_spec_values(conf)
    errors, warnings = whitelist.Whitelist.option_problems(values)
    for error in errors:
        yield Finding(Severity.ERROR, "[pci] device_spec", source, str(error))
    for warning in warnings:
        yield Finding(Severity.WARNING, "[pci] device_spec", source, warning)
    if not errors:
        wl = whitelist.Whitelist.from_options(values)
        yield Finding(
            Severity.OK,
            "[pci] device_spec",
            source,
            f"{len(wl.entries)} entries",
        )


def _check_alias(conf: cfg.ConfigOpts) -> Iterator[Finding]:
    source = source_of(conf, "alias", "pci")
    values = list(conf.pci.alias)
    # Every bad alias at once, as for device_spec, not just the first.
    errors, warnings = alias.problems(values)
    for error in errors:
        yield Finding(Severity.ERROR, "[pci] alias", source, str(error))
    for warning in warnings:
        yield Finding(Severity.WARNING, "[pci] alias", source, warning)
    if errors:
        return
    aliases = alias.parse_aliases(values)
    yield Finding(
        Severity.OK,
        "[pci] alias",
        source,
        f"{len(aliases)} aliases: {', '.join(sorted(aliases)) or 'none'}",
    )


def _check_host(conf: cfg.ConfigOpts) -> Iterator[Finding]:
    source = source_of(conf, "host", None)
    try:
        host = host_name(conf)
    except exception.ConfigError as exc:
        yield Finding(Severity.ERROR, "[DEFAULT] host", source, str(exc))
        return
    yield Finding(Severity.OK, "[DEFAULT] host", source, host)


def _check_libvirt(conf: cfg.ConfigOpts) -> Iterator[Finding]:
    source = source_of(conf, "connection_uri", "libvirt")
    try:
        uri = libvirt_uri(conf)
        versions = compute_driver(conf, uri).host_versions()
    except (exception.ConfigError, exception.HypervisorError) as exc:
        yield Finding(
            Severity.ERROR, "[libvirt] connection_uri", source, str(exc)
        )
        return
    yield Finding(
        Severity.OK,
        "[libvirt] connection_uri",
        source,
        f"{uri}: libvirt {versions.library}, "
        f"{versions.hypervisor_type} {versions.hypervisor}",
    )


def _check_database(conf: cfg.ConfigOpts) -> Iterator[Finding]:
    source = source_of(conf, "connection", "database")
    url = str(conf.database.connection)
    try:
        with db_api.Database(url) as database:
            step = database.check_synced()
    except exception.DatabaseNotSynced as exc:
        # Empty or behind: every `pci` command refuses to run on it, so
        # the configuration does not work until the fix in the message
        # ('sriovirt-manage db sync') is applied.
        yield Finding(
            Severity.ERROR, "[database] connection", source, str(exc)
        )
        return
    except exception.SriovirtError as exc:
        yield Finding(
            Severity.ERROR, "[database] connection", source, str(exc)
        )
        return
    yield Finding(
        Severity.OK,
        "[database] connection",
        source,
        f"{db_api.mask_url(url)} at revision {step.revision}",
    )


def _check_placement(conf: cfg.ConfigOpts) -> Iterator[Finding]:
    """Which Placement the report goes to (nothing is contacted)."""
    mode = placement_conf.mode(conf)
    if mode is placement_conf.Mode.EMBEDDED:
        source = source_of(conf, "state_path", None)
        where = (
            f"embedded: openstack-placement in-process on "
            f"{conf.state_path}/placement.sqlite"
        )
    elif mode is placement_conf.Mode.NOAUTH:
        source = source_of(conf, "endpoint_override", "placement")
        where = (
            f"remote, noauth2: {conf.placement.endpoint_override} "
            "(no auth_type set)"
        )
    else:
        source = source_of(conf, "auth_type", "placement")
        where = (
            f"remote through Keystone: auth_type "
            f"{conf.placement.auth_type}"
            + (
                f", endpoint {conf.placement.endpoint_override}"
                if conf.placement.endpoint_override
                else ", endpoint from the catalog"
            )
        )
    yield Finding(Severity.OK, "[placement]", source, where)


CHECKS: tuple[Callable[[cfg.ConfigOpts], Iterator[Finding]], ...] = (
    _check_option_values,
    _check_host,
    _check_device_spec,
    _check_alias,
    _check_libvirt,
    _check_database,
    _check_placement,
)


def findings(conf: cfg.ConfigOpts) -> list[Finding]:
    found: list[Finding] = []
    for check in CHECKS:
        try:
            found.extend(check(conf))
        except cfg.Error as exc:
            # A value oslo.config itself rejects (wrong type, bad choice).
            found.append(
                Finding(Severity.ERROR, check.__name__, "config", str(exc))
            )
    return found


@dataclasses.dataclass(frozen=True)
class CheckReport:
    config_files: list[str]
    findings: list[Finding]

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity is Severity.WARNING for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config_files": list(self.config_files),
            "errors": self.errors,
            "warnings": self.warnings,
            "findings": [
                {**dataclasses.asdict(f), "severity": f.severity.value}
                for f in self.findings
            ],
        }


class ConfigCheck(output.Document[CheckReport]):
    """validate the configuration and print every problem"""

    # `--format text` was the readable form's name before cliff.
    human_formats = ("text",)

    def report(self, parsed_args: argparse.Namespace) -> CheckReport:
        conf = output.conf_of(self)
        return CheckReport(list(conf.config_file), findings(conf))

    def render(
        self,
        report: CheckReport,
        out: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        for f in report.findings:
            print(
                f"{f.severity.upper():7}  {f.option} ({f.source}): "
                f"{f.message}",
                file=out,
            )
        files = ", ".join(report.config_files) or "no configuration file"
        print(
            f"configuration {files}: {report.errors} error(s), "
            f"{report.warnings} warning(s)",
            file=out,
        )

    def status(self, report: CheckReport) -> int:
        return 1 if report.errors else 0
