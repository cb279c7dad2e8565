"""No import cycles between the project's files, counting imports inside functions too.

Every `import x` / `from x import y` anywhere in a module of `webapp`, `flows` or `connectors` is an edge from
that file to the file it names (a package import names its `__init__.py`; `from package import module`
names the module). A cycle is a strongly connected set of more than one file (or a file importing itself).
"""

from __future__ import annotations

import ast
from pathlib import Path

from flows.graph import endless_loops

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("webapp", "flows", "connectors")


def _module_files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join(parts)] = path
    return files


def _resolve(module: str, name: str | None, files: dict[str, Path]) -> str | None:
    if name and f"{module}.{name}" in files:
        return f"{module}.{name}"
    return module if module in files else None


def import_graph() -> dict[str, set[str]]:
    files = _module_files()
    graph: dict[str, set[str]] = {m: set() for m in files}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [_resolve(alias.name, None, files) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [_resolve(base, alias.name, files) for alias in node.names]
            graph[module].update(t for t in targets if t and t != module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected sets of more than one file (the flow validator's Tarjan, with no waiting nodes)."""
    return endless_loops({module: sorted(targets) for module, targets in graph.items()}, set())


def test_no_import_cycles_between_files():
    found = cycles(import_graph())
    assert found == [], "\n".join(" <-> ".join(c) for c in found)


if __name__ == "__main__":  # the count for a closing note: python -m tests.test_import_cycles
    graph = import_graph()
    found = cycles(graph)
    print(f"{len(graph)} modules, {sum(map(len, graph.values()))} imports, {len(found)} cycle(s) over "
          f"{sum(map(len, found))} files")
    for component in found:
        print(" ", len(component), "files:", ", ".join(component))
