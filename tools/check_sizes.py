"""Hold the size limits the code keeps: no module over 300 lines, no function over 50.

    python3 tools/check_sizes.py [DIR_OR_FILE ...]        (default: app/)

A module's size is its physical lines; a function's (or method's) is from its ``def`` line to its last
line, decorators excluded, nested functions counted both on their own and inside their parent. Exits 1
with one line per offender, 0 when there is none. Standard library only, like the other tools.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 50
ROOT = Path(__file__).resolve().parent.parent


def _sources(targets: list[Path]) -> Iterator[Path]:
    for target in targets:
        if target.is_dir():
            yield from sorted(target.rglob("*.py"))
        else:
            yield target


Function = ast.FunctionDef | ast.AsyncFunctionDef


def _functions(tree: ast.AST) -> Iterator[tuple[str, Function]]:
    """Every function and method with its dotted name in the module (``Class.method``, ``outer.inner``)."""

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, Function]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield prefix + child.name, child
                yield from walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(tree, "")


def offenders(source: Path, shown_as: str) -> Iterator[str]:
    """One line per limit ``source`` breaks, naming it as ``shown_as``."""
    text = source.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    if lines > MAX_MODULE_LINES:
        yield f"{shown_as}: module has {lines} lines (limit {MAX_MODULE_LINES})"
    for name, function in _functions(ast.parse(text, filename=str(source))):
        length = (function.end_lineno or function.lineno) - function.lineno + 1
        if length > MAX_FUNCTION_LINES:
            yield (
                f"{shown_as}:{function.lineno}: function {name} has {length} lines "
                f"(limit {MAX_FUNCTION_LINES})"
            )


def _shown(source: Path) -> str:
    try:
        return str(source.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("targets", nargs="*", type=Path, default=[ROOT / "app"])
    args = parser.parse_args(argv)
    found = [line for source in _sources(args.targets) for line in offenders(source, _shown(source))]
    if found:
        print(f"{len(found)} size limit(s) broken:", file=sys.stderr)
        for line in found:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"sizes ok: no module over {MAX_MODULE_LINES} lines, no function over {MAX_FUNCTION_LINES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
