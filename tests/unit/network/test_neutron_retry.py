"""RetryPolicy of the Neutron backend: bounded, doubling, capped."""

from __future__ import annotations

import pytest

from sriovirt import exception
from sriovirt.network.neutron import RetryPolicy


def test_default_gives_up_quickly() -> None:
    delays = list(RetryPolicy().delays())
    assert len(delays) == RetryPolicy().attempts - 1 == 2
    assert sum(delays) < 1.0


def test_delays_double_and_are_capped() -> None:
    policy = RetryPolicy(attempts=5, delay=0.3, max_delay=1.0)
    assert list(policy.delays()) == [0.3, 0.6, 1.0, 1.0]
    assert list(RetryPolicy(attempts=1).delays()) == []


def test_nonsense_is_refused() -> None:
    with pytest.raises(exception.Invalid):
        RetryPolicy(attempts=0)
