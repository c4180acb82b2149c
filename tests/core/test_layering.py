"""The architecture, guarded: cert_core is a library (never streamlit, plotly or ui), the engine at its top never
reaches up into models, methods or runs, models never into methods or runs, receipts (the top layer, beside runs)
are imported by no other cert_core module, and no module imports itself back.

Read from the source (every import statement, also inside functions), so a lazy import cannot hide an edge."""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORE = ROOT / "cert_core"
ENGINE = {"cert_core.smoothing", "cert_core.stats", "cert_core.metrics", "cert_core.grid", "cert_core.validation",
          "cert_core.grid_view", "cert_core.boundary", "cert_core.monte_carlo",
          "cert_core.attacks", "cert_core.tensors", "cert_core.noise", "cert_core.sequential"}
# The zoo's build tool trains the SRA entries with the margin method's trainer. It sits beside the catalogue it
# builds (cert_core.models.zoo, which imports no method) and is a top: nothing in cert_core imports it.
BUILD_TOOLS = {"cert_core.models.zoo_build"}


def _module(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST):
    """Every node, except what sits under ``if TYPE_CHECKING:`` (type hints only, never imported at run time)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(path: pathlib.Path) -> set[str]:
    """Absolute names of every module this file imports (``from a import b`` counts a.b when b is a module)."""
    out = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{path}: relative import (cert_core imports are absolute)")
    return out


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in CORE.rglob("*.py")}
    return {m: {i for i in _imports(p) if i in modules and i != m} for m, p in modules.items()}


def test_cert_core_never_imports_the_ui():
    for path in CORE.rglob("*.py"):
        bad = {i for i in _imports(path) if i.split(".")[0] in ("streamlit", "plotly", "ui")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_each_layer_imports_only_the_layers_below_it():
    for module, deps in _graph().items():
        assert not deps & BUILD_TOOLS, f"{module} imports the build tool {deps & BUILD_TOOLS} (a top: nothing may)"
        for dep in deps - {module}:
            if module in BUILD_TOOLS or module.startswith(dep + "."):      # a package's own __init__
                continue
            if module in ENGINE:
                assert dep in ENGINE, f"engine module {module} imports {dep}"
            if module.startswith("cert_core.models"):
                assert not dep.startswith(("cert_core.methods", "cert_core.runs")), f"{module} imports {dep}"
            if module.startswith("cert_core.methods") and not module.endswith(".run"):
                assert not dep.startswith("cert_core.runs"), f"{module} imports {dep} (only a method's run adapter may)"
            if module.endswith(".run") and dep.startswith("cert_core.runs"):
                assert dep in ("cert_core.runs.chunks", "cert_core.runs.method"), f"{module} imports {dep}"
            if dep.startswith("cert_core.receipts"):       # the top layer: only the UI and the tests use it
                assert module.startswith("cert_core.receipts"), f"{module} imports {dep}"
            if module.startswith("cert_core.receipts"):    # receipts recompute with the engine, models and methods
                assert not dep.startswith("cert_core.runs"), f"{module} imports {dep}"


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for d in sorted(graph[m]):
            if d.startswith(m + ".") or m.startswith(d + "."):
                continue                                            # a package and its own modules
            assert state.get(d) != 1, "import cycle: " + " -> ".join(path + [d])
            if d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def import_depth() -> tuple[int, list[str]]:
    """The longest chain of imports inside cert_core (for the architecture note; not asserted)."""
    graph, memo = _graph(), {}

    def longest(m, seen):
        if m in memo:
            return memo[m]
        best = [m]
        for d in graph[m]:
            if d not in seen and not d.startswith(m + ".") and not m.startswith(d + "."):
                chain = [m] + longest(d, seen | {d})
                best = max(best, chain, key=len)
        memo[m] = best
        return best

    chain = max((longest(m, {m}) for m in graph), key=len)
    return len(chain) - 1, chain


if __name__ == "__main__":
    depth, chain = import_depth()
    print(depth, " -> ".join(chain))
