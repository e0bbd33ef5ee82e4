"""Where sriovirt finds its shipped files (sample hosts, migrations).

The sample libvirt host documents live in ``etc/sriovirt/hosts`` of the
source tree; an installed copy lives under ``<prefix>/etc/sriovirt``.
"""

from __future__ import annotations

import sys
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[2]


def etc_dir() -> Path:
    """The directory holding ``sriovirt.conf`` and ``hosts/``."""
    for candidate in (
        SOURCE_ROOT / "etc" / "sriovirt",
        Path(sys.prefix) / "etc" / "sriovirt",
    ):
        if (candidate / "hosts").is_dir():
            return candidate
    return SOURCE_ROOT / "etc" / "sriovirt"


def sample_host(name: str = "small") -> Path:
    """The sample host document ``hosts/<name>.xml``."""
    return etc_dir() / "hosts" / f"{name}.xml"


def test_driver_uri(path: Path) -> str:
    """The libvirt test-driver URI for a host document (absolute path)."""
    return f"test://{path.resolve()}"
