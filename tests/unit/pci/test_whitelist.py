"""Whitelist: config values, first match wins, explain, the index."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import pytest
from bench.workload import build_device_spec, build_devices
from hypothesis import given
from hypothesis import strategies as st

from sriovirt import exception
from sriovirt.pci.address import PciAddress
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.pci.devspec import DeviceSpec
from sriovirt.pci.whitelist import Whitelist

A = PciAddress.parse

PF0 = HostPciDevice(
    address=A("0000:81:00.0"),
    vendor_id="8086",
    product_id="1572",
    dev_type=DevType.PF,
    ifname="ens1f0",
)
VF0 = HostPciDevice(
    address=A("0000:81:02.0"),
    vendor_id="8086",
    product_id="154c",
    dev_type=DevType.VF,
    parent_addr=A("0000:81:00.0"),
    ifname="ens1f0v0",
    parent_ifname="ens1f0",
)
NIC = HostPciDevice(
    address=A("0000:03:00.0"),
    vendor_id="15b3",
    product_id="1018",
    dev_type=DevType.PCI,
)


def values(*entries: object) -> list[str]:
    return [json.dumps(entry) for entry in entries]


# --- from_config ------------------------------------------------------------


def test_objects_and_lists_are_numbered_across_values() -> None:
    wl = Whitelist.from_config(
        [
            '{"vendor_id": "8086"}',
            "[]",
            '[{"vendor_id": "15b3"}, {"devname": "ens1f0"}]',
            '{"address": "0000:81:00.0"}',
        ]
    )
    origins = [
        (s.origin.position, s.origin.value, s.origin.item) for s in wl.entries
    ]
    assert origins == [(1, 1, None), (2, 3, 1), (3, 3, 2), (4, 4, None)]
    assert len(wl) == 4


def test_empty_config_matches_nothing() -> None:
    wl = Whitelist.from_config([])
    assert wl.entries == ()
    assert wl.match(PF0) is None
    assert wl.explain(PF0) == []


def test_empty_list_value_is_allowed() -> None:
    assert Whitelist.from_config(["[]", " [ ] "]).entries == ()


VALUE_ERRORS: list[tuple[list[Any], str, str]] = [
    # values, expected message prefix, reason fragment
    (["{bad"], "Invalid OPT: entry 1 {bad: value: ", "not valid JSON"),
    (
        [
            "",
        ],
        "Invalid OPT: entry 1 : value: ",
        "not valid JSON",
    ),
    (['"8086"'], "Invalid OPT: entry 1 ", "got the JSON string"),
    (["8086"], "Invalid OPT: entry 1 8086: value: ", "the JSON number"),
    (["null"], "Invalid OPT: entry 1 null: value: ", "got JSON null"),
    (
        ['{"vendor_id": "8086"}', "[1]"],
        "Invalid OPT: entry 2 (item 1 of value 2) 1: entry: ",
        "got the JSON number 1",
    ),
    (
        ['[{"vendor_id": "8086"}]', '[{"vendor_id": "1"}, [{}]]'],
        "Invalid OPT: entry 3 (item 2 of value 2) [{}]: entry: ",
        "a JSON list",
    ),
    (
        ['{"vendor_id": "8086"}', '{"vendor_id": 8086}'],
        'Invalid OPT: entry 2 {"vendor_id": 8086}: vendor_id: ',
        "the JSON number 8086",
    ),
    (
        ["[]", '{"vendor_id": "1"}', '{"vendor_id": 8086}'],
        'Invalid OPT: entry 2 (value 3) {"vendor_id": 8086}: vendor_id: ',
        "the JSON number 8086",
    ),
    ([1], "Invalid OPT: entry 1 1: value: ", "expected a JSON text"),
    ([None], "Invalid OPT: entry 1 null: value: ", "expected a JSON text"),
    (["[" * 100000], "Invalid OPT: entry 1 ", "not valid JSON"),
]


@pytest.mark.parametrize(("config", "prefix", "reason"), VALUE_ERRORS)
def test_value_errors(config: list[Any], prefix: str, reason: str) -> None:
    with pytest.raises(exception.InvalidDeviceSpec) as info:
        Whitelist.from_config(config, option="OPT")
    assert str(info.value).startswith(prefix)
    assert reason in str(info.value)


@pytest.mark.parametrize("config", ["{}", b"[]", {"a": 1}, None])
def test_values_must_be_a_list(config: Any) -> None:
    with pytest.raises(exception.InvalidDeviceSpec, match="list of strings"):
        Whitelist.from_config(config)


def test_default_option_name_is_device_spec() -> None:
    with pytest.raises(exception.InvalidDeviceSpec) as info:
        Whitelist.from_config(["{}"])
    assert str(info.value).startswith("Invalid [pci] device_spec: entry 1 ")


def test_warnings_are_collected() -> None:
    wl = Whitelist.from_config(
        [
            '{"vendor_id": "8086", "physical_netwrok": "p"}',
            '{"vendor_id": "8086", "vendor_id": "15b3"}',
        ]
    )
    assert len(wl.warnings) == 2
    assert "did you mean 'physical_network'" in wl.warnings[0]
    assert "entry 2" in wl.warnings[1]
    assert "'vendor_id' is given more than once" in wl.warnings[1]
    # Like Nova (and json), the last duplicate wins.
    assert wl.entries[1].vendor_id == "15b3"


# --- match / explain --------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "device", "winner"),
    [
        # First match wins, whatever kind of entry it is.
        (
            [
                {"vendor_id": "8086", "physical_network": "a"},
                {"address": "0000:81:00.0", "physical_network": "b"},
            ],
            VF0,
            1,
        ),
        (
            [
                {"address": "0000:81:00.0", "physical_network": "b"},
                {"vendor_id": "8086", "physical_network": "a"},
            ],
            VF0,
            1,
        ),
        (
            [
                {"vendor_id": "15b3"},
                {"devname": "ens1f0"},
                {"address": "0000:81:00.0"},
            ],
            VF0,
            2,
        ),
        (
            [
                {"address": "0000:81:00.0", "product_id": "1572"},
                {"devname": "ens1f0v0"},
                {"vendor_id": "*"},
            ],
            VF0,
            2,
        ),
        (
            [
                {"address": "0000:81:00.0", "product_id": "1572"},
                {"vendor_id": "*"},
            ],
            VF0,
            2,
        ),
        ([{"address": "0000:81:00.0"}], NIC, None),
        ([{"address": "0000:81:00.0"}, {"address": ":03:"}], NIC, 2),
        (
            [
                {"address": "0000:81:00.0", "product_id": "154c"},
                {"address": "0000:81:00.0"},
            ],
            PF0,
            2,
        ),
    ],
)
def test_first_match_wins(
    entries: list[dict[str, Any]], device: HostPciDevice, winner: int | None
) -> None:
    wl = Whitelist.from_config(values(*entries))
    found = wl.match(device)
    if winner is None:
        assert found is None
    else:
        assert found is wl.entries[winner - 1]


def test_regex_address_of_a_pf_selects_its_vfs() -> None:
    # Issue 7 item 2.15: four exact regex fields are one address, found
    # through the index like the glob form; the VFs must not be lost.
    wl = Whitelist.from_config(
        values(
            {"vendor_id": "15b3"},
            {
                "address": {
                    "domain": "0000",
                    "bus": "81",
                    "slot": "00",
                    "function": "0",
                },
                "physical_network": "p",
            },
        )
    )
    assert wl.match(PF0) is wl.entries[1]
    assert wl.match(VF0) is wl.entries[1]
    assert wl.match(NIC) is wl.entries[0]


def test_match_returns_tags_of_the_winner() -> None:
    wl = Whitelist.from_config(
        values(
            {
                "address": "0000:81:00.0",
                "physical_network": "physnet1",
                "trusted": "yes",
            },
        )
    )
    spec = wl.match(VF0)
    assert spec is not None
    assert spec.physical_network == "physnet1"
    assert spec.tags["trusted"] == "true"


def test_explain_one_line_per_entry() -> None:
    wl = Whitelist.from_config(
        [
            json.dumps([{"vendor_id": "15b3"}, {"devname": "eth9"}]),
            json.dumps({"address": "0000:81:00.0"}),
            json.dumps({"vendor_id": "8086"}),
            json.dumps({"address": {"bus": "8"}}),
        ]
    )
    assert wl.explain(VF0) == [
        "entry 1: vendor_id 8086 != 15b3",
        "entry 2: devname eth9 is neither this device's netdev (ens1f0v0) "
        "nor its PF's (ens1f0)",
        "entry 3: matched (address 0000:81:00.0 is the PF of this VF)",
        "entry 4: matches too, but entry 3 wins (first match)",
        "entry 5: address bus 81 does not fully match regex '8'",
    ]


# --- The index agrees with a linear scan -------------------------------------

ADDRS = [
    "0000:81:00.0",
    "0000:81:00.1",
    "0000:81:02.0",
    "0000:82:00.0",
    "0001:81:00.0",
]
NAMES = ["ens1f0", "ens1f1", "ens1f0v0", "eth0"]
IDS = ["8086", "154c", "1572", "15b3"]

spec_entries = (
    st.fixed_dictionaries(
        {},
        optional={
            "vendor_id": st.sampled_from([*IDS, "*"]),
            "product_id": st.sampled_from([*IDS, "*"]),
            "physical_network": st.sampled_from(["p1", "p2"]),
        },
    )
    .flatmap(
        lambda base: st.one_of(
            st.just(base),
            st.sampled_from(ADDRS).map(lambda a: {**base, "address": a}),
            st.sampled_from(
                ["*:81:00.*", ":81:", "81:00.0", ".0", "0001:*:*.*"]
            ).map(lambda a: {**base, "address": a}),
            st.sampled_from(
                [
                    {"bus": "81"},
                    {"function": "[01]"},
                    {"slot": "0"},
                    {"slot": "0[02]", "bus": "8."},
                    # Four plain fields: one exact address (PF + VFs).
                    {"domain": "0", "bus": "81", "slot": "0", "function": "0"},
                    {
                        "domain": "0000",
                        "bus": "82",
                        "slot": "00",
                        "function": "0",
                    },
                ]
            ).map(lambda a: {**base, "address": a}),
            st.sampled_from(NAMES).map(lambda n: {**base, "devname": n}),
        )
    )
    .filter(
        lambda e: any(
            k in e for k in ("vendor_id", "product_id", "address", "devname")
        )
    )
)


@st.composite
def devices(draw: st.DrawFn) -> HostPciDevice:
    dev_type = draw(st.sampled_from(list(DevType)))
    is_vf = dev_type is DevType.VF
    return HostPciDevice(
        address=A(draw(st.sampled_from(ADDRS))),
        vendor_id=draw(st.sampled_from(IDS)),
        product_id=draw(st.sampled_from(IDS)),
        dev_type=dev_type,
        parent_addr=A(draw(st.sampled_from(ADDRS))) if is_vf else None,
        ifname=draw(st.none() | st.sampled_from(NAMES)),
        parent_ifname=(
            draw(st.none() | st.sampled_from(NAMES)) if is_vf else None
        ),
    )


def naive(wl: Whitelist, device: HostPciDevice) -> DeviceSpec | None:
    for spec in wl.entries:
        if spec.match(device):
            return spec
    return None


# An independent reference: the entry's raw JSON read against the
# device's fields, written from the documented rules, never through
# DeviceSpec or Whitelist code.

_FIELD_WIDTHS = (("domain", 4), ("bus", 2), ("slot", 2), ("function", 1))


def _fields(addr: PciAddress) -> list[int]:
    return [addr.domain, addr.bus, addr.slot, addr.function]


def _exact_matches(want: list[int], device: HostPciDevice) -> bool:
    """A fully given address: the device itself, or a VF's PF."""
    if _fields(device.address) == want:
        return True
    return (
        device.dev_type is DevType.VF
        and device.parent_addr is not None
        and _fields(device.parent_addr) == want
    )


def _reference_address(address: object, device: HostPciDevice) -> bool:
    if isinstance(address, dict):
        texts = [address.get(name) for name, _ in _FIELD_WIDTHS]
        if all(
            t is not None and re.fullmatch("[0-9a-fA-F]+", t) for t in texts
        ):
            return _exact_matches([int(t, 16) for t in texts], device)
        return all(
            re.fullmatch(
                texts[i],
                f"{_fields(device.address)[i]:0{width}x}",
                re.IGNORECASE,
            )
            is not None
            for i, (_, width) in enumerate(_FIELD_WIDTHS)
            if texts[i] is not None
        )
    assert isinstance(address, str)
    head, _, function = address.partition(".")
    parts = head.split(":")
    given = [""] * (3 - len(parts)) + parts + [function]
    wanted = [None if g in ("", "*") else int(g, 16) for g in given]
    if all(w is not None for w in wanted):
        return _exact_matches([w for w in wanted if w is not None], device)
    return all(
        w is None or w == got
        for w, got in zip(wanted, _fields(device.address), strict=True)
    )


def reference_matches(entry: dict[str, Any], device: HostPciDevice) -> bool:
    for key in ("vendor_id", "product_id"):
        want = entry.get(key, "*")
        if want != "*" and want != getattr(device, key):
            return False
    if "devname" in entry:
        name = entry["devname"]
        return device.ifname == name or (
            device.dev_type is DevType.VF and device.parent_ifname == name
        )
    if "address" in entry:
        return _reference_address(entry["address"], device)
    return True


def reference_winner(
    config: list[list[dict[str, Any]]], device: HostPciDevice
) -> int | None:
    flat = [entry for value in config for entry in value]
    for index, entry in enumerate(flat):
        if reference_matches(entry, device):
            return index
    return None


@given(
    st.lists(st.lists(spec_entries, max_size=3), max_size=5),
    st.lists(devices(), min_size=1, max_size=8),
)
def test_indexed_match_equals_linear_scan(
    config: list[list[dict[str, Any]]], devs: list[HostPciDevice]
) -> None:
    wl = Whitelist.from_config([json.dumps(value) for value in config])
    for device in devs:
        assert wl.match(device) is naive(wl, device)
        # The first entry (config order) whose raw criteria hold wins.
        expected = reference_winner(config, device)
        found = wl.match_index(device)
        assert found == expected, (config, device)
        if expected is not None:
            assert wl.match(device) is wl.entries[expected]
        lines = wl.explain(device)
        assert len(lines) == len(wl.entries)
        matched = [i for i, line in enumerate(lines) if ": matched" in line]
        assert matched == ([] if expected is None else [expected])


@given(st.lists(st.text(max_size=40), max_size=4))
def test_arbitrary_text_raises_only_invalid_device_spec(
    config: list[str],
) -> None:
    try:
        Whitelist.from_config(config)
    except exception.InvalidDeviceSpec as err:
        assert str(err).startswith("Invalid [pci] device_spec: ")


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "vendor_id",
                    "product_id",
                    "address",
                    "devname",
                    "trusted",
                    "bus",
                    "physical_network",
                ]
            )
            | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=10,
)


@given(st.lists(json_like, max_size=3))
def test_arbitrary_json_raises_only_invalid_device_spec(
    config: list[Any],
) -> None:
    with contextlib.suppress(exception.InvalidDeviceSpec):
        Whitelist.from_config([json.dumps(value) for value in config])


# --- The bench workload -----------------------------------------------------


def test_workload_every_device_matches_its_pf_entry() -> None:
    devs = build_devices(2)
    assert len(devs) == 2 * 2 * 129
    wl = Whitelist.from_config(build_device_spec(devs))
    assert len(wl.entries) == 4 + 2
    pfs = [d for d in devs if d.dev_type is DevType.PF]
    for device in devs:
        spec = wl.match(device)
        assert spec is not None
        assert spec is naive(wl, device)
        pf_addr = device.parent_addr or device.address
        assert spec.exact_address == pf_addr
        index = [p.address for p in pfs].index(pf_addr)
        assert spec.physical_network == f"physnet{index % 4}"


def _bus_entries(buses: range) -> list[str]:
    # The index-free workload's shape: one glob entry per bus, plus two
    # entries that match nothing, placed first.
    return [
        json.dumps({"vendor_id": "15b3", "product_id": "1018"}),
        json.dumps({"vendor_id": "8086", "address": "*:00:*.*"}),
        *(
            json.dumps(
                {
                    "vendor_id": "8086",
                    "product_id": "10ed",
                    "address": f"*:{bus:02x}:*.*",
                    "physical_network": f"p{bus}",
                }
            )
            for bus in buses
        ),
    ]


@pytest.mark.parametrize("n_buses", [4, 64, 250])
def test_entries_pinning_other_buses_are_never_tried(
    monkeypatch: pytest.MonkeyPatch, n_buses: int
) -> None:
    wl = Whitelist.from_config(_bus_entries(range(1, n_buses + 1)))
    calls = 0
    real = DeviceSpec.match

    def counting(self: DeviceSpec, dev: HostPciDevice) -> bool:
        nonlocal calls
        calls += 1
        return real(self, dev)

    monkeypatch.setattr(DeviceSpec, "match", counting)
    for bus in (1, n_buses):
        dev = HostPciDevice(
            address=f"0000:{bus:02x}:10.1",
            vendor_id="8086",
            product_id="10ed",
            dev_type=DevType.VF,
            parent_addr=f"0000:{bus:02x}:00.0",
        )
        spec = wl.match(dev)
        assert spec is not None and spec.physical_network == f"p{bus}"
    # Flat: no entry is even tried, however many buses are listed; the
    # bucket (vendor, product, bus) is the whole test of these entries.
    assert calls == 0


def test_a_wildcard_entry_listed_first_still_wins_over_a_bucket() -> None:
    wl = Whitelist.from_config(
        [
            json.dumps({"vendor_id": "*", "physical_network": "any"}),
            *_bus_entries(range(1, 4)),
        ]
    )
    dev = HostPciDevice(
        address="0000:02:10.1",
        vendor_id="8086",
        product_id="10ed",
        dev_type=DevType.PCI,
    )
    spec = wl.match(dev)
    assert spec is not None and spec.physical_network == "any"
    # ...and a pinned entry listed before a wildcard one wins over it.
    wl = Whitelist.from_config(
        [
            *_bus_entries(range(1, 4)),
            json.dumps({"vendor_id": "*", "physical_network": "any"}),
        ]
    )
    spec = wl.match(dev)
    assert spec is not None and spec.physical_network == "p2"


def test_an_entry_pinning_more_than_its_bucket_is_still_tested() -> None:
    # Same bucket (vendor, product, bus 02), but the entry also pins the
    # slot: a device on another slot of that bus must not match it.
    wl = Whitelist.from_config(
        [
            json.dumps(
                {
                    "vendor_id": "8086",
                    "product_id": "10ed",
                    "address": "*:02:11.*",
                    "physical_network": "slot11",
                }
            ),
            *_bus_entries(range(1, 4)),
        ]
    )
    dev = HostPciDevice(
        address="0000:02:10.1",
        vendor_id="8086",
        product_id="10ed",
        dev_type=DevType.VF,
        parent_addr="0000:02:00.0",
    )
    spec = wl.match(dev)
    assert spec is not None and spec.physical_network == "p2"
