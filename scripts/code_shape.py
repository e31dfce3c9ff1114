"""The shape of the code, as issue 18 states its limits: no source file over 700 lines, and
the median view and flow function at most 25 lines.

    python scripts/code_shape.py            # report; exit 1 when a limit is broken
    python scripts/code_shape.py --list     # also every view and flow function by size

A *view* is a function decorated by a router (``@router.get(...)``, ``@router.post(...)``,
...); a *flow function* is one decorated by Prefect's ``@flow`` or ``@task`` (or
``flows.applications.step``, a task with retries) in ``flows/``.
A function's length counts from its ``def`` line to its last line (decorators not counted,
its docstring and comments counted).
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("servicepoint", "intake", "flows", "backoffice", "video", "tutorials", "tests")
SCRIPTS = ("bench", "scripts")
MAX_FILE_LINES = 700
MAX_MEDIAN_FUNCTION = 25
ROUTE_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "api_route"}


def python_files() -> Iterator[Path]:
    for folder in (*SOURCES, *SCRIPTS):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations/versions" not in path.as_posix():
                yield path


def _decorator_name(node: ast.expr) -> tuple[str, str]:
    """``(owner, name)`` of a decorator: ``router.get(...)`` → ("router", "get")."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        owner = node.value.id if isinstance(node.value, ast.Name) else ""
        return owner, node.attr
    if isinstance(node, ast.Name):
        return "", node.id
    return "", ""


def _kind(function: ast.FunctionDef | ast.AsyncFunctionDef, in_flows: bool) -> str | None:
    for decorator in function.decorator_list:
        owner, name = _decorator_name(decorator)
        if name in ROUTE_METHODS and owner.endswith("router"):
            return "view"
        if in_flows and name in {"flow", "task", "step"}:
            return "flow"
    return None


def functions(path: Path) -> Iterator[tuple[str, str, int]]:
    """``(kind, qualified place, length)`` of each view and flow function in ``path``."""
    rel = path.relative_to(ROOT).as_posix()
    in_flows = rel.startswith("flows/")
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            kind = _kind(node, in_flows)
            if kind is not None and not rel.startswith("tests/"):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                yield kind, f"{rel}:{node.lineno} {node.name}", length


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list every view and flow")
    parser.add_argument(
        "--skip", nargs="*", default=[], help="folders whose file sizes are not checked"
    )
    args = parser.parse_args(argv)
    broken = False
    sizes: dict[str, list[tuple[int, str]]] = {"view": [], "flow": []}
    long_files = []
    for path in python_files():
        rel = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_FILE_LINES and not any(rel.startswith(f"{s}/") for s in args.skip):
            long_files.append((lines, rel))
        for kind, place, length in functions(path):
            sizes[kind].append((length, place))
    for lines, rel in sorted(long_files, reverse=True):
        print(f"over {MAX_FILE_LINES} lines: {rel} ({lines})")
    broken |= bool(long_files)
    if not long_files:
        print(f"no file over {MAX_FILE_LINES} lines")
    for kind, found in sizes.items():
        lengths = [length for length, _ in found]
        median = statistics.median(lengths) if lengths else 0
        print(
            f"{kind} functions: {len(lengths)}, median {median:g} lines, "
            f"mean {statistics.fmean(lengths) if lengths else 0:.1f}, max {max(lengths, default=0)}"
        )
        broken |= median > MAX_MEDIAN_FUNCTION
        if args.list:
            for length, place in sorted(found, reverse=True):
                print(f"  {length:4d}  {place}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
