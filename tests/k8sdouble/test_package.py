"""The double's modules depend on each other in one direction: no import cycles, not even inside functions."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
PACKAGE_NAME = "tests.k8sdouble"


def imported_modules(path: Path) -> set[str]:
    """The modules of this package that ``path`` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1:
                names = [module] if module else [alias.name for alias in node.names]
            elif module.startswith(f"{PACKAGE_NAME}."):
                names = [module.removeprefix(f"{PACKAGE_NAME}.")]
            else:
                continue
            found.update(name.split(".")[0] for name in names)
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.removeprefix(f"{PACKAGE_NAME}.").split(".")[0]
                for alias in node.names
                if alias.name.startswith(f"{PACKAGE_NAME}.")
            )
    return found


def test_the_modules_import_each_other_without_cycles() -> None:
    modules = {path.stem: path for path in PACKAGE.glob("*.py") if not path.stem.startswith(("test_", "__"))}
    graph = {name: imported_modules(path) & modules.keys() for name, path in modules.items()}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as cycle:
        raise AssertionError("import cycle: " + " imports ".join(reversed(cycle.args[1]))) from None
    assert order.index("errors") < order.index("cluster") < order.index("api") < order.index("server")
    assert graph["server"] >= {"api", "cluster", "faults"}  # the graph is read, not empty
