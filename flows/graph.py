"""Graph checks used by validation: reachability and loops that never wait for the customer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def reachable(starts: Iterable[str], successors: Mapping[str, Sequence[str]]) -> set[str]:
    """Every node reachable from `starts` (iterative DFS)."""
    seen: set[str] = set()
    stack = list(starts)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(successors.get(node, ()))
    return seen


def endless_loops(successors: Mapping[str, Sequence[str]], waiting: set[str]) -> list[list[str]]:
    """Cycles that avoid every waiting node, as sorted node lists (one per strongly connected component).

    Waiting nodes are removed first: any cycle left would run within a single turn forever. Tarjan's
    algorithm, iterative so a big flow cannot hit the recursion limit.
    """
    graph = {
        n: [t for t in ts if t not in waiting and t in successors]
        for n, ts in successors.items()
        if n not in waiting
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    loops: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = graph[node]
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    loops.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return loops
