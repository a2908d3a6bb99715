"""The course site builder (hgsr.suite.site) without a browser: local MathJax and no network script, pages
readable by a web server, the index in course order, links rewritten into the site, a clear error without
executed notebooks; and headless runs drawing no progress bars (tests/browser/site_check.py checks a built
site in Chromium with the network cut)."""
from __future__ import annotations

import importlib.util
import os
import re
import stat
import sys
from pathlib import Path

import nbformat
import pytest

from hgsr import progress
from hgsr.errors import InvalidArgument
from hgsr.suite import course, run_notebooks, site

ROOT = Path(__file__).resolve().parents[1]
LESSON = course.LESSONS[1]                 # 01: the one lesson of the small site below
UNBUILT = course.LESSONS[2]                # 02: linked from 01 but not executed here


def executed_copy(folder: Path) -> Path:
    """A stand-in for papermill's executed 01: math, links to a lesson not built and to the README, an output."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"parameters": {"PROFILE": "smoke"}}
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {LESSON.number} · {LESSON.title}\n\nThe prox of $t\\lambda|w|$ is\n\n"
                                      "$$\\operatorname{sign}(w)\\max(|w|-t\\lambda, 0).$$\n\n"
                                      f"[next]({UNBUILT.file}) · [Start here](../README.md#start-here) · "
                                      "[notation](../docs/methods.md#0-notation)"),
        nbformat.v4.new_code_cell("1 + 1", outputs=[nbformat.v4.new_output(
            "execute_result", {"text/plain": "2"}, execution_count=1)], execution_count=1),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / LESSON.file)
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("site")
    return site.build(executed_copy(base / "executed"), base / "site", log=lambda s: None)


def pages(root: Path) -> list[Path]:
    return sorted(root.glob("*.html"))


def test_math_is_rendered_by_the_local_mathjax_and_no_script_or_style_comes_from_the_network(built):
    assert (built / site.MATHJAX_DIR / "MathJax.js").is_file()
    for page in pages(built):
        text = page.read_text()
        scripts = re.findall(r"<script[^>]*\ssrc=\"([^\"]*)\"", text)
        assert scripts == [f"{site.MATHJAX_DIR}/MathJax.js?config={site.MATHJAX_CONFIG}"], (page.name, scripts)
        assert (built / scripts[0].split("?")[0]).is_file()
        remote = re.findall(r"<(?:script|link|img|iframe)[^>]*\s(?:src|href)=\"(?:https?:)?//[^\"]*", text)
        assert not remote, (page.name, remote)
        assert "cdn" not in " ".join(scripts).lower()


def test_pages_are_readable_by_a_web_server(built):
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in [built, *built.rglob("*")]}
    wrong = {str(p.relative_to(built)): oct(m) for p, m in modes.items()
             if m != (site.DIR_MODE if p.is_dir() else site.FILE_MODE)}
    assert not wrong, wrong


def test_the_index_lists_the_lessons_in_course_order_and_says_how_to_make_a_missing_one(built):
    index = (built / "index.html").read_text()
    positions = [index.find(f'id="{x.stem}"') for x in course.LESSONS]
    assert -1 not in positions and positions == sorted(positions)
    assert f'href="{LESSON.stem}.html"' in index and LESSON.title in index
    assert f'href="{UNBUILT.stem}.html"' not in index
    assert f"make figures ONLY={UNBUILT.number}" in index
    assert "smoke" in index and "placeholders" in index      # a non-default build says so


def test_links_point_into_the_site_with_their_sections(built):
    page = (built / f"{LESSON.stem}.html").read_text()
    assert f'href="index.html#{UNBUILT.stem}"' in page          # a lesson with no page: its index row
    assert 'href="readme.html#start-here"' in page
    assert 'href="docs-methods.html#0-notation"' in page
    assert 'id="start-here"' in (built / "readme.html").read_text()
    assert 'id="0-notation"' in (built / "docs-methods.html").read_text()
    assert "<nav class=\"hgsr-site-nav\">" in page and 'href="index.html">Course index' in page
    # a repository file that is not a page is copied into files/
    readme = (built / "readme.html").read_text()
    copied = re.findall(r'(?:href|src)="(files/[^"#]*)', readme)
    assert copied and all((built / f).is_file() for f in copied)


def test_a_missing_build_folder_says_which_path_and_which_command(tmp_path, capsys):
    missing = tmp_path / "no-such-folder"
    with pytest.raises(site.NotebooksNotBuilt, match=r"no-such-folder does not exist.*make figures"):
        site.build(missing, tmp_path / "site")
    (tmp_path / "empty").mkdir()
    with pytest.raises(site.NotebooksNotBuilt, match=r"holds no executed notebook"):
        site.build(tmp_path / "empty", tmp_path / "site")
    assert site.main(["--source", str(missing), "--dest", str(tmp_path / "site")]) == 1
    assert "make figures" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()


def test_a_folder_that_is_not_a_site_is_not_replaced(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(InvalidArgument, match=r"dest .*mine exists and is not a course site"):
        site.build(executed_copy(tmp_path / "executed"), tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_a_rebuild_replaces_the_site(built):
    (built / "stale.html").write_text("old")
    again = site.build(built.parent / "executed", built, log=lambda s: None)
    assert again == built and not (built / "stale.html").exists() and (built / "index.html").is_file()
    assert [p.name for p in built.parent.iterdir() if p.name.startswith(".")] == []   # no temporary folder left


@pytest.mark.parametrize("heading, slug", [("4.1 Proximal operators", "41-proximal-operators"),
                                           ("0. Notation", "0-notation"), ("Start here", "start-here"),
                                           ("The L1/L2 pseudo-norm on filters", "the-l1l2-pseudo-norm-on-filters")])
def test_github_anchors(heading, slug):
    assert site.github_slug(heading) == slug


def test_the_browser_check_detects_raw_tex():
    spec = importlib.util.spec_from_file_location("site_check", ROOT / "tests" / "browser" / "site_check.py")
    check = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = check          # its dataclasses look their module up there
    spec.loader.exec_module(check)
    assert check.raw_tex("the prox of $t|w|$ is") and check.raw_tex("$$x^2$$") and check.raw_tex(r"\(a\)")
    assert not check.raw_tex("costs 5 $ or 6 $ each") and not check.raw_tex("no math here")


# ------------------------------------------------------------------ progress bars in headless runs

def test_the_environment_switch_turns_progress_bars_off(monkeypatch):
    monkeypatch.delenv(progress.DISABLE_ENV, raising=False)
    assert not progress.progress_bar(total=3, enabled=True).disable
    assert progress.progress_bar(total=3, enabled=False).disable
    for value, off in (("1", True), ("true", True), ("0", False), ("", False), ("no", False)):
        monkeypatch.setenv(progress.DISABLE_ENV, value)
        assert progress.progress_bar(total=3, enabled=True).disable is off, value


def test_headless_runs_save_no_progress_bar(tmp_path, monkeypatch):
    monkeypatch.delenv(progress.DISABLE_ENV, raising=False)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('PROFILE = "default"\nINTERACTIVE = True\nFIGURES_DIR = "."')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "from hgsr.progress import progress_bar\nfor _ in progress_bar(range(3), enabled=True):\n    pass")]
    path = tmp_path / "98_bars.ipynb"
    nbformat.write(nb, path)
    run_notebooks.execute(path, tmp_path / "out", "smoke", tmp_path / "figs", timeout=120)
    outputs = [o for c in nbformat.read(tmp_path / "out" / path.name, as_version=4).cells
               for o in c.get("outputs", [])]
    assert not [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
                or "it/s" in str(o.get("text", ""))], outputs
    assert progress.DISABLE_ENV not in os.environ           # set for the kernel only
