"""The three layers of hgsr/listed once in :mod:`hgsr.layers`: every top-level entry belongs to one; the core
never imports the study or the suite; the study never imports the suite's notebook runner; no import circle;
the code fingerprint of cached results reads exactly the core entries marked as deciding results."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hgsr import experiments, layers

PKG = Path(__file__).resolve().parents[1] / "hgsr"


def entry(path: Path) -> str:
    """The top-level entry of ``hgsr/`` that ``path`` belongs to (module stem or subpackage)."""
    return path.relative_to(PKG).parts[0].removesuffix(".py")


ALL = sorted(PKG.rglob("*.py"))
CORE = [p for p in ALL if layers.layer_of(entry(p)) == "core"]
STUDY = [p for p in ALL if layers.layer_of(entry(p)) == "study"]


def module_name(path: Path) -> str:
    parts = ["hgsr", *path.relative_to(PKG).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in ALL}


def imported_modules(path: Path, pkg: Path = PKG) -> set[str]:
    """Absolute names of every module ``path`` imports, at any depth of the file (relative imports resolved
    against its package; ``from package import name`` names the submodule when ``name`` is one)."""
    rel = path.relative_to(pkg)
    package = ["hgsr", *rel.parent.parts]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}
    return out


def test_every_top_level_entry_is_in_a_layer():
    entries = {entry(p) for p in ALL}
    for e in entries:
        layers.layer_of(e)            # raises a KeyError naming an unlisted entry
    assert set(layers.CORE) <= entries, f"hgsr.layers.CORE lists missing entries: {set(layers.CORE) - entries}"


def test_an_unlisted_entry_is_named():
    with pytest.raises(KeyError, match=r"hgsr/scratch is in no layer"):
        layers.layer_of("scratch")


def test_core_modules_are_found():
    names = {p.relative_to(PKG).as_posix() for p in CORE}
    assert {"data.py", "train.py", "prune/removal/surgery.py", "regularizers/registry.py",
            "viz/tradeoffs.py", "widgets.py"} <= names
    assert not any(n.startswith(("study/", "suite/")) for n in names)


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.relative_to(PKG).as_posix())
def test_core_never_imports_study_or_suite(path):
    bad = sorted(m for m in imported_modules(path) if m.startswith(("hgsr.study", "hgsr.suite")))
    assert not bad, f"core module {path.relative_to(PKG)} imports {bad}"


@pytest.mark.parametrize("path", STUDY, ids=lambda p: p.relative_to(PKG).as_posix())
def test_study_never_imports_the_notebook_runner(path):
    bad = sorted(m for m in imported_modules(path) if m == layers.RUNNER or m.startswith(layers.RUNNER + "."))
    assert not bad, f"study module {path.relative_to(PKG)} imports the suite's runner {bad}"


def test_the_checks_catch_relative_imports(tmp_path):
    fake_pkg = tmp_path / "hgsr"
    (fake_pkg / "prune").mkdir(parents=True)
    (fake_pkg / "study").mkdir()
    bad = fake_pkg / "prune" / "x.py"
    bad.write_text("from ..study import comparison\nfrom ..suite.report import save_table\n")
    assert {"hgsr.study", "hgsr.study.comparison", "hgsr.suite.report"} <= imported_modules(bad, fake_pkg)
    runner_user = fake_pkg / "study" / "y.py"
    runner_user.write_text("def f():\n    from ..suite import run_notebooks\n")
    assert layers.RUNNER in imported_modules(runner_user, fake_pkg)


def import_graph() -> dict[str, set[str]]:
    """Module -> the hgsr modules it imports (module files only: ``from pkg import sub`` is an edge to
    ``pkg.sub`` when that is a module, else to ``pkg``)."""
    graph = {}
    for name, path in MODULES.items():
        targets = set()
        for m in imported_modules(path):
            if m in MODULES and m != name:
                targets.add(m)
        # ``from pkg import sub``: drop the edge to pkg when sub is the module meant
        graph[name] = {t for t in targets if not any(o.startswith(t + ".") for o in targets)} | \
            {t for t in targets if t.count(".") and t.rsplit(".", 1)[0] in MODULES and t in MODULES}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary circle found by depth-first search (one per back edge)."""
    out, state = [], {}

    def visit(n, stack):
        state[n] = 1
        stack.append(n)
        for t in sorted(graph.get(n, ())):
            if state.get(t) == 1:
                out.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [])
    return out


def test_no_import_circle_between_modules():
    graph = {n: {t for t in ts if not n.startswith(t + ".")} for n, ts in import_graph().items()}
    # a package's __init__ re-exporting its own submodules is not a circle of meaning
    graph = {n: {t for t in ts if not (t.startswith(n + ".") and MODULES[n].name == "__init__.py")}
             for n, ts in graph.items()}
    found = [c for c in cycles(graph) if not any(MODULES[m].name == "__init__.py" for m in c)]
    assert not found, f"import circles: {found}"


def test_the_cycle_check_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_code_fingerprint_reads_the_result_entries_of_the_layer_list():
    files = {p.relative_to(PKG).as_posix() for p in experiments.fingerprint_files()}
    expected = {p.relative_to(PKG).as_posix() for p in ALL if entry(p) in layers.result_entries()}
    assert files == expected
    assert "prune/ranking/loss.py" in files and "train.py" in files
    assert not any(f.startswith(("viz/", "study/", "suite/")) or f == "widgets.py" for f in files)
