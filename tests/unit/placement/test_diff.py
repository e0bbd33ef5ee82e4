"""The difference between the wanted tree and what Placement holds."""

from __future__ import annotations

from sriovirt.placement import diff
from sriovirt.placement import tree as pt

ROOT = "6f7f3592-b874-4d2a-b789-a3e81d8f3bed"
CHILD = pt.child_uuid(ROOT, "0000:81:00.0")
VF = {"SRIOV_NET_VF": pt.Inventory(total=4)}
TRAITS = frozenset({"CUSTOM_PHYSNET_PHYSNET1", "CUSTOM_VNIC_TYPE_DIRECT"})


def _wanted(**changes: object) -> pt.Provider:
    base = {
        "uuid": CHILD,
        "name": "h_0000:81:00.0",
        "parent": ROOT,
        "inventories": VF,
        "traits": TRAITS,
    }
    base.update(changes)
    return pt.Provider(**base)  # type: ignore[arg-type]


def _known(**changes: object) -> diff.KnownProvider:
    base = {
        "uuid": CHILD,
        "name": "h_0000:81:00.0",
        "parent": ROOT,
        "generation": 3,
        "inventories": dict(VF),
        "traits": TRAITS,
    }
    base.update(changes)
    return diff.KnownProvider(**base)  # type: ignore[arg-type]


def test_same_provider_needs_nothing() -> None:
    assert diff.diff_provider(_known(), _wanted()).empty


def test_unknown_provider_is_created_with_its_inventories_and_traits() -> None:
    assert diff.diff_provider(None, _wanted()) == diff.ProviderDiff(
        create=True, inventories=True, traits=True
    )
    bare = _wanted(inventories={}, traits=frozenset())
    assert diff.diff_provider(None, bare) == diff.ProviderDiff(create=True)


def test_reserved_change_is_an_inventory_write_only() -> None:
    wanted = _wanted(
        inventories={"SRIOV_NET_VF": pt.Inventory(total=4, reserved=4)}
    )
    assert diff.diff_provider(_known(), wanted) == diff.ProviderDiff(
        inventories=True
    )


def test_trait_change_is_a_trait_write_only() -> None:
    wanted = _wanted(traits=TRAITS | {"CUSTOM_VNIC_TYPE_MACVTAP"})
    assert diff.diff_provider(_known(), wanted) == diff.ProviderDiff(
        traits=True
    )


def test_new_name_is_a_rename() -> None:
    assert diff.diff_provider(_known(), _wanted(name="x")) == (
        diff.ProviderDiff(rename=True)
    )


def test_inventory_read_back_from_placement_compares_equal() -> None:
    # Placement's JSON: allocation_ratio a float, every field present.
    read = pt.Inventory.from_json(
        {
            "total": 4,
            "reserved": 0,
            "min_unit": 1,
            "max_unit": 4,
            "step_size": 1,
            "allocation_ratio": 1.0,
        }
    )
    known = _known(inventories={"SRIOV_NET_VF": read})
    assert diff.diff_provider(known, _wanted()).empty


def test_adopt_by_name_takes_the_known_uuid_and_fixes_children() -> None:
    other = "11111111-2222-4333-8444-555555555555"
    grandchild = pt.Provider(uuid="g", name="h_g", parent=CHILD)
    tree = pt.ProviderTree(
        (
            pt.Provider(uuid=ROOT, name="h", parent=None),
            _wanted(),
            grandchild,
        )
    )
    known = {
        ROOT: _known(uuid=ROOT, name="h", parent=None),
        other: _known(uuid=other),
    }
    wanted = diff.adopt_by_name(known, tree)
    assert [p.uuid for p in wanted] == [ROOT, other, "g"]
    assert wanted[2].parent == other


def test_unwanted_are_deleted_deepest_first_and_skips_kept() -> None:
    known = {
        ROOT: _known(uuid=ROOT, name="h", parent=None),
        CHILD: _known(),
        "g": _known(uuid="g", name="h_g", parent=CHILD),
        "k": _known(uuid="k", name="h_k"),
    }
    assert [p.uuid for p in diff.unwanted(known, {ROOT})] == [
        "g",
        CHILD,
        "k",
    ]
    assert [p.uuid for p in diff.unwanted(known, {ROOT}, {"k"})] == [
        "g",
        CHILD,
    ]
    assert diff.unwanted(known, set(known)) == []
