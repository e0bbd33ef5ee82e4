"""PCI requests: defaults, normalisation and clear errors."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from sriovirt import exception
from sriovirt.pci.device import DevType
from sriovirt.pci.request import NumaPolicy, PciRequest, SpecAlternative
from sriovirt.pci.tags import BOOLEAN_TAGS

RID = "0f0e0d0c-0b0a-4908-8706-050403020100"


def test_defaults() -> None:
    req = PciRequest(spec=[{"physical_network": "physnet1"}])
    assert req.count == 1
    assert uuid.UUID(req.request_id).version == 4
    assert req.requester_id is None
    assert req.numa_policy is None
    assert PciRequest(spec=[{}]).request_id != req.request_id


def test_spec_is_normalised_and_immutable() -> None:
    req = PciRequest(
        count=2,
        spec=[
            {
                "physical_network": "physnet1",
                "dev_type": "type-VF",
                "vendor_id": "0x8086",
                "product_id": "154C",
                "trusted": True,
            }
        ],
        request_id=RID,
        requester_id="port-1",
        numa_policy="preferred",
    )
    (spec,) = req.spec
    assert isinstance(req.spec, tuple)
    assert spec == SpecAlternative(
        vendor_id="8086",
        product_id="154c",
        dev_type=DevType.VF,
        physical_network="physnet1",
        tags=(("trusted", "true"),),
    )
    assert req.numa_policy is NumaPolicy.PREFERRED
    assert req.spec_dicts() == [
        {
            "physical_network": "physnet1",
            "dev_type": "type-VF",
            "vendor_id": "8086",
            "product_id": "154c",
            "trusted": "true",
        }
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.count = 3  # type: ignore[misc]


def test_wildcard_ids_mean_any() -> None:
    (spec,) = PciRequest(spec=[{"vendor_id": "*"}]).spec
    assert spec.vendor_id is None


def test_derived_sets() -> None:
    (vf,) = PciRequest(spec=[{"physical_network": "p"}]).spec
    assert vf.required == {("physical_network", "p")}
    assert vf.forbidden == {
        ("dev_type", "type-PF"),
        ("remote_managed", "true"),
    }
    (pf,) = PciRequest(
        spec=[
            {"dev_type": "type-PF", "remote_managed": "yes", "trusted": "on"}
        ]
    ).spec
    assert pf.wants_pf and pf.wants_remote_managed and pf.wants_trusted
    assert pf.forbidden == frozenset()
    assert pf.spec_items == {("dev_type", "type-PF")}


def test_replace_keeps_normalised_spec() -> None:
    req = PciRequest(count=3, spec=[{"physical_network": "p"}])
    smaller = dataclasses.replace(req, count=1)
    assert smaller.spec == req.spec
    assert smaller.request_id == req.request_id


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"count": 0}, "count 0 is not a positive integer"),
        ({"count": True}, "count True is not a positive integer"),
        ({"count": "1"}, "count '1' is not a positive integer"),
        ({"spec": []}, "spec needs at least one entry"),
        ({"spec": {"vendor_id": "8086"}}, "must be a list of JSON objects"),
        ({"spec": ["x"]}, "spec entry 'x' is not a JSON object"),
        ({"spec": [{"vendor_id": "80866"}]}, "vendor_id='80866' is not a"),
        ({"spec": [{"product_id": 1234}]}, "product_id=1234 is not a"),
        ({"spec": [{"dev_type": "type-XX"}]}, "dev_type='type-XX' is not"),
        ({"spec": [{"physical_network": 3}]}, "physical_network=3 is not"),
        ({"spec": [{"physical_network": ""}]}, "physical_network='' is not"),
        ({"spec": [{"trusted": "maybe"}]}, "trusted='maybe' is not a bool"),
        ({"spec": [{"custom": 3}]}, "custom=3 must be a string"),
        ({"numa_policy": "strict"}, "numa_policy 'strict' is not one of"),
        ({"request_id": "nope"}, "request_id is not a uuid"),
        ({"requester_id": 5}, "requester_id 5 is not a string"),
    ],
)
def test_bad_values(kwargs: dict[str, object], fragment: str) -> None:
    args: dict[str, object] = {"spec": [{}], **kwargs}
    with pytest.raises(exception.InvalidPciRequest) as err:
        PciRequest(**args)  # type: ignore[arg-type]
    assert fragment in str(err.value)


def test_describe() -> None:
    req = PciRequest(
        count=2, spec=[{"physical_network": "a"}, {"vendor_id": "8086"}]
    )
    assert req.describe() == "2 x (physical_network=a) or (vendor_id=8086)"


def test_every_numa_policy() -> None:
    for policy in ("required", "legacy", "preferred", "socket"):
        assert PciRequest(spec=[{}], numa_policy=policy).numa_policy == policy


@pytest.mark.parametrize("tag", BOOLEAN_TAGS)
def test_boolean_tags_are_the_whitelists(tag: str) -> None:
    # A pool's boolean tags come from devspec; a request must normalise
    # the same ones or "yes" would never meet the pool's "true".
    (spec,) = PciRequest(spec=[{tag: "yes"}]).spec
    assert spec.tags == ((tag, "true"),)


@pytest.mark.parametrize(
    ("word", "want"),
    [("t", "true"), ("Y", "true"), (" f ", "false"), ("N", "false")],
)
def test_boolean_tags_take_the_whitelists_words(word: str, want: str) -> None:
    # One vocabulary (sriovirt.pci.tags): a request reads "y" and "t" as
    # the device_spec entry that made the pool does; they were rejected.
    (spec,) = PciRequest(spec=[{"trusted": word}]).spec
    assert spec.tags == (("trusted", want),)


@pytest.mark.parametrize("word", ["2", "yess", "", 1])
def test_boolean_tag_not_a_boolean(word: object) -> None:
    with pytest.raises(exception.InvalidPciRequest, match="not a boolean"):
        PciRequest(spec=[{"trusted": word}])
