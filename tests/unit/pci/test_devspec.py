"""DeviceSpec: the device_spec grammar, its errors and matching."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sriovirt import exception
from sriovirt.pci.address import PciAddress
from sriovirt.pci.address_match import AddressGlob, AddressRegex
from sriovirt.pci.config_entries import EntryOrigin
from sriovirt.pci.device import DevType, HostPciDevice
from sriovirt.pci.devspec import DEFAULT_OPTION, KNOWN_KEYS, DeviceSpec
from sriovirt.pci.whitelist import Whitelist

A = PciAddress.parse

PF = HostPciDevice(
    address=A("0000:81:00.0"),
    vendor_id="8086",
    product_id="1572",
    dev_type=DevType.PF,
    ifname="ens1f0",
    numa_node=0,
)
VF = HostPciDevice(
    address=A("0000:81:02.1"),
    vendor_id="8086",
    product_id="154c",
    dev_type=DevType.VF,
    parent_addr=A("0000:81:00.0"),
    ifname="ens1f0v1",
    parent_ifname="ens1f0",
)
OTHER_VF = HostPciDevice(
    address=A("0000:82:02.0"),
    vendor_id="8086",
    product_id="154c",
    dev_type=DevType.VF,
    parent_addr=A("0000:82:00.0"),
    ifname="ens1f1v0",
    parent_ifname="ens1f1",
)
GPU = HostPciDevice(
    address=A("0001:0a:1f.7"),
    vendor_id="10de",
    product_id="1db4",
    dev_type=DevType.PCI,
)


def dev(address: str) -> HostPciDevice:
    return HostPciDevice(
        address=A(address),
        vendor_id="8086",
        product_id="1572",
        dev_type=DevType.PCI,
    )


# --- Parsing: valid entries -------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "vendor", "product"),
    [
        ({"vendor_id": "8086"}, "8086", None),
        ({"vendor_id": "8086", "product_id": "154C"}, "8086", "154c"),
        ({"vendor_id": "*", "product_id": "*"}, None, None),
        ({"vendor_id": "0x15B3"}, "15b3", None),
        ({"vendor_id": "a"}, "000a", None),
        ({"product_id": " 1572 "}, None, "1572"),
    ],
)
def test_ids_are_normalised(
    entry: dict[str, Any], vendor: str | None, product: str | None
) -> None:
    spec = DeviceSpec.parse(entry)
    assert (spec.vendor_id, spec.product_id) == (vendor, product)


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("0000:81:00.0", (0, 0x81, 0, 0)),
        ("81:00.0", (None, 0x81, 0, 0)),
        (":81:", (None, 0x81, None, None)),
        ("81:", (None, 0x81, None, None)),
        (":0a:00.", (None, 0x0A, 0, None)),
        ("*:0a:00.*", (None, 0x0A, 0, None)),
        ("*:*:*.*", (None, None, None, None)),
        ("02.1", (None, None, 2, 1)),
        (".7", (None, None, None, 7)),
        ("1f", (None, None, 0x1F, None)),
        ("FFFF:FF:1F.7", (0xFFFF, 0xFF, 0x1F, 7)),
        ("0:0:0.0", (0, 0, 0, 0)),
        (" 0000 : 81 : 00 . 0 ", (0, 0x81, 0, 0)),
    ],
)
def test_address_glob_grammar(
    text: str, fields: tuple[int | None, ...]
) -> None:
    spec = DeviceSpec.parse({"address": text})
    assert isinstance(spec.address, AddressGlob)
    glob = spec.address
    assert (glob.domain, glob.bus, glob.slot, glob.function) == fields
    assert (glob.exact is not None) == (None not in fields)


def test_address_regex_form() -> None:
    spec = DeviceSpec.parse(
        {"address": {"domain": ".*", "bus": "8[12]", "function": "[0-2]"}}
    )
    assert isinstance(spec.address, AddressRegex)
    assert spec.address.slot is None
    assert spec.exact_address is None
    assert spec.is_generic


def test_tags_are_normalised() -> None:
    spec = DeviceSpec.parse(
        {
            "vendor_id": "8086",
            "physical_network": "physnet1",
            "trusted": "Yes",
            "remote_managed": False,
            "managed": "0",
            "live_migratable": "ON",
            "one_time_use": True,
            "resource_class": "CUSTOM_NIC",
            "traits": "A,B",
            "rack": 12,
            "ratio": 1.5,
            "flag": True,
            "label": "x",
        }
    )
    assert spec.physical_network == "physnet1"
    assert dict(spec.tags) == {
        "physical_network": "physnet1",
        "trusted": "true",
        "remote_managed": "false",
        "managed": "false",
        "live_migratable": "true",
        "one_time_use": "true",
        "resource_class": "CUSTOM_NIC",
        "traits": "A,B",
        "rack": "12",
        "ratio": "1.5",
        "flag": "true",
        "label": "x",
    }
    assert spec.warnings == ()


@pytest.mark.parametrize(
    "word",
    ["true", "TRUE", "yes", "on", "1", True],
)
def test_boolean_tag_true_words(word: object) -> None:
    assert (
        DeviceSpec.parse({"vendor_id": "*", "trusted": word}).tags["trusted"]
        == "true"
    )


@pytest.mark.parametrize("word", ["false", "No", "off", "0", False])
def test_boolean_tag_false_words(word: object) -> None:
    assert (
        DeviceSpec.parse({"vendor_id": "*", "trusted": word}).tags["trusted"]
        == "false"
    )


def test_physical_network_null_is_none_and_not_a_tag() -> None:
    spec = DeviceSpec.parse({"vendor_id": "*", "physical_network": None})
    assert spec.physical_network is None
    assert "physical_network" not in spec.tags


def test_physical_network_absent_is_none() -> None:
    assert DeviceSpec.parse({"vendor_id": "*"}).physical_network is None


def test_typo_tag_warns_with_suggestion(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spec = DeviceSpec.parse(
        {"vendor_id": "8086", "physical_netwrok": "physnet1"}
    )
    assert len(spec.warnings) == 1
    assert "'physical_netwrok'" in spec.warnings[0]
    assert "did you mean 'physical_network'?" in spec.warnings[0]
    assert spec.physical_network is None
    assert spec.tags["physical_netwrok"] == "physnet1"
    assert "did you mean 'physical_network'" in caplog.text


def test_longest_allowed_tag_values_are_kept() -> None:
    spec = DeviceSpec.parse(
        {"vendor_id": "*", "physical_network": "p" * 64, "rack": "r" * 255}
    )
    assert spec.physical_network == "p" * 64
    assert spec.tags["rack"] == "r" * 255
    # Inner spaces are fine: only the ends are refused.
    assert DeviceSpec.parse(
        {"vendor_id": "*", "physical_network": "phys net"}
    ).physical_network == ("phys net")


def test_duplicate_keys_inside_address_warn() -> None:
    wl = Whitelist.from_config(
        ['{"address": {"bus": "81", "bus": "82"}, "physical_network": "p"}']
    )
    assert len(wl.warnings) == 1
    assert "'address.bus' is given more than once" in wl.warnings[0]
    assert wl.match(dev("0000:82:00.0")) is not None


def test_unrelated_custom_tag_does_not_warn() -> None:
    assert DeviceSpec.parse({"vendor_id": "*", "rack": "r1"}).warnings == ()


def test_spec_is_hashable_and_comparable() -> None:
    a = DeviceSpec.parse({"vendor_id": "8086", "trusted": "yes"})
    b = DeviceSpec.parse({"vendor_id": "8086", "trusted": True})
    assert a == b
    assert hash(a) == hash(b)
    assert a != DeviceSpec.parse(
        {"vendor_id": "8086"}, EntryOrigin(DEFAULT_OPTION, position=2)
    )


# --- Parsing: errors --------------------------------------------------------

ERRORS: list[tuple[object, str, str]] = [
    # entry, field, fragment of the reason
    ([], "entry", "expected a JSON object, got a JSON list"),
    ("vendor_id", "entry", "got the JSON string"),
    (8086, "entry", "got the JSON number 8086"),
    (None, "entry", "got JSON null"),
    ({}, "entry", 'write {"vendor_id": "*"}'),
    ({"physical_network": "p"}, "entry", "whitelist every PCI device"),
    ({"physical_netwrok": "p"}, "entry", "did you mean 'physical_network'"),
    ({"vendor_id": 8086}, "vendor_id", "got the JSON number 8086"),
    ({"vendor_id": True}, "vendor_id", "got the JSON boolean true"),
    ({"vendor_id": "80866"}, "vendor_id", "up to 4 digits"),
    ({"vendor_id": "xyz"}, "vendor_id", "hex string"),
    ({"vendor_id": ""}, "vendor_id", "hex string"),
    ({"product_id": 1572}, "product_id", "got the JSON number 1572"),
    ({"product_id": ["1572"]}, "product_id", "a JSON list"),
    ({"address": 81}, "address", "glob string"),
    ({"address": None}, "address", "got JSON null"),
    ({"address": ["81:00.0"]}, "address", "a JSON list"),
    ({"address": ""}, "address", "matches every device"),
    ({"address": {}}, "address", "matches every device"),
    ({"address": "1:2:3:4.0"}, "address", "at most domain:bus:slot"),
    ({"address": "10000:00:00.0"}, "address.domain", "maximum ffff"),
    ({"address": "0000:100:00.0"}, "address.bus", "maximum ff"),
    ({"address": "0000:00:20.0"}, "address.slot", "maximum 1f"),
    ({"address": "0000:00:00.8"}, "address.function", "maximum 7"),
    ({"address": "81"}, "address.slot", "write '81:' for a bus"),
    ({"address": "0000:0g:00.0"}, "address.bus", "neither hex nor '*'"),
    ({"address": "0000:8*:00.0"}, "address.bus", "neither hex nor '*'"),
    ({"address": "0000:81:00.0.1"}, "address.function", "neither hex"),
    ({"address": "0x81:00.0"}, "address.bus", "neither hex"),
    ({"address": {"bux": "81"}}, "address", "did you mean 'bus'"),
    ({"address": {"vendor": "81"}}, "address", "allowed keys"),
    ({"address": {"bus": 81}}, "address.bus", "got the JSON number 81"),
    ({"address": {"bus": "("}}, "address.bus", "not a supported regular"),
    ({"address": {"slot": "[a-"}}, "address.slot", "not a supported"),
    ({"address": {"bus": "a{1001}"}}, "address.bus", "repetition size"),
    # Constructs a linear-time engine cannot run are refused, naming the
    # field (Python's re would accept them and backtrack).
    ({"address": {"bus": "(8)\\1"}}, "address.bus", "backreferences"),
    ({"address": {"slot": "(?=0)00"}}, "address.slot", "lookarounds"),
    ({"address": {"domain": "(?<!1)0+"}}, "address.domain", "lookarounds"),
    (
        {"address": {"function": "(?P<f>0)(?P=f)"}},
        "address.function",
        "not a supported regular expression",
    ),
    ({"address": {"bus": "8" * 300}}, "address.bus", "at most 256"),
    (
        {"address": "81:00.0", "devname": "eth0"},
        "address/devname",
        "mutually exclusive",
    ),
    ({"devname": 0}, "devname", "interface name"),
    ({"devname": ""}, "devname", "cannot be a Linux interface name"),
    ({"devname": "a" * 16}, "devname", "1-15 characters"),
    ({"devname": "eth 0"}, "devname", "cannot be"),
    ({"devname": "eth/0"}, "devname", "cannot be"),
    ({"vendor_id": "*", "trusted": "maybe"}, "trusted", "expected a boolean"),
    ({"vendor_id": "*", "trusted": 1}, "trusted", "expected a boolean"),
    ({"vendor_id": "*", "managed": None}, "managed", "expected a boolean"),
    (
        {"vendor_id": "*", "physical_network": 1},
        "physical_network",
        "got the JSON number 1",
    ),
    (
        {"vendor_id": "*", "physical_network": ""},
        "physical_network",
        "non-empty",
    ),
    ({"vendor_id": "*", "resource_class": 3}, "resource_class", "string"),
    ({"vendor_id": "*", "traits": ["A"]}, "traits", "a JSON list"),
    ({"vendor_id": "*", "rack": {"a": 1}}, "rack", "a JSON object"),
    ({"vendor_id": "*", "rack": [1]}, "rack", "a JSON list"),
    ({"vendor_id": "*", "rack": None}, "rack", "got JSON null"),
    ({"vendor_id": "*", "": "x"}, "entry", "tag name cannot be empty"),
    # Names the storage layer and the pools use for their own values
    # cannot be tags (issue 7, 2.7): they would overwrite them.
    (
        {
            "vendor_id": "8086",
            "physical_network": "p",
            "dev_type": "type-PF",
            "ifname": "evil",
            "pending_removal": "true",
        },
        "dev_type",
        "reserved names cannot be tags: dev_type, ifname, pending_removal",
    ),
    ({"vendor_id": "*", "parent_ifname": "x"}, "parent_ifname", "reserved"),
    ({"vendor_id": "*", "numa_node": 1}, "numa_node", "reserved"),
    ({"vendor_id": "*", "count": 1}, "count", "reserved"),
    ({"vendor_id": "*", "parent_addr": "x"}, "parent_addr", "reserved"),
    # An address with no field at all is "every device" by accident.
    ({"address": ":"}, "address", "matches every device"),
    ({"address": "::."}, "address", "matches every device"),
    ({"address": " . "}, "address", "matches every device"),
    ({"vendor_id": "8086", "address": ":"}, "address", "every device"),
    # Tag values: exact, printable, bounded.
    (
        {"vendor_id": "*", "physical_network": " physnet1"},
        "physical_network",
        "leading or trailing spaces",
    ),
    (
        {"vendor_id": "*", "physical_network": "physnet1\t"},
        "physical_network",
        "leading or trailing spaces",
    ),
    (
        {"vendor_id": "*", "physical_network": "phys\x00net"},
        "physical_network",
        "control character '\\x00' at position 4",
    ),
    (
        {"vendor_id": "*", "physical_network": "p" * 65},
        "physical_network",
        "65 characters long; at most 64",
    ),
    (
        {"vendor_id": "*", "physical_network": "p" * 5_000_000},
        "physical_network",
        "5000000 characters long",
    ),
    ({"vendor_id": "*", "rack": "r\n1"}, "rack", "control character"),
    ({"vendor_id": "*", "rack": "r" * 256}, "rack", "at most 255"),
    ({"vendor_id": "*", "traits": "A\x7f"}, "traits", "control character"),
    ({"vendor_id": "*", "r\x00ck": "1"}, "entry", "control character"),
    ({"vendor_id": "*", "k" * 256: "1"}, "entry", "at most 255"),
]


@pytest.mark.parametrize(("entry", "field", "reason"), ERRORS)
def test_parse_errors(entry: object, field: str, reason: str) -> None:
    origin = EntryOrigin("[pci] passthrough_whitelist", 3, 2, 1)
    with pytest.raises(exception.InvalidDeviceSpec) as info:
        DeviceSpec.parse(entry, origin)
    err = info.value
    assert isinstance(err, exception.InvalidDeviceSpecEntry)
    assert err.field == field
    assert reason in err.reason
    assert err.option == "[pci] passthrough_whitelist"
    assert err.position == 3
    message = str(err)
    assert message.startswith(
        "Invalid [pci] passthrough_whitelist: entry 3 (item 1 of value 2) "
    )
    assert f": {field}: " in message
    assert reason in message


def test_error_message_shows_entry_text() -> None:
    with pytest.raises(exception.InvalidDeviceSpec) as info:
        DeviceSpec.parse({"vendor_id": 8086, "physical_network": "p"})
    assert str(info.value) == (
        'Invalid [pci] device_spec: entry 1 {"vendor_id": 8086, '
        '"physical_network": "p"}: vendor_id: expected a hex string of up '
        'to 4 digits like "8086" or "*", got the JSON number 8086'
    )


def test_error_text_is_truncated() -> None:
    with pytest.raises(exception.InvalidDeviceSpec) as info:
        DeviceSpec.parse({"vendor_id": 1, "x": "y" * 1000})
    assert isinstance(info.value, exception.InvalidDeviceSpecEntry)
    assert len(info.value.entry) <= 200


# --- Matching ----------------------------------------------------------

MATCHES: list[tuple[dict[str, Any], HostPciDevice, bool]] = [
    ({"vendor_id": "8086"}, PF, True),
    ({"vendor_id": "8086"}, GPU, False),
    ({"vendor_id": "*"}, GPU, True),
    ({"vendor_id": "8086", "product_id": "154c"}, VF, True),
    ({"vendor_id": "8086", "product_id": "154c"}, PF, False),
    # A full PF address matches the PF and its VFs, not other VFs.
    ({"address": "0000:81:00.0"}, PF, True),
    ({"address": "0000:81:00.0"}, VF, True),
    ({"address": "0000:81:00.0"}, OTHER_VF, False),
    # ... and ids are still checked against each device's own ids.
    ({"address": "0000:81:00.0", "product_id": "154c"}, PF, False),
    ({"address": "0000:81:00.0", "product_id": "154c"}, VF, True),
    ({"address": "0000:81:00.0", "product_id": "1572"}, VF, False),
    # A full VF address matches only that VF.
    ({"address": "0000:81:02.1"}, VF, True),
    ({"address": "0000:81:02.1"}, PF, False),
    # A wildcard address never extends to VFs through their parent.
    ({"address": "*:81:00.0"}, VF, False),
    ({"address": "*:81:00.0"}, PF, True),
    ({"address": "81:00.0"}, PF, True),
    ({"address": ":81:"}, VF, True),
    ({"address": ":81:"}, OTHER_VF, False),
    ({"address": ".7"}, GPU, True),
    ({"address": "1:a:1f.*"}, GPU, True),
    ({"address": "0:a:1f.*"}, GPU, False),
    # devname: PF netdev -> PF and its VFs; VF netdev -> that VF only.
    ({"devname": "ens1f0"}, PF, True),
    ({"devname": "ens1f0"}, VF, True),
    ({"devname": "ens1f0"}, OTHER_VF, False),
    ({"devname": "ens1f0v1"}, VF, True),
    ({"devname": "ens1f0v1"}, PF, False),
    ({"devname": "ens1f0", "product_id": "154c"}, PF, False),
    ({"devname": "eth9"}, GPU, False),
    # Regex fields must match the whole field (Nova's prefix match
    # would let "0" match bus 0a).
    ({"address": {"bus": "0"}}, GPU, False),
    ({"address": {"bus": "0a"}}, GPU, True),
    ({"address": {"bus": "0A"}}, GPU, True),
    ({"address": {"bus": "0."}}, GPU, True),
    ({"address": {"domain": "0001", "slot": "1F"}}, GPU, True),
    ({"address": {"domain": "1"}}, GPU, False),
    ({"address": {"function": "[0-6]"}}, GPU, False),
    ({"address": {"function": "7"}}, GPU, True),
    # Four plain hex regex fields name one address: like the glob form
    # and like Nova, a PF named so matches its VFs too.
    (
        {
            "address": {
                "domain": "0000",
                "bus": "81",
                "slot": "00",
                "function": "0",
            }
        },
        VF,
        True,
    ),
    (
        {
            "address": {
                "domain": "0",
                "bus": "81",
                "slot": "0",
                "function": "0",
            }
        },
        VF,
        True,
    ),
    (
        {
            "address": {
                "domain": "0",
                "bus": "81",
                "slot": "0",
                "function": "0",
            }
        },
        PF,
        True,
    ),
    (
        {
            "address": {
                "domain": "0",
                "bus": "81",
                "slot": "0",
                "function": "0",
            }
        },
        OTHER_VF,
        False,
    ),
    # One field not plain: a pattern again, with no VF extension.
    (
        {
            "address": {
                "domain": "0000",
                "bus": "8.",
                "slot": "00",
                "function": "0",
            }
        },
        VF,
        False,
    ),
]


@pytest.mark.parametrize(("entry", "device", "expected"), MATCHES)
def test_match(
    entry: dict[str, Any], device: HostPciDevice, expected: bool
) -> None:
    spec = DeviceSpec.parse(entry)
    assert spec.match(device) is expected
    assert spec.explain(device).startswith("matched") is expected


@pytest.mark.parametrize(
    ("entry", "device", "line"),
    [
        ({"vendor_id": "15b3"}, PF, "vendor_id 8086 != 15b3"),
        ({"vendor_id": "8086"}, PF, "matched"),
        (
            {"vendor_id": "15b3", "product_id": "1018"},
            PF,
            "vendor_id 8086 != 15b3; product_id 1572 != 1018",
        ),
        (
            {"address": "0000:81:00.0"},
            VF,
            "matched (address 0000:81:00.0 is the PF of this VF)",
        ),
        (
            {"address": "0000:81:00.0"},
            OTHER_VF,
            "address 0000:81:00.0 is neither this device (0000:82:02.0) "
            "nor its PF (0000:82:00.0)",
        ),
        (
            {"address": "0000:82:00.0"},
            PF,
            "address 0000:81:00.0 != 0000:82:00.0",
        ),
        ({"address": "*:82:00.*"}, PF, "address bus 81 != 82"),
        (
            {"address": {"bus": "0"}},
            GPU,
            "address bus 0a does not fully match regex '0'",
        ),
        (
            {"devname": "ens1f0"},
            VF,
            "matched (devname ens1f0 is the PF netdev of this VF)",
        ),
        (
            {"devname": "ens1f0v1"},
            VF,
            "matched (devname ens1f0v1 is this device's netdev)",
        ),
        (
            {"devname": "ens1f0"},
            OTHER_VF,
            "devname ens1f0 is neither this device's netdev (ens1f1v0) "
            "nor its PF's (ens1f1)",
        ),
        (
            {"devname": "eth0"},
            GPU,
            "devname eth0 != this device's netdev (none)",
        ),
    ],
)
def test_explain(
    entry: dict[str, Any], device: HostPciDevice, line: str
) -> None:
    assert DeviceSpec.parse(entry).explain(device) == line


def test_regex_exact_address_is_indexed_and_explained() -> None:
    spec = DeviceSpec.parse(
        {
            "address": {
                "domain": "0000",
                "bus": "81",
                "slot": "00",
                "function": "0",
            }
        }
    )
    assert spec.exact_address == A("0000:81:00.0")
    assert spec.explain(VF) == (
        "matched (address 0000:81:00.0 is the PF of this VF)"
    )


_HOSTILE = """
import time
from sriovirt.pci.devspec import DeviceSpec
from sriovirt.pci.device import DevType, HostPciDevice
spec = DeviceSpec.parse(
    {"address": {"domain": "(.?){150}g", "bus": "(.?){150}g",
                 "slot": "(.?){150}g", "function": "(.?){150}g"},
     "physical_network": "p"}
)
devices = [
    HostPciDevice(address=f"{d:04x}:{b:02x}:{s:02x}.{f}", vendor_id="8086",
                  product_id="154c", dev_type=DevType.PCI)
    for d in (0, 1, 0xffff) for b in (0, 0x81) for s in (0, 2) for f in (0, 7)
]
assert not any(spec.match(d) for d in devices)
assert all("does not fully match" in spec.explain(d) for d in devices)
print("done")
"""


def test_hostile_regex_runs_in_bounded_time() -> None:
    # (.?){150}g makes a backtracking engine explore ~C(150,4) paths per
    # field: minutes per device.  Run it in a child so a regression fails
    # on the timeout instead of hanging the suite.
    try:
        done = subprocess.run(
            [sys.executable, "-c", _HOSTILE],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("matching a hostile regex did not finish in 20 s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"


def test_describe() -> None:
    spec = DeviceSpec.parse({"vendor_id": "8086", "address": ":81:"})
    assert spec.describe() == "vendor_id=8086 product_id=* address=*:81:*.*"


# --- Properties ------------------------------------------------------------

FIELD_WIDTHS = (
    ("domain", 4, 0xFFFF),
    ("bus", 2, 0xFF),
    ("slot", 2, 0x1F),
    ("function", 1, 7),
)
DOMAINS = (0, 1, 0xFFFF)
BUSES = (0, 0x0A, 0x81, 0xFF)
SLOTS = (0, 1, 0x1F)
FUNCTIONS = (0, 1, 7)


def _render_field(draw: st.DrawFn, value: int | None, width: int) -> str:
    if value is None:
        return draw(st.sampled_from(["", "*", " * "]))
    digits = f"{value:x}"
    pad = draw(st.integers(len(digits), width))
    text = digits.zfill(pad)
    return text.upper() if draw(st.booleans()) else text


@st.composite
def globs(draw: st.DrawFn) -> tuple[str, tuple[int | None, ...]]:
    """A glob text and the fields it means, built from the fields."""
    fields = tuple(
        draw(st.none() | st.sampled_from(pool))
        for pool in (DOMAINS, BUSES, SLOTS, FUNCTIONS)
    )
    domain, bus, slot, function = fields
    # Leading fields may be left out only when they are wildcards.
    drop = 0
    if domain is None:
        drop = draw(st.integers(0, 2 if bus is None else 1))
    parts = [
        _render_field(draw, value, width)
        for value, (_, width, _) in zip(
            (domain, bus, slot), FIELD_WIDTHS, strict=False
        )
    ][drop:]
    text = ":".join(parts)
    if function is None:
        text += draw(st.sampled_from(["", ".", ".*"]))
    else:
        text += "." + _render_field(draw, function, 1)
    # An address without a single field is refused (it would whitelist
    # every device by accident); "*" fields are on purpose.
    assume(any(f is not None for f in fields) or "*" in text)
    return text, fields


pool_addresses = st.builds(
    PciAddress,
    st.sampled_from(DOMAINS),
    st.sampled_from(BUSES),
    st.sampled_from(SLOTS),
    st.sampled_from(FUNCTIONS),
)


@given(globs(), pool_addresses)
def test_glob_matches_like_brute_force(
    glob: tuple[str, tuple[int | None, ...]], addr: PciAddress
) -> None:
    text, fields = glob
    device = dev(str(addr))
    # Reference: every given field equals the device's; wildcards pass.
    wanted = all(
        want is None or want == got
        for want, got in zip(
            fields,
            (addr.domain, addr.bus, addr.slot, addr.function),
            strict=True,
        )
    )
    assert DeviceSpec.parse({"address": text}).match(device) is wanted


@given(
    st.fixed_dictionaries(
        {},
        optional={
            name: st.sampled_from(
                ["", "0", "0a", "0.", "[0-9a-f]+", "1f", "81", "ff", "7", ".*"]
            )
            for name, _, _ in FIELD_WIDTHS
        },
    ).filter(bool),
    pool_addresses,
)
def test_regex_matches_like_brute_force(
    regexes: dict[str, str], addr: PciAddress
) -> None:
    values = {
        "domain": addr.domain,
        "bus": addr.bus,
        "slot": addr.slot,
        "function": addr.function,
    }
    plain = [
        int(text, 16)
        for name, _, top in FIELD_WIDTHS
        if re.fullmatch("[0-9a-fA-F]+", text := regexes.get(name, ""))
        and int(text, 16) <= top
    ]
    if len(plain) == 4:
        # Four plain numbers are one exact address (Nova reads them so).
        wanted = plain == list(values.values())
    else:
        wanted = all(
            re.fullmatch(pattern, f"{values[name]:0{width}x}", re.IGNORECASE)
            is not None
            for name, width, _ in FIELD_WIDTHS
            if (pattern := regexes.get(name)) is not None
        )
    spec = DeviceSpec.parse({"address": regexes})
    assert spec.match(dev(str(addr))) is wanted


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        ["*", "8086", "0000:81:00.0", ":81:", "yes", "eth0", "(", "[", ".*"]
    )
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [*KNOWN_KEYS, "domain", "bus", "slot", "function", "x", ""]
            )
            | st.text(max_size=8),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
entries = st.dictionaries(
    st.sampled_from([*KNOWN_KEYS, "domain", "bus", "x"]) | st.text(max_size=8),
    json_values,
    max_size=5,
)


@given(entries | json_values)
def test_parse_raises_only_invalid_device_spec(entry: object) -> None:
    try:
        spec = DeviceSpec.parse(entry)
    except exception.InvalidDeviceSpec as err:
        assert isinstance(err, exception.InvalidDeviceSpecEntry)
        assert err.field
        assert str(err).startswith("Invalid [pci] device_spec: entry 1 ")
        return
    assert all(isinstance(v, str) for v in spec.tags.values())
    for device in (PF, VF, OTHER_VF, GPU):
        assert spec.match(device) is spec.explain(device).startswith("matched")
