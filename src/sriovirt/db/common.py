"""Statement helpers the per-table query modules of :mod:`sriovirt.db`
share: IN lists and bulk writes cut below every backend's bound-parameter
limit, and JSON text compared by value.

This module must not run queries or know a table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

#: Rows per statement for IN lists and bulk writes: below every
#: backend's bound-parameter limit (SQLite's was 999 before 3.32).
CHUNK = 500


def same_json(old: str | None, new: str | None) -> bool:
    """Whether two JSON texts hold the same value (None only equals
    None; text that is not JSON compares as text)."""
    if old is None or new is None:
        return old is new
    try:
        return bool(json.loads(old) == json.loads(new))
    except ValueError:
        return old == new


def chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most :data:`CHUNK`."""
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
