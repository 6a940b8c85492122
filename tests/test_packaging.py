"""Installing puts only `ledger` and `scoreledger_cli` at the top of site-packages."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapping = config["package-dir"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "ledger").rglob("__init__.py")}
    found |= {"scoreledger_cli"}
    found |= {
        "ledger.sql" + ("." + ".".join(p.parent.relative_to(ROOT / "sql").parts) if p.parent != ROOT / "sql" else "")
        for p in (ROOT / "sql").rglob("__init__.py")
    }
    assert found == listed
    assert mapping == {"scoreledger_cli": "cli", "ledger.sql": "sql"}


def test_wheel_has_no_generic_top_level_names(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("scoreledger-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"ledger", "scoreledger_cli"}
    assert "ledger/sql/postgresql/__init__.py" in names
    assert "ledger/store/migrations/versions/0001_event_tables.py" in names
    assert "ledger/store/migrations/script.py.mako" in names
