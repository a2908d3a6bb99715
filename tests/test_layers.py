"""The three layers: the core (hgsr/ top level, regularizers/, prune/, viz/) never imports the study
(hgsr/study/) or the suite tooling (hgsr/suite/); the study never imports the suite's runner."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "hgsr"
CORE = sorted(p for p in PKG.rglob("*.py") if p.relative_to(PKG).parts[0] not in ("study", "suite"))


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved against its package)."""
    package = ["hgsr", *path.relative_to(PKG).parent.parts]
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


def test_core_modules_are_found():
    names = {p.relative_to(PKG).as_posix() for p in CORE}
    assert {"data.py", "train.py", "prune/surgery.py", "regularizers/registry.py", "viz/results.py"} <= names


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.relative_to(PKG).as_posix())
def test_core_never_imports_study_or_suite(path):
    bad = sorted(m for m in imported_modules(path)
                 if m.startswith(("hgsr.study", "hgsr.suite")))
    assert not bad, f"core module {path.relative_to(PKG)} imports {bad}"


def test_the_check_catches_a_relative_import(tmp_path, monkeypatch):
    fake_pkg = tmp_path / "hgsr"
    (fake_pkg / "prune").mkdir(parents=True)
    bad = fake_pkg / "prune" / "x.py"
    bad.write_text("from ..study import comparison\nfrom ..suite.report import save_table\n")
    monkeypatch.setattr(__import__(__name__), "PKG", fake_pkg)
    assert {"hgsr.study", "hgsr.study.comparison", "hgsr.suite.report"} <= imported_modules(bad)


def test_top_level_holds_only_core_modules():
    top = {p.stem for p in PKG.glob("*.py")} - {"__init__"}
    study_names = {p.stem for p in (PKG / "study").glob("*.py")}
    suite_names = {p.stem for p in (PKG / "suite").glob("*.py")}
    assert not top & (study_names | suite_names)
