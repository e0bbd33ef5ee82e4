"""[pci] alias: parsing, merging entries of one name, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sriovirt import exception
from sriovirt.pci import request
from sriovirt.pci.alias import (
    NumaPolicy,
    PciAlias,
    PciAliasSpec,
    parse_aliases,
    problems,
)
from sriovirt.pci.device import DevType
from sriovirt.pci.request import PciRequest


def test_full_alias() -> None:
    aliases = parse_aliases(
        [
            json.dumps(
                {
                    "name": "QuickAssist",
                    "vendor_id": "8086",
                    "product_id": "0443",
                    "device_type": "type-PCI",
                    "numa_policy": "required",
                }
            )
        ]
    )
    assert aliases == {
        "QuickAssist": PciAlias(
            name="QuickAssist",
            device_type=DevType.PCI,
            numa_policy=NumaPolicy.REQUIRED,
            specs=(PciAliasSpec(vendor_id="8086", product_id="0443"),),
        )
    }
    assert aliases["QuickAssist"].request_specs() == [
        {"vendor_id": "8086", "product_id": "0443", "dev_type": "type-PCI"}
    ]


def test_minimal_alias_and_optional_keys() -> None:
    alias = parse_aliases(
        [
            '{"name": "gpu", "vendor_id": "10DE", "resource_class": "PGPU",'
            ' "traits": "A,B", "live_migratable": "yes"}'
        ]
    )["gpu"]
    assert alias.device_type is None
    assert alias.numa_policy is None
    assert alias.request_specs() == [
        {
            "vendor_id": "10de",
            "resource_class": "PGPU",
            "traits": "A,B",
            "live_migratable": "true",
        }
    ]


def test_same_name_entries_are_merged_in_order() -> None:
    aliases = parse_aliases(
        [
            '{"name": "nic", "vendor_id": "8086", "product_id": "154c",'
            ' "device_type": "type-VF"}',
            '[{"name": "other", "product_id": "1"},'
            ' {"name": "nic", "vendor_id": "15b3", "product_id": "1018",'
            ' "device_type": "type-VF", "numa_policy": "legacy"}]',
        ]
    )
    assert list(aliases) == ["nic", "other"]
    nic = aliases["nic"]
    assert [s.vendor_id for s in nic.specs] == ["8086", "15b3"]
    assert nic.device_type is DevType.VF
    assert nic.numa_policy is NumaPolicy.LEGACY


def test_empty_config() -> None:
    assert parse_aliases([]) == {}
    assert parse_aliases(["[]"]) == {}


E1 = "entry 1"

ERRORS: list[tuple[list[Any], str, str, str]] = [
    # values, field, reason fragment, where
    (["{bad"], "value", "not valid JSON", E1),
    (['"x"'], "value", "JSON object or a list", E1),
    (["[1]"], "entry", "got the JSON number 1", "entry 1 (item 1 of value 1)"),
    (['{"vendor_id": "8086"}'], "name", "needs a name", E1),
    (['{"name": ""}'], "name", "non-empty string", E1),
    (['{"name": 3}'], "name", "the JSON number 3", E1),
    # A flavor writes "NAME:COUNT,NAME:COUNT": such names can never be
    # asked for.
    (['{"name": "a:b"}'], "name", "cannot contain ':' or ','", E1),
    (['{"name": "a,b"}'], "name", "cannot contain ':' or ','", E1),
    (['{"name": " a"}'], "name", "leading or trailing spaces", E1),
    (['{"name": "a\\u0000"}'], "name", "control character", E1),
    ([json.dumps({"name": "a" * 256})], "name", "at most 255", E1),
    (['{"name": "a", "vendor_id": 8086}'], "vendor_id", "JSON number", E1),
    (['{"name": "a", "vendor_id": "*"}'], "vendor_id", "hex string", E1),
    (['{"name": "a", "product_id": "12345"}'], "product_id", "4 digits", E1),
    (
        ['{"name": "a", "device_type": "type-XX"}'],
        "device_type",
        "type-PF, type-VF, type-PCI",
        E1,
    ),
    (['{"name": "a", "device_type": 1}'], "device_type", "JSON number", E1),
    (
        ['{"name": "a", "numa_policy": "strict"}'],
        "numa_policy",
        "required, legacy, preferred, socket",
        E1,
    ),
    (
        ['{"name": "a", "devicetype": "type-PF"}'],
        "devicetype",
        "did you mean 'device_type'",
        E1,
    ),
    (['{"name": "a", "resource_class": 1}'], "resource_class", "string", E1),
    (['{"name": "a", "live_migratable": "x"}'], "live_migratable", "bool", E1),
    (
        [
            '{"name": "a", "device_type": "type-VF"}',
            '{"name": "a", "device_type": "type-PF"}',
        ],
        "device_type",
        "first defined at entry 1 with device_type type-VF",
        "entry 2",
    ),
    (
        ['{"name": "a"}', '{"name": "a", "device_type": "type-PF"}'],
        "device_type",
        "device_type unset",
        "entry 2",
    ),
    (
        [
            '{"name": "a", "numa_policy": "required"}',
            '[{"name": "a"}]',
        ],
        "numa_policy",
        "numa_policy required; entries sharing a name must agree, got legacy",
        "entry 2 (item 1 of value 2)",
    ),
]


@pytest.mark.parametrize(("config", "field", "reason", "where"), ERRORS)
def test_errors(
    config: list[Any], field: str, reason: str, where: str
) -> None:
    with pytest.raises(exception.InvalidPciAlias) as info:
        parse_aliases(config)
    message = str(info.value)
    assert message.startswith(
        f"Invalid [pci] alias: entry {where}".replace(
            "entry entry", "entry"
        ).replace("entry 1 1", "entry 1")
    )
    assert field in message
    assert reason in message


PROBLEM_VALUES = [
    '{"name": "a", "vendor_id": 8086}',
    "{bad json",
    '{"name": "nic", "vendor_id": "8086", "device_type": "type-VF"}',
    '[{"name": "gpu", "vendor_id": "10de"}, {"name": "x:1"}]',
    '{"name": "nic", "vendor_id": "15b3", "device_type": "type-PF"}',
    '{"name": "ok", "vendor_id": "8086", "vendor_id": "15b3"}',
]


def test_problems_reports_every_error_and_warning_in_order() -> None:
    # config check must see every alias problem, not only the first.
    errors, warnings = problems(PROBLEM_VALUES)
    texts = [str(e) for e in errors]
    assert len(texts) == 4, texts
    assert all(isinstance(e, exception.InvalidPciAlias) for e in errors)
    assert "entry 1 " in texts[0] and "vendor_id" in texts[0]
    assert "entry 2 {bad json: value: not valid JSON" in texts[1]
    assert "entry 5 (item 2 of value 4)" in texts[2]
    assert "cannot contain ':' or ','" in texts[2]
    assert "entry 6 (value 5)" in texts[3]
    assert "first defined at entry 3" in texts[3]
    assert warnings == [
        '[pci] alias: entry 7 (value 6) {"name": "ok", "vendor_id": '
        "\"15b3\"}: key 'vendor_id' is given more than once; the last "
        "value is used"
    ]
    # parse_aliases stops at the first of them.
    with pytest.raises(exception.InvalidPciAlias) as first:
        parse_aliases(PROBLEM_VALUES)
    assert str(first.value) == texts[0]


def test_problems_of_a_good_config_are_empty() -> None:
    good = ['{"name": "a", "vendor_id": "8086"}']
    assert problems(good) == ([], [])
    assert problems([]) == ([], [])


def test_duplicate_keys_warn_when_parsing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    aliases = parse_aliases(['{"name": "a", "name": "b"}'])
    assert list(aliases) == ["b"]
    assert "'name' is given more than once" in caplog.text


def test_missing_numa_policy_agrees_with_legacy() -> None:
    aliases = parse_aliases(
        ['{"name": "a"}', '{"name": "a", "numa_policy": "legacy"}']
    )
    assert len(aliases["a"].specs) == 2


@given(
    st.lists(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda c: (
                st.lists(c, max_size=3)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "name",
                            "vendor_id",
                            "product_id",
                            "device_type",
                            "numa_policy",
                        ]
                    )
                    | st.text(max_size=5),
                    c,
                    max_size=4,
                )
            ),
            max_leaves=8,
        ).map(json.dumps)
        | st.text(max_size=30),
        max_size=3,
    )
)
def test_anything_raises_only_invalid_pci_alias(config: list[str]) -> None:
    try:
        parse_aliases(config)
    except exception.InvalidPciAlias as err:
        assert str(err).startswith("Invalid [pci] alias: ")


def test_alias_policy_is_the_request_policy() -> None:
    # One enum: an alias's numa_policy goes into its requests unchanged.
    (alias,) = parse_aliases(
        ['{"name": "a", "numa_policy": "socket"}']
    ).values()
    assert NumaPolicy is request.NumaPolicy
    assert alias.numa_policy is request.NumaPolicy.SOCKET
    req = PciRequest(spec=alias.request_specs(), numa_policy=alias.numa_policy)
    assert req.numa_policy is alias.numa_policy
