"""Import-graph figures for the layout (grimp): what a newcomer's map looks like.

- modules, top_level_modules: how much there is, and how much sits at the top;
- edges: direct imports between remediator's own modules;
- cyclic_modules, largest_cycle: modules in an import cycle (a strongly connected
  component of more than one module), and the largest such component;
- package_cycles: pairs of top-level packages that import each other (either
  way, directly): each is a place where reading one package sends you into the
  other and back.

`python -m bench.imports` on any layout, so before and after compare.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import grimp

PACKAGE = "remediator"


def _components(graph: Mapping[str, set[str]]) -> list[set[str]]:
    """Strongly connected components (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    found.append(component)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(graph[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _top(module: str) -> str:
    return ".".join(module.split(".")[:2])


def figures(modules: Iterable[str] | None = None) -> dict[str, object]:
    built = grimp.build_graph(PACKAGE)
    names = sorted(m for m in (modules or built.modules)
                   if m.startswith(PACKAGE) and ".migrations" not in m)
    graph = {m: {i for i in built.find_modules_directly_imported_by(m) if i in names}
             for m in names}
    cycles = [c for c in _components(graph) if len(c) > 1]
    pairs = {tuple(sorted((_top(a), _top(b)))) for a, targets in graph.items()
             for b in targets if _top(a) != _top(b)}
    package_cycles = sorted(f"{a} <-> {b}" for a, b in pairs
                            if any(_top(x) == a and any(_top(y) == b for y in graph[x])
                                   for x in names)
                            and any(_top(x) == b and any(_top(y) == a for y in graph[x])
                                    for x in names))
    return {
        "modules": len(names),
        "top_level_modules": sum(1 for m in names if m.count(".") == 1
                                 and not built.find_children(m)),
        "edges": sum(len(targets) for targets in graph.values()),
        "cyclic_modules": sum(len(c) for c in cycles),
        "largest_cycle": max((len(c) for c in cycles), default=0),
        "package_cycles": package_cycles,
    }


if __name__ == "__main__":
    print(json.dumps(figures(), indent=2))
