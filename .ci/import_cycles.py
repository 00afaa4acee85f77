#!/usr/bin/env python3
"""Reports import cycles between the files of daemon-runtime/src (issue 21:
"no import cycles, and nothing inside the crate imports lib.rs").

A file imports another when it names a path `crate::a::b::…` (in `use` or
in code, not in comments) whose longest prefix is that file's module;
`super::` paths (inside `sys/` only) and `mod` declarations are not
edges. Exits 1 on a cycle or an import of lib.rs, else 0. Run by `.ci/run`."""
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "daemon-runtime" / "src"


def module_of(path):
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    return tuple(parts) if parts != ["lib"] else ()


def file_of(modules, segments):
    """The file the longest prefix of `segments` names."""
    for n in range(len(segments), -1, -1):
        if tuple(segments[:n]) in modules:
            return modules[tuple(segments[:n])]
    return None


def paths(text):
    """Every `crate::…` path, with `use crate::a::{b, c::d}` groups expanded."""
    text = re.sub(r"//.*", "", text)
    for match in re.finditer(r"crate((?:::\w+)+)(::\{)?", text):
        base = match.group(1).split("::")[1:]
        if not match.group(2):
            yield base
            continue
        depth, start, i = 1, match.end(), match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        for item in re.split(r",(?![^{]*\})", text[start : i - 1]):
            # `a::b`, `a::{…}` (the deeper group resolves to `a`), `a as b`, `self`.
            head = item.split("{")[0].split(" as ")[0]
            yield base + [s for s in head.strip().split("::") if re.fullmatch(r"\w+", s) and s != "self"]


def main():
    modules = {module_of(p): p for p in SRC.rglob("*.rs")}
    graph = {}
    for path in modules.values():
        edges = set()
        for segments in paths(path.read_text()):
            target = file_of(modules, segments)
            if target is not None and target != path:
                edges.add(target)
        graph[path] = edges
    lib = SRC / "lib.rs"
    bad = [p for p, edges in graph.items() if lib in edges]
    for p in bad:
        print(f"imports lib.rs: {p.relative_to(SRC)}")
    # Tarjan's strongly connected components.
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(component)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    for component in cycles:
        names = sorted(str(p.relative_to(SRC)) for p in component)
        print("cycle: " + ", ".join(names))
        for p in sorted(component):
            inside = sorted(str(w.relative_to(SRC)) for w in graph[p] if w in component)
            print(f"  {p.relative_to(SRC)} -> {', '.join(inside)}")
    print(f"{len(graph)} files, {sum(map(len, graph.values()))} imports, {len(cycles)} cycles")
    return 1 if cycles or bad else 0


if __name__ == "__main__":
    sys.exit(main())
