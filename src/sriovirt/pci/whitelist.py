"""The ``[pci] device_spec`` whitelist: every entry, indexed for matching.

:class:`Whitelist` turns the option's values (as oslo.config hands over a
MultiStrOpt: each a JSON object or a JSON list of objects) into ordered
:class:`~sriovirt.pci.devspec.DeviceSpec` entries, answers "which entry
selects this device" (the first one in config order) and explains, entry
by entry, why a device was or was not selected.

Matching must stay flat per device as hosts grow to thousands of VFs and
whitelists to one entry per PF, so no device scans every entry: entries
naming one exact address are found through a dict keyed by
:class:`~sriovirt.pci.address.PciAddress`, ``devname`` entries through a
dict keyed by interface name, and every other entry sits in a bucket keyed
by what it pins exactly (vendor id, product id, the bus of a glob
address; ``None`` for a wildcard).  A device looks up only the buckets its
own values (or wildcards) select and visits their entries in config
order, so first-match-wins is kept and the cost per device does not grow
with the number of entries that pin something else.

This module must not read host state or configuration itself; it gets
the option's values and the inventory's devices as plain values.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Sequence

from sriovirt import exception
from sriovirt.pci.address_match import AddressGlob
from sriovirt.pci.config_entries import (
    ConfigEntry,
    EntryOrigin,
    OptionValue,
    iter_config_entries,
    iter_option_values,
)
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.pci.devspec import DEFAULT_OPTION, DeviceSpec

LOG = logging.getLogger(__name__)


#: What an entry pins exactly: vendor id, product id, bus (None = any).
_PinKey = tuple[str | None, str | None, int | None]


def _pins(spec: DeviceSpec) -> _PinKey:
    """The bucket of an entry that names no exact address or devname."""
    address = spec.address
    bus = address.bus if isinstance(address, AddressGlob) else None
    return (spec.vendor_id, spec.product_id, bus)


def _index_decides(spec: DeviceSpec) -> bool:
    """Whether finding the entry through its index key means a match."""
    if spec.devname is not None:
        return False
    if spec.exact_address is not None:
        # The address index is probed with the device's own address and,
        # for a VF only, its PF's: exactly what the entry's match asks.
        return spec.vendor_id is None and spec.product_id is None
    return _bucket_decides(spec)


def _bucket_decides(spec: DeviceSpec) -> bool:
    """Whether landing in the entry's bucket already means a match.

    True when the entry checks nothing beyond the vendor, product and
    bus its bucket key pins: a device found through that key needs no
    further test.
    """
    address = spec.address
    if address is None:
        return True
    return (
        isinstance(address, AddressGlob)
        and address.domain is None
        and address.slot is None
        and address.function is None
    )


class Whitelist:
    """Ordered device_spec entries; the first entry that matches wins."""

    __slots__ = (
        "_by_address",
        "_by_devname",
        "_decided",
        "_entries",
        "_generic",
        "_merged",
        "_shapes",
        "warnings",
    )

    def __init__(
        self,
        entries: Iterable[DeviceSpec] = (),
        warnings: Iterable[str] = (),
    ) -> None:
        self._entries: tuple[DeviceSpec, ...] = tuple(entries)
        #: Non-fatal findings of the parse (typos, duplicate keys).
        self.warnings: list[str] = list(warnings)
        # Index -> entry position in config order; lists stay sorted
        # because entries are visited in order.
        self._by_address: dict[int, list[int]] = {}
        self._by_devname: dict[str, list[int]] = {}
        self._generic: dict[_PinKey, list[int]] = {}
        #: Entries whose index key is the whole test: an exact address
        #: and nothing else, or a bucket key (vendor, product, bus) and
        #: nothing else.  Found through the index, they need no check.
        self._decided: frozenset[int] = frozenset(
            index
            for index, spec in enumerate(self._entries)
            if _index_decides(spec)
        )
        for index, spec in enumerate(self._entries):
            exact = spec.exact_address
            if exact is not None:
                self._by_address.setdefault(exact.key, []).append(index)
            elif spec.devname is not None:
                self._by_devname.setdefault(spec.devname, []).append(index)
            else:
                self._generic.setdefault(_pins(spec), []).append(index)
        self._merged: dict[tuple[str, str, int], tuple[int, ...]] = {}
        # Which fields are pinned, per bucket: a device builds one key per
        # shape present instead of all eight combinations.
        self._shapes: tuple[tuple[bool, bool, bool], ...] = tuple(
            {
                (v is not None, p is not None, b is not None): None
                for v, p, b in self._generic
            }
        )

    @classmethod
    def from_config(
        cls, values: Sequence[str], option: str = DEFAULT_OPTION
    ) -> Whitelist:
        """Parse every value of the option; raise ``InvalidDeviceSpec``.

        ``option`` names the option in messages.
        """
        return cls._build(
            iter_config_entries(
                values, option, exception.InvalidDeviceSpecEntry
            )
        )

    @classmethod
    def from_options(cls, values: Sequence[OptionValue]) -> Whitelist:
        """Like :meth:`from_config`, each value labelled with its option.

        For ``device_spec`` read together with its deprecated names
        (``sriovirt.conf.pci.device_spec_values``): errors name the
        option each value came from, and :attr:`warnings` say when a
        deprecated name is used or several names are mixed.
        """
        wl = cls._build(
            iter_option_values(values, exception.InvalidDeviceSpecEntry)
        )
        notes = _option_warnings(values, [s.origin for s in wl.entries])
        for note in notes:
            LOG.warning("%s", note)
        wl.warnings[:0] = notes
        return wl

    @classmethod
    def _build(cls, entries: Iterable[ConfigEntry]) -> Whitelist:
        specs = [
            DeviceSpec.parse(
                entry.data, entry.origin, duplicate_keys=entry.duplicate_keys
            )
            for entry in entries
        ]
        warnings = [w for spec in specs for w in spec.warnings]
        return cls(specs, warnings)

    @staticmethod
    def problems(
        values: Sequence[str], option: str = DEFAULT_OPTION
    ) -> tuple[list[exception.ConfigError], list[str]]:
        """Every error and warning of the option, not just the first.

        For ``sriovirt config check``: bad values and bad entries are
        collected in config order and checking goes on past them.
        """
        errors: list[exception.ConfigError] = []
        warnings = _collect(
            iter_config_entries(
                values, option, exception.InvalidDeviceSpecEntry, errors
            ),
            errors,
        )[1]
        return errors, warnings

    @staticmethod
    def option_problems(
        values: Sequence[OptionValue],
    ) -> tuple[list[exception.ConfigError], list[str]]:
        """:meth:`problems` of labelled values (see :meth:`from_options`)."""
        errors: list[exception.ConfigError] = []
        origins, warnings = _collect(
            iter_option_values(
                values, exception.InvalidDeviceSpecEntry, errors
            ),
            errors,
        )
        return errors, _option_warnings(values, origins) + warnings

    @property
    def entries(self) -> tuple[DeviceSpec, ...]:
        """Every entry in config order."""
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def _generic_for(self, dev: HostPciDevice) -> tuple[int, ...]:
        """Bucketed entries that may select ``dev``, in config order.

        They depend only on the device's (vendor, product, bus), which
        few devices of a host do not share: merged once per triple.
        """
        triple = (dev.vendor_id, dev.product_id, dev.address.bus)
        hit = self._merged.get(triple)
        if hit is None:
            generic = self._generic
            lists = []
            for vendor, product, bus in self._shapes:
                bucket = generic.get(
                    (
                        triple[0] if vendor else None,
                        triple[1] if product else None,
                        triple[2] if bus else None,
                    )
                )
                if bucket:
                    lists.append(bucket)
            hit = self._merged[triple] = tuple(heapq.merge(*lists))
        return hit

    def _first(
        self, indices: Iterable[int], dev: HostPciDevice, best: int | None
    ) -> int | None:
        """The first of ascending ``indices`` selecting ``dev`` before
        ``best``; else ``best``."""
        entries = self._entries
        decided = self._decided
        for index in indices:
            if best is not None and index >= best:
                break
            if index in decided or entries[index].match(dev):
                return index
        return best

    def match_index(self, dev: HostPciDevice) -> int | None:
        """The 0-based index of the first entry selecting ``dev``.

        Each index gives its candidates in config order, so each stops
        at its first hit and nothing past the best so far is tried.
        """
        best: int | None = None
        by_address = self._by_address
        if by_address:
            # The hot path of exact-address whitelists, so spelled out.
            decided = self._decided
            hit = by_address.get(dev.address.key)
            if hit:
                first = hit[0]
                best = (
                    first if first in decided else self._first(hit, dev, best)
                )
            parent = dev.parent_addr
            if parent is not None and dev.dev_type is DevType.VF:
                hit = by_address.get(parent.key)
                if hit:
                    first = hit[0]
                    if first in decided and (best is None or first < best):
                        best = first
                    else:
                        best = self._first(hit, dev, best)
        by_devname = self._by_devname
        if by_devname:
            for name in (dev.ifname, dev.parent_ifname):
                hit = by_devname.get(name) if name is not None else None
                if hit and (name == dev.ifname or dev.dev_type is DevType.VF):
                    best = self._first(hit, dev, best)
        generic = self._generic_for(dev)
        if not generic or (best is not None and generic[0] > best):
            return best
        return self._first(generic, dev, best)

    def match(self, dev: HostPciDevice) -> DeviceSpec | None:
        """The first entry (config order) that selects ``dev``, if any."""
        index = self.match_index(dev)
        return None if index is None else self._entries[index]

    def explain(self, dev: HostPciDevice) -> list[str]:
        """One line per entry saying whether and why it selects ``dev``.

        Lines read ``entry N: matched (...)``, ``entry N: <field>
        <device value> != <entry value>`` or, for a later entry that also
        matches, ``entry N: matches too, but entry M wins (first match)``.
        """
        winner = self.match_index(dev)
        lines = []
        # Positions are 1-based list indices: from_config numbers entries
        # the same way, and a Whitelist built by hand stays consistent.
        for index, spec in enumerate(self._entries):
            verdict = spec.explain(dev)
            if winner is not None and index > winner and spec.match(dev):
                verdict = (
                    f"matches too, but entry {winner + 1} wins (first match)"
                )
            lines.append(f"entry {index + 1}: {verdict}")
        return lines


def _collect(
    entries: Iterable[ConfigEntry], errors: list[exception.ConfigError]
) -> tuple[list[EntryOrigin], list[str]]:
    """Parse every entry, appending errors; origins and warnings."""
    origins: list[EntryOrigin] = []
    warnings: list[str] = []
    for entry in entries:
        origins.append(entry.origin)
        try:
            spec = DeviceSpec.parse(
                entry.data,
                entry.origin,
                duplicate_keys=entry.duplicate_keys,
            )
        except exception.InvalidDeviceSpec as exc:
            errors.append(exc)
        else:
            warnings.extend(spec.warnings)
    return origins, warnings


def _numbers(positions: list[int]) -> str:
    """``entry 3`` or ``entries 1-2, 5``."""
    runs: list[list[int]] = []
    for pos in positions:
        if runs and pos == runs[-1][-1] + 1:
            runs[-1].append(pos)
        else:
            runs.append([pos])
    text = ", ".join(
        str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs
    )
    return f"{'entry' if len(positions) == 1 else 'entries'} {text}"


def _option_warnings(
    values: Sequence[OptionValue], origins: Sequence[EntryOrigin]
) -> list[str]:
    """Deprecated names used, and several names merged into one list."""
    order: list[str] = []
    count: dict[str, int] = {}
    for value in values:
        if value.option not in count:
            order.append(value.option)
        count[value.option] = count.get(value.option, 0) + 1
    warnings = []
    old_positions: list[int] = []
    for option in order:
        if option == DEFAULT_OPTION:
            continue
        positions = [o.position for o in origins if o.option == option]
        old_positions.extend(positions)
        warnings.append(
            _deprecated_note(option, positions, one=count[option] == 1)
        )
    if len(order) > 1:
        warnings.append(_merge_note(order, old_positions))
    return warnings


def _deprecated_note(option: str, positions: list[int], *, one: bool) -> str:
    """A deprecated option name was used: where its entries went."""
    if positions:
        return (
            f"{option} is deprecated: "
            + ("its value is" if one else "its values are")
            + f" read as {DEFAULT_OPTION} {_numbers(positions)}; move "
            + ("it" if one else "them")
            + f" to {DEFAULT_OPTION}"
        )
    return (
        f"{option} is deprecated: move its "
        + ("value" if one else "values")
        + f" to {DEFAULT_OPTION}"
    )


def _merge_note(order: list[str], old_positions: list[int]) -> str:
    """Several option names were set: the order oslo.config merges in."""
    names = (
        f"{order[0]} and {order[1]} are both"
        if len(order) == 2
        else f"{', '.join(order[:-1])} and {order[-1]} are all"
    )
    if DEFAULT_OPTION in order and old_positions:
        return (
            f"{names} set: oslo.config merges them in this order, so "
            f"{_numbers(sorted(old_positions))} of the deprecated names "
            f"come before those of {DEFAULT_OPTION} and win when both "
            "match a device"
        )
    return f"{names} set: oslo.config merges them in this order"
