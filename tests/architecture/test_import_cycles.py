"""No import cycle between any two modules of portal and provisioning, function-level imports included.

The import-linter contracts (``make lint``) keep packages acyclic and imports pointing one way; this finds a
cycle between modules of one package too, e.g. a function-level import that only dodges a cycle at load time.
grimp (import-linter's graph) reads every import statement, wherever it is written; like the contracts, it
leaves out imports made only for type annotations under ``TYPE_CHECKING``, which load nothing.
"""

import grimp

ROOTS = ("portal", "provisioning")


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The graph's strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def module_graph() -> dict[str, set[str]]:
    imports = grimp.build_graph(*ROOTS, cache_dir=None, exclude_type_checking_imports=True)
    return {module: set(imports.find_modules_directly_imported_by(module)) for module in imports.modules}


def test_the_cycle_finder_finds_cycles_and_nothing_else():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": {"f"}, "g": set()}
    assert sorted(strongly_connected(graph)) == [["a", "b", "c"], ["d", "e"]]


def test_no_import_cycle_between_any_two_modules():
    cycles = strongly_connected(module_graph())
    assert not cycles, "modules that import each other (directly or through others):\n" + "\n".join(
        " <-> ".join(cycle) for cycle in cycles
    )
