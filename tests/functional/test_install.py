"""tools/install-venv: a failed install names the package and the reason."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_failed_install_names_the_package_and_reason(
    tmp_path: pathlib.Path,
) -> None:
    # A copy of the script in a tree of its own, whose only requirement
    # is pinned to a version that does not exist.
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools/install-venv", tmp_path / "tools")
    (tmp_path / "requirements.txt").write_text("soupsieve\n")
    (tmp_path / "test-requirements.txt").write_text("")
    (tmp_path / "upper-constraints.txt").write_text(
        "soupsieve==0.0.0.dev999\n"
    )
    result = subprocess.run(
        [
            str(tmp_path / "tools/install-venv"),
            sys.executable,
            str(tmp_path / "venv"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    err = result.stderr
    assert "FAILED: pip could not install the pinned packages" in err
    assert "soupsieve==0.0.0.dev999" in err
    assert "conflict is caused by" in err
    assert str(tmp_path / "venv/install.log") in err
