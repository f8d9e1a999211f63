"""The README's layout table names every package of the tree, and only paths that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _layout_rows() -> list[tuple[list[str], str]]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        where, what = line.split(" | ", 1)
        rows.append((re.findall(r"`([^`]+)`", where), what))
    return rows


def test_every_path_the_layout_names_exists() -> None:
    named = [path for paths, _ in _layout_rows() for path in paths]
    assert named
    missing = [p for p in named if not any(ROOT.glob(p.rstrip("/")))]
    assert missing == []


def test_every_package_and_room_is_in_the_layout() -> None:
    named = {path.rstrip("/") for paths, _ in _layout_rows() for path in paths}
    packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "app").glob("*/__init__.py")}
    rooms = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "app" / "loop").glob("*/__init__.py")}
    assert sorted(((packages - {"app/loop", "app/examples"}) | rooms) - named) == []


def test_every_module_of_a_loop_room_is_in_its_row() -> None:
    rows = {paths[0].rstrip("/"): what for paths, what in _layout_rows()}
    unlisted = []
    for init in (ROOT / "app" / "loop").glob("*/__init__.py"):
        room = str(init.parent.relative_to(ROOT))
        for module in init.parent.glob("*.py"):
            stem = module.stem
            listed = f"`{stem}`" in rows.get(room, "") or any(
                stem.startswith(m.rstrip("*")) for m in re.findall(r"`(\w+\*)`", rows.get(room, ""))
            )
            if stem != "__init__" and not listed:
                unlisted.append(f"{room}/{stem}")
    assert unlisted == []
