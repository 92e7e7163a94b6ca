"""Measure the shape of the package: import cycles, modules over 400 lines, functions over 60.

Run:  .venv/bin/python scripts/architecture.py [--json]

Imports are read from the source (ast), module-level and inside functions alike, so a cycle
hidden in a function body counts. A cycle is a strongly connected component of the module graph
with more than one module (Tarjan). Issue 19 asks for 0 cycles outside the simulators, 0 modules
over 400 lines; the numbers go into the issue's note before and after.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pipeline"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports (``from pipeline.x import y`` counts x, or x.y when
    y is itself a module)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    found.discard(module_name(path))
    return found


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def long_functions(path: Path, limit: int) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                found.append((f"{module_name(path)}.{node.name}", length))
    return found


def measure() -> dict[str, object]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    graph = {module_name(path): imports_of(path, modules) for path in paths}
    cycles = strongly_connected(graph)
    outside = [c for c in cycles if not all(m.startswith("pipeline.simulators") for m in c)]
    big = sorted(
        ((module_name(p), n) for p in paths if (n := len(p.read_text().splitlines())) > 400),
        key=lambda item: -item[1],
    )
    functions = sorted((f for p in paths for f in long_functions(p, 60)), key=lambda item: -item[1])
    return {
        "modules": len(paths),
        "lines": sum(len(p.read_text().splitlines()) for p in paths),
        "cycles": cycles,
        "cycles_outside_simulators": len(outside),
        "modules_over_400_lines": big,
        "functions_over_60_lines": functions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    result = measure()
    if parser.parse_args().json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['modules']} modules, {result['lines']} lines")
    cycles = result["cycles"]
    assert isinstance(cycles, list)
    print(
        f"import cycles: {len(cycles)} ({result['cycles_outside_simulators']} outside simulators)"
    )
    for cycle in cycles:
        print("  " + " <-> ".join(cycle))
    print("modules over 400 lines:")
    for name, lines in result["modules_over_400_lines"]:  # type: ignore[attr-defined]
        print(f"  {name}: {lines}")
    print("functions over 60 lines:")
    for name, lines in result["functions_over_60_lines"]:  # type: ignore[attr-defined]
        print(f"  {name}: {lines}")


if __name__ == "__main__":
    main()
