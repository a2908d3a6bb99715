"""Execute every notebook headless in the ``smoke`` profile (papermill) and check that each figure and
table it promises (notebooks/outputs.json) appears and is non-empty. The run is the session's one smoke run
of the notebook (tests/conftest.py ``smoke_run``), with its exercises' code appended: tests/test_exercises.py
reads the same run."""
import hashlib
import json
from pathlib import Path

import pytest

from hgsr.suite import run_notebooks

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = json.loads((ROOT / "notebooks" / "outputs.json").read_text())
NOTEBOOKS = run_notebooks.notebook_paths()


def test_manifest_covers_every_notebook():
    assert sorted(EXPECTED) == [p.stem for p in NOTEBOOKS]
    for stem, files in EXPECTED.items():
        assert files, f"{stem} promises no figure or table"
        assert all(Path(f).name.startswith(stem[:2] + "_") for f in files), stem


@pytest.mark.notebooks
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_smoke_profile(nb, smoke_run):
    _, figures = smoke_run(nb)   # one run cache shared by the notebooks, as in `make figures`
    for rel in EXPECTED[nb.stem]:
        f = figures / rel
        assert f.exists(), f"{nb.name} did not write {rel}"
        assert f.stat().st_size > 0, f"{nb.name} wrote an empty {rel}"


def test_failing_notebook_names_notebook_and_cell(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('PROFILE = "default"\nINTERACTIVE = True\nFIGURES_DIR = "."')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("raise ValueError('boom')")]
    path = tmp_path / "99_broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(run_notebooks.NotebookFailed, match=r"99_broken.ipynb: cell 3 raised ValueError: boom"):
        run_notebooks.execute(path, tmp_path / "out", "smoke", tmp_path / "figs", timeout=120)


def test_manifest_records_provenance_and_hashes(tmp_path):
    from hgsr.suite import manifest

    (tmp_path / "tables").mkdir()
    (tmp_path / "00_a.png").write_bytes(b"png")
    expected = {"00_x": ["00_a.png", "tables/00_b.csv"], "01_y": ["01_c.png"]}
    manifest.update(tmp_path, "smoke", [{"notebook": "00_x", "seconds": 1.5}], expected)
    (tmp_path / "01_c.png").write_bytes(b"c")
    m = json.loads(manifest.update(tmp_path, "smoke", [{"notebook": "01_y", "seconds": 2.0}], expected).read_text())
    assert m["profile"] == "smoke" and m["total_seconds"] == 3.5 and m["packages"]["torch"]
    assert m["notebooks"]["00_x"]["files"] == {"00_a.png": hashlib.sha256(b"png").hexdigest(),
                                               "tables/00_b.csv": None, "figure_texts.json": None}
    assert set(m["notebooks"]) == {"00_x", "01_y"}
    import torch
    assert m["notebooks"]["00_x"]["machine"].split(", ")[1] == torch.backends.cpu.get_cpu_capability()
    from hgsr.suite import readme
    assert f"| `00_x` | 0.0 | `{m['commit'][:7]}` | {m['notebooks']['00_x']['machine']} |" in readme.manifest_markdown(m)
    older = {**m, "notebooks": {"00_x": {k: v for k, v in m["notebooks"]["00_x"].items() if k != "machine"}}}
    assert "| not recorded |" in readme.manifest_markdown(older)
    m = json.loads(manifest.update(tmp_path, "default", [{"notebook": "01_y", "seconds": 9.0}], expected).read_text())
    assert set(m["notebooks"]) == {"01_y"}   # another profile starts a new manifest


def test_readme_blocks_are_filled_from_generated_files(tmp_path):
    from hgsr.suite import manifest, readme

    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "07_x.md").write_text("| a |\n|---|\n| 1 |\n")
    manifest.update(tmp_path, "default", [{"notebook": "00_x", "seconds": 90.0}], {"00_x": []})
    text = ("intro\n<!-- table: 07_x -->\nOLD-TABLE-TEXT\n<!-- /table -->\nmid\n<!-- table: 07_missing -->\n<!-- /table -->\n"
            "<!-- manifest -->\nSTALE-MANIFEST-TEXT\n<!-- /manifest -->\nend\n")
    out = readme.fill(text, tmp_path)
    assert "| 1 |" in out and "OLD-TABLE-TEXT" not in out and "STALE-MANIFEST-TEXT" not in out
    assert "not generated yet" in out and "| `00_x` | 1.5 | `" in out and out.endswith("end\n")
    assert readme.fill(out, tmp_path) == out   # idempotent
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert f"{m['cpu_model']}, {m['cpu_capability']} kernels, {m['cpu_count']} cores" in out
    older = {k: v for k, v in m.items() if k not in ("cpu_model", "cpu_capability")}   # a manifest before the record
    assert f"{m['cpu']} ({m['cpu_count']} cores" in readme.manifest_markdown(older)


def test_uncommitted_changes_ignore_the_runs_own_outputs(tmp_path, monkeypatch):
    import subprocess

    from hgsr.suite import manifest

    def git(*a):
        subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "README.md").write_text("a\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    monkeypatch.setattr(manifest, "REPO", tmp_path)
    assert manifest.uncommitted_changes() == []
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "01_a.png").write_bytes(b"png")
    (tmp_path / "README.md").write_text("a, regenerated\n")
    assert manifest.uncommitted_changes() == []   # make figures writes these itself
    (tmp_path / "code.py").write_text("x = 2\n")
    assert manifest.uncommitted_changes() == ["code.py"]


# ----------------------------------------------------------------------------- classroom mode in the smoke run
def _lecture_names(nb_path: Path) -> list[str]:
    """The names of the results a notebook states through its lecture (``lecture.say(..., "NAME")``,
    ``lecture.table(..., "NAME")``) in its code cells."""
    import re
    nb = json.loads(nb_path.read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    return re.findall(r'lecture\.(?:say|table)\((?:.|\n)*?"(\d\d_\w+)"(?:,\s*\n?\s*save=False)?\)', code)


def _shown_text(executed: Path) -> str:
    nb = json.loads(executed.read_text())
    parts = []
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            data = o.get("data", {})
            parts.append("".join(data.get("text/markdown", "")) + "".join(data.get("text/html", "")))
    return "\n".join(parts)


def test_lecture_names_are_found():
    names = _lecture_names(ROOT / "notebooks" / "00_introduction.ipynb")
    assert "00_speed_verdict" in names and "00_structured_vs_unstructured" in names


@pytest.mark.notebooks
@pytest.mark.parametrize("nb", [p for p in NOTEBOOKS if "lecture." in p.read_text()],
                         ids=[p.stem for p in NOTEBOOKS if "lecture." in p.read_text()])
def test_smoke_results_are_placeholders_beside_the_committed_ones(nb, smoke_run):
    """Classroom mode: in the smoke profile every result the notebook states through its lecture is shown
    under a placeholder banner, followed by the committed default result of the same name."""
    executed, _ = smoke_run(nb)
    shown = _shown_text(executed)
    names = _lecture_names(nb)
    assert names, f"{nb.name}: no lecture.say/lecture.table call found"
    assert shown.count("**Placeholder**") >= len(names), f"{nb.name}: fewer placeholder banners than results"
    for name in names:
        committed = ROOT / "figures" / "tables" / f"{name}.md"
        assert committed.is_file(), f"{name}: no committed default result at {committed} (regenerate the notebook)"
        assert f"figures/tables/{name}.md" in shown, f"{nb.name}: the committed {name} is not shown beside the smoke one"
