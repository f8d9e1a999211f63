"""``tools/check_sizes.py`` (run by ``make lint``) can fail: it is run here on small trees made to break it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECKER = Path(__file__).resolve().parent.parent / "tools" / "check_sizes.py"


def _function(name: str, body_lines: int, indent: str = "") -> str:
    """A function of exactly ``body_lines + 1`` lines (its ``def`` line, then one statement a line)."""
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(body_lines))
    return f"{indent}def {name}() -> None:\n{body}"


def _check(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECKER), str(tree)], capture_output=True, text=True, check=False
    )


def test_a_function_over_fifty_lines_fails_and_one_of_fifty_passes(tmp_path: Path) -> None:
    (tmp_path / "short.py").write_text(_function("fits", 49), encoding="utf-8")
    assert _check(tmp_path).returncode == 0

    (tmp_path / "long.py").write_text(_function("too_long", 50), encoding="utf-8")
    result = _check(tmp_path)
    assert result.returncode == 1
    assert "long.py:1: function too_long has 51 lines" in result.stderr
    assert "fits" not in result.stderr


def test_decorators_do_not_count_and_methods_and_nested_functions_do(tmp_path: Path) -> None:
    decorated = "".join(f"@decorator{i}\n" for i in range(5)) + _function("decorated", 49)
    (tmp_path / "decorated.py").write_text(decorated, encoding="utf-8")
    assert _check(tmp_path).returncode == 0

    nested = _function("outer", 0) + _function("inner", 50, indent="    ")
    method = "class Holder:\n" + _function("method", 50, indent="    ")
    (tmp_path / "nested.py").write_text(nested + method, encoding="utf-8")
    result = _check(tmp_path)
    assert result.returncode == 1
    assert "function outer has 52 lines" in result.stderr
    assert "function outer.inner has 51 lines" in result.stderr
    assert "function Holder.method has 51 lines" in result.stderr


def test_a_module_over_three_hundred_lines_fails(tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text("x = 1\n" * 300, encoding="utf-8")
    assert _check(tmp_path).returncode == 0

    source.write_text("x = 1\n" * 301, encoding="utf-8")
    result = _check(tmp_path)
    assert result.returncode == 1
    assert "module has 301 lines" in result.stderr
