"""test_include_graph: no include cycles among the shim's modules.

A module is a .c file with its .h (shim/core/rules.c + rules.h); module A
depends on B when A.c or A.h has `#include "B.h"`. The graph must have no
cycle: a header with types only (rules_types.h, answer_types.h) breaks one
(docs/DESIGN.md, "Layers and includes"). The one documented exception is
the pair sockconn <-> sslhooks (the socket engine hands a connection to
the TLS layer and back), allowed if it exists (through tlspair.h it does
not today); the files those two layers were split into (sockfd, sockswap,
sockopt; ssllib, sslsess, sslengine, sslalpn) may not join it.
"""
import re

from conftest import ROOT

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

# Cycles that may stay: each set of modules may form a cycle among
# themselves, and no other module may join it.
ALLOWED = [
    {"shim/lib/sockconn", "shim/lib/sslhooks"},  # documented exception
]


def strip_comments(text):
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def module_graph(root=ROOT):
    """{module: {modules it includes}} for shim/**/*.[ch]."""
    graph = {}
    for f in sorted((root / "shim").rglob("*.[ch]")):
        mod = f.relative_to(root).with_suffix("").as_posix()
        deps = graph.setdefault(mod, set())
        for name in INCLUDE.findall(strip_comments(f.read_text())):
            target = (f.parent / name).resolve()
            if target.exists() and target.is_relative_to(root):
                dep = target.relative_to(root).with_suffix("").as_posix()
                if dep != mod:
                    deps.add(dep)
    return graph


def cycles(graph):
    """The strongly connected components with more than one module
    (Tarjan's algorithm, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    m = stack.pop()
                    on.discard(m)
                    comp.add(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    out.append(comp)
    return out


def forbidden(graph):
    bad = []
    for comp in cycles(graph):
        if not any(comp <= allowed for allowed in ALLOWED):
            path = " -> ".join(sorted(comp))
            edges = "; ".join(f"{a} includes {', '.join(sorted(graph[a] & comp))}" for a in sorted(comp))
            bad.append(f"include cycle among {path} ({edges})")
    return bad


def test_no_include_cycles():
    graph = module_graph()
    assert "shim/core/rules" in graph and "shim/core/decide" in graph
    assert forbidden(graph) == []


def test_core_includes_no_library_header():
    """The core is pure: nothing in shim/core includes shim/lib or the launcher."""
    graph = module_graph()
    bad = [f"{m} includes {d}" for m, deps in graph.items() if m.startswith("shim/core/")
           for d in deps if not d.startswith("shim/core/")]
    assert bad == []


def test_the_check_sees_a_cycle(tmp_path):
    """A cycle through a header is found, one through a comment is not, and
    the allowed pair stays allowed (so the tests above can fail)."""
    core = tmp_path / "shim/core"
    lib = tmp_path / "shim/lib"
    core.mkdir(parents=True)
    lib.mkdir(parents=True)
    (core / "a.h").write_text('#include "b.h"\n')
    (core / "a.c").write_text('#include "a.h"\n')
    (core / "b.h").write_text("/* #include \"a.h\" */\n")
    (core / "b.c").write_text('#include "b.h"\n')
    assert forbidden(module_graph(tmp_path)) == []
    (core / "b.c").write_text('#include "b.h"\n#include "a.h"\n')
    assert forbidden(module_graph(tmp_path)) == [
        "include cycle among shim/core/a -> shim/core/b (shim/core/a includes shim/core/b; "
        "shim/core/b includes shim/core/a)"]
    (lib / "sockconn.c").write_text('#include "sslhooks.h"\n')
    (lib / "sslhooks.h").write_text("")
    (lib / "sslhooks.c").write_text('#include "sockconn.h"\n')
    (lib / "sockconn.h").write_text("")
    assert len(cycles(module_graph(tmp_path))) == 2
    assert len(forbidden(module_graph(tmp_path))) == 1
