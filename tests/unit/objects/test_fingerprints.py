"""Object fingerprints: a field change without a version bump fails here.

When a test below fails, bump the object's VERSION, add the change to its
version history comment and to ``obj_make_compatible``, then put the new
hash (printed in the failure) in :data:`EXPECTED`.
"""

from __future__ import annotations

import warnings

import pytest
from oslo_versionedobjects.base import VersionedObject

from sriovirt import objects
from sriovirt.objects import base

with warnings.catch_warnings():
    # oslo.versionedobjects.fixture pulls in oslo.service's eventlet
    # backend, which warns that eventlet is deprecated.
    warnings.simplefilter("ignore")
    from oslo_versionedobjects import fixture as ovo_fixture

EXPECTED = {
    "BootRequest": "1.1-1c149d8f0295753f6a7f0aff0156ec5e",
    "ComputeNode": "1.0-3ee5e386f5109a539f2f8849996dca30",
    "ImageMetaProps": "1.0-ec222bb4a622960a007510119befb97d",
    "Instance": "1.0-6ec3f41eb8c0575b688a881465f4ff07",
    "InstancePCIRequest": "1.0-cc3fd0f2fd794a64b6246a9847dcaf41",
    "InstancePCIRequests": "1.0-3928680ff73c1b9e8a1d15042f6c8287",
    "PciDevice": "1.1-32fc580793a68570e932707f72f60126",
    "PciDeviceList": "1.0-bb42fefaef1e7c36027873c7b62d2abb",
    "PciDevicePool": "1.0-3f5ddc3ff7bfa14da7f6c7e9904cc000",
    "PciDevicePoolList": "1.0-1b54e51ad0fc1f3a8878f5010e7e16dc",
}


def _sriovirt_classes() -> dict[str, list[type[VersionedObject]]]:
    objects.register_all()
    return {
        name: classes
        for name, classes in base.SriovirtObjectRegistry.obj_classes().items()
        if issubclass(classes[0], base.SriovirtObject)
    }


def test_versions_match_fingerprints() -> None:
    checker = ovo_fixture.ObjectVersionChecker(_sriovirt_classes())
    expected, actual = checker.test_hashes(EXPECTED)
    assert expected == actual, (
        "Fields or remotable methods changed without a version bump "
        "(or EXPECTED is stale). Bump VERSION, extend "
        f"obj_make_compatible, then update EXPECTED: {actual}"
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_object_is_registered_under_project_namespace(name: str) -> None:
    cls = _sriovirt_classes()[name][0]
    assert cls.OBJ_PROJECT_NAMESPACE == "sriovirt"
    assert getattr(objects, name) is cls


def test_relationships_are_consistent() -> None:
    # Every object holding objects must say which child version each of
    # its versions carries (or backports would go to 1.0 silently).
    checker = ovo_fixture.ObjectVersionChecker(_sriovirt_classes())
    tree = checker.get_dependency_tree()
    for name, children in tree.items():
        cls = _sriovirt_classes()[name][0]
        for child, child_version in children.items():
            child_cls = _sriovirt_classes()[child][0]
            assert child_version == child_cls.VERSION, (name, child)
            assert cls.obj_name() == name
