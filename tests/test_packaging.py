"""The conda environment and the package name the same dependencies; notebooks are committed clean."""
import json
import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    deps = {_name(d) for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    pip_part, in_pip = [], False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.strip() == "- pip:":
            in_pip = True
            continue
        if in_pip and line.strip().startswith("- "):
            pip_part.append(line.strip()[2:])
    env = {_name(d) for d in pip_part if not d.startswith("-e")}
    assert env == deps
    assert any(d.startswith("-e .") for d in pip_part), "the conda env must install this package"


def test_committed_notebooks_have_no_outputs():
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    paths = [ROOT / p for p in tracked] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert paths, "no notebooks found"
    for p in paths:
        nb = json.loads(p.read_text())
        dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
                 and (c.get("outputs") or c.get("execution_count") is not None)]
        assert not dirty, f"{p.name}: cells {dirty} have outputs or execution counts; strip them"
        assert nb["metadata"]["kernelspec"]["name"] == "python3", p.name
