"""The up/disabled rule the RPC API consults before sending work."""

from __future__ import annotations

import datetime

from sriovirt.compute import services
from sriovirt.db.services import ServiceRecord

NOW = datetime.datetime(2026, 11, 30, 12, 0, 0)


def _service(**changes: object) -> ServiceRecord:
    values: dict[str, object] = {
        "id": 1,
        "host": "h1",
        "binary": "sriovirt-compute",
        "topic": "sriovirt-compute",
        "report_count": 3,
        "last_seen_up": NOW - datetime.timedelta(seconds=10),
        "disabled": False,
        "disabled_reason": None,
        "version": "1.1",
    }
    values.update(changes)
    return ServiceRecord(**values)  # type: ignore[arg-type]


def test_up_and_enabled_may_get_work() -> None:
    assert services.why_not(_service(), "h1", 60, NOW) is None


def test_disabled_says_the_operator_reason() -> None:
    why = services.why_not(
        _service(disabled=True, disabled_reason="NIC firmware"), "h1", 60, NOW
    )
    assert why == (
        "the sriovirt-compute service of host h1 is disabled: NIC firmware"
    )


def test_stale_heartbeat_is_down_with_its_age() -> None:
    old = NOW - datetime.timedelta(seconds=61)
    why = services.why_not(_service(last_seen_up=old), "h1", 60, NOW)
    assert why == (
        "the sriovirt-compute service of host h1 is down: last heartbeat "
        "61 s ago, more than [DEFAULT] service_down_time = 60 s"
    )


def test_never_reported_or_unknown() -> None:
    never = services.why_not(_service(last_seen_up=None), "h1", 60, NOW)
    assert never is not None and "last heartbeat never" in never
    unknown = services.why_not(None, "h7", 60, NOW)
    assert unknown is not None
    assert "no sriovirt-compute service registered for host h7" in unknown
