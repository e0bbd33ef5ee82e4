"""Timing helpers shared by the benches: best of N, garbage collector off.

Every bench times the same way (and the same way as the Nova peer runner,
which cannot import this module: it runs under Nova's interpreter), so
their figures and the Nova/sriovirt ratios compare like with like.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def gc_off() -> Iterator[None]:
    """Collect first, then keep the garbage collector out of the timing."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def best_ms(
    func: Callable[[], object],
    repeats: int,
    setup: Callable[[], object] | None = None,
) -> float:
    """The best of ``repeats`` calls of ``func``, in milliseconds.

    ``setup`` runs before each call, outside the timed region (fresh
    inputs, as the Nova runner's ``setup`` gives Nova fresh ones).
    """
    best = float("inf")
    with gc_off():
        for _ in range(repeats):
            if setup is not None:
                setup()
            start = time.perf_counter()
            func()
            best = min(best, time.perf_counter() - start)
    return best * 1e3
