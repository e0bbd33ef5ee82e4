"""Claims through the resource tracker: context manager, stored at once.

The same doubles as ``test_resource_tracker.py`` (a fake inventory, a
real SQLite file): every test checks what another process would read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sriovirt import exception
from sriovirt.compute.claims import Claim
from sriovirt.compute.resource_tracker import (
    CHANGE_ATTEMPTS,
    LOAD_ATTEMPTS,
    PAUSE_FIRST,
    PAUSE_MAX,
)
from sriovirt.db import api
from sriovirt.db.records import PciSaveResult
from sriovirt.pci.request import PciRequest
from tests.unit.compute.test_resource_tracker import (
    HOST,
    PF,
    A,
    B,
    _pool_counts,
    _rows,
    _rt,
    _vf_request,
    db,
    url,
    vf,
)

__all__ = ["db", "url"]

PORT = "11111111-2222-4333-8444-555555555555"


class Boom(Exception):
    pass


def _statuses(database: api.Database) -> dict[str, str]:
    return {a: r.status for a, r in _rows(database).items()}


def _port_request(physnet: str) -> PciRequest:
    return PciRequest(spec=[{"physical_network": physnet}], requester_id=PORT)


def test_claim_is_stored_with_its_request_id(db: api.Database) -> None:
    rt = _rt(db)
    rt.start()
    req = _port_request("physnet0")
    claim = rt.claim(A, [req])

    (dev,) = claim.devices
    assert dev.request_id == req.request_id and req.requester_id == PORT
    assert claim.by_request(req.request_id) == claim.devices
    assert dev.physical_network == "physnet0"
    row = _rows(db)[str(dev.address)]
    assert (row.status, row.instance_uuid, row.request_id) == (
        "claimed",
        A,
        req.request_id,
    )
    assert _statuses(db)[PF[0]] == "unclaimable"
    assert _pool_counts(db)[("type-VF", "physnet0")] == 3
    assert not rt.unsaved


def test_leaving_by_an_exception_frees_exactly_what_was_claimed(
    db: api.Database,
) -> None:
    rt = _rt(db)
    rt.start()
    kept = rt.claim(A, [_vf_request("physnet1")])
    before = _statuses(db)
    with pytest.raises(Boom), rt.claim(A, [_vf_request("physnet0")]) as c:
        assert _statuses(db)[str(c.devices[0].address)] == "claimed"
        raise Boom
    assert c.aborted
    after = _statuses(db)
    # The aborted claim's VF and its PF are free again, and stored so;
    # the other claim of the same instance is untouched.
    assert after == before
    assert after[str(kept.devices[0].address)] == "claimed"
    assert rt.tracker.devices_of(A)[0].address == kept.devices[0].address


def test_leaving_normally_keeps_then_allocate_and_free_are_stored(
    db: api.Database,
) -> None:
    rt = _rt(db)
    rt.start()
    with rt.claim(A, [_vf_request("physnet0"), _vf_request("physnet1")]):
        pass
    assert sorted(_statuses(db).values()).count("claimed") == 2
    allocated = rt.allocate(A)
    assert len(allocated) == 2
    statuses = _statuses(db)
    assert {statuses[str(d.address)] for d in allocated} == {"allocated"}
    assert statuses[PF[0]] == statuses[PF[1]] == "unavailable"
    freed = rt.free(A)
    assert {d.address for d in freed} == {d.address for d in allocated}
    assert set(_statuses(db).values()) == {"available"}
    assert _pool_counts(db)[("type-PF", "physnet0")] == 1


def test_abort_is_idempotent_and_undoes_an_allocation(
    db: api.Database,
) -> None:
    rt = _rt(db)
    rt.start()
    claim = rt.claim(A, [_vf_request("physnet0")])
    rt.allocate(A)
    claim.abort()
    assert set(_statuses(db).values()) == {"available"}
    # A second claim of the same instance takes a device; aborting the
    # first again must not free it.
    again = rt.claim(A, [_vf_request("physnet0")])
    claim.abort()
    assert _statuses(db)[str(again.devices[0].address)] == "claimed"
    assert "aborted" in repr(claim)


def test_unsatisfiable_claim_stores_nothing(db: api.Database) -> None:
    rt = _rt(db)
    rt.start()
    before = _statuses(db)
    with pytest.raises(exception.PciRequestUnsatisfiable, match="physnet9"):
        rt.claim(A, [_vf_request("physnet0"), _vf_request("physnet9")])
    assert _statuses(db) == before
    assert rt.tracker.devices_of(A) == []


def test_second_process_sees_the_claim_and_takes_another_device(
    db: api.Database,
) -> None:
    first, second = _rt(db), _rt(db)
    first.start()
    second.start()
    mine = first.claim(A, [_vf_request("physnet0")])
    # ``second`` read the rows before ``first`` claimed: its write
    # conflicts, it loads the stored claim and picks again.
    theirs = second.claim(B, [_vf_request("physnet0")])
    assert mine.devices[0].address != theirs.devices[0].address
    rows = _rows(db)
    assert rows[str(mine.devices[0].address)].instance_uuid == A
    assert rows[str(theirs.devices[0].address)].instance_uuid == B
    # Both on PF 0's partly used VFs, each process sees the other's.
    assert {d.instance_uuid for d in second.tracker.devices} >= {A, B}
    for i in range(2):
        first.claim(f"{A[:-1]}{i + 2}", [_vf_request("physnet0")])
    with pytest.raises(exception.PciRequestUnsatisfiable) as info:
        second.claim(B, [_vf_request("physnet0")])
    assert "physnet0" in str(info.value)
    assert sorted(_statuses(db).values()).count("claimed") == 4


def test_claim_gives_up_after_repeated_conflicts(
    db: api.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = _rt(db)
    rt.start()
    before = _statuses(db)
    calls: list[int] = []

    def busy_for_claims(write: Callable[..., PciSaveResult]) -> Any:
        def busy(*args: Any) -> PciSaveResult:
            # Another writer gets in before every write of the claim;
            # the reload in between (nothing claimed) stores fine.
            if not rt.tracker.instances:
                return write(*args)
            calls.append(1)
            raise exception.PciStateConflict(node=HOST, reason="busy (test)")

        return busy

    # Both ways a change is stored: whole, or only what it touched.
    monkeypatch.setattr(rt, "save", busy_for_claims(rt.save))
    monkeypatch.setattr(rt, "_save_changes", busy_for_claims(rt._save_changes))
    monkeypatch.setattr("time.sleep", lambda _s: None)
    with pytest.raises(exception.PciStateConflict, match="busy"):
        rt.claim(A, [_vf_request("physnet0")])
    assert len(calls) == CHANGE_ATTEMPTS
    # Memory is the stored state again: nothing claimed anywhere.
    assert rt.tracker.devices_of(A) == []
    assert _statuses(db) == before


def test_the_load_after_a_conflict_is_retried_after_pauses(
    db: api.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under many writers (20 boots at once) the load that follows a
    # conflicting claim meets the next writer too; it used to give up
    # after START_ATTEMPTS immediate tries and fail the boot with "run
    # it again" while VFs were still free.
    rt = _rt(db)
    rt.start()
    conflicts = {"claim": 1, "load": LOAD_ATTEMPTS - 1}
    pauses: list[float] = []

    def busy(write: Callable[..., PciSaveResult]) -> Any:
        def maybe(*args: Any) -> PciSaveResult:
            kind = "claim" if rt.tracker.instances else "load"
            if conflicts[kind]:
                conflicts[kind] -= 1
                raise exception.PciStateConflict(
                    node=HOST, reason="busy (test)"
                )
            return write(*args)

        return maybe

    monkeypatch.setattr(rt, "save", busy(rt.save))
    monkeypatch.setattr(rt, "_save_changes", busy(rt._save_changes))
    monkeypatch.setattr("time.sleep", pauses.append)
    (dev,) = rt.claim(A, [_vf_request("physnet0")]).devices
    assert conflicts == {"claim": 0, "load": 0}
    assert _statuses(db)[str(dev.address)] == "claimed"
    # A pause before each retry of the load, and one before the claim
    # is applied again; their bounds double up to PAUSE_MAX.
    assert len(pauses) == (LOAD_ATTEMPTS - 1) + 1
    assert all(0.0 <= p <= PAUSE_MAX for p in pauses)
    assert max(pauses) > PAUSE_FIRST


def test_failed_write_takes_the_claim_back(
    db: api.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = _rt(db)
    rt.start()

    def down(*args: object, **kwargs: object) -> None:
        raise exception.DatabaseError(
            connection="sqlite://", reason="gone (test)"
        )

    monkeypatch.setattr(rt, "save", down)
    monkeypatch.setattr(rt, "_save_changes", down)
    with pytest.raises(exception.DatabaseError):
        rt.claim(A, [_vf_request("physnet0")])
    assert rt.tracker.devices_of(A) == []
    assert rt.tracker.get(PF[0]).status == "available"


def test_claim_before_start_loads_the_stored_state(
    db: api.Database,
) -> None:
    _rt(db).start()
    other = _rt(db)
    other.start()
    taken = other.claim(A, [_vf_request("physnet1")])
    late = _rt(db)
    claim = late.claim(B, [_vf_request("physnet1")])
    assert isinstance(claim, Claim)
    assert claim.devices[0].address != taken.devices[0].address
    assert str(claim.devices[0].address).startswith(vf(1, 0)[:-1])
