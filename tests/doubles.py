"""Test doubles shared by several tiers.

:class:`NoGuests` completes a :class:`~sriovirt.virt.driver.ComputeDriver`
double that only discovers and reports: every guest method fails the test
if called, so a test proves the code under test never runs a guest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from sriovirt.virt.driver import (
    ComputeDriver,
    GuestSummary,
    GuestVif,
    Instance,
    InstanceState,
)


def _never(what: str) -> NoReturn:
    raise AssertionError(f"this driver double runs no guests ({what})")


class NoGuests(ComputeDriver):
    def spawn(
        self, instance: Instance, vifs: Sequence[GuestVif], packed: bool | None
    ) -> None:
        _never("spawn")

    def destroy(self, instance_uuid: str) -> bool:
        _never("destroy")

    def guest_xml(self, instance_uuid: str) -> str:
        _never("guest_xml")

    def list_instances(self) -> tuple[GuestSummary, ...]:
        _never("list_instances")

    def instance_state(self, instance_uuid: str) -> InstanceState:
        _never("instance_state")

    def resume_guest(self, instance_uuid: str, domain_xml: str) -> bool:
        _never("resume_guest")
