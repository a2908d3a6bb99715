"""The repository stands alone as a course: no file points outside it, every relative link of the README,
docs/*.md and the notebooks' Markdown resolves (with its #section for Markdown targets), every notebook
has its previous/next bars, and prose links the notebooks it mentions."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from hgsr.suite import course

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# Only these two may name the folder beside the checkout: CI sets the data root, the loader searches it.
MAY_NAME_OUTSIDE = {".ci/run", "hgsr/data.py"}
OUTSIDE = ("../" + "shared", "shared/" + "docs")   # split so that this file does not match itself


SKIP_DIRS = {".git", ".venv", "build", "runs", "__pycache__", ".pytest_cache", ".ipynb_checkpoints"}


def tracked_files() -> list[str]:
    """``git ls-files``; outside a git checkout (an exported tree), every file but build outputs and caches."""
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return [p for p in out.splitlines() if (ROOT / p).is_file()]
    except (OSError, subprocess.CalledProcessError):
        return [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*")
                if p.is_file() and not SKIP_DIRS & set(p.relative_to(ROOT).parts)
                and not any(part.endswith(".egg-info") for part in p.parts)
                and not (p.relative_to(ROOT).parts[0] == "data" and p.suffix in (".pt", ".gz", ".npz"))]


def outside_references(text: str) -> list[str]:
    return [s for s in OUTSIDE if s in text]


def test_no_file_points_outside_the_repository():
    bad = {}
    for rel in tracked_files():
        if rel in MAY_NAME_OUTSIDE:
            continue
        try:
            text = (ROOT / rel).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue   # binary
        if hits := outside_references(text):
            bad[rel] = hits
    assert not bad, f"files naming a path outside the repository (only {sorted(MAY_NAME_OUTSIDE)} may): {bad}"


def test_the_outside_check_can_fail():
    assert outside_references("see [spec](../" + "shared/" + "docs/methods.md)")
    assert not outside_references("see [methods](docs/methods.md)")


# ----------------------------------------------------------------------------- links
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")


def strip_code(text: str) -> str:
    return CODE.sub("", FENCE.sub("", text))


def links(text: str) -> list[str]:
    return LINK.findall(strip_code(text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    h = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return h.replace(" ", "-")


def anchors(md: str) -> set[str]:
    return {slug(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", strip_code(md), re.M)}


def markdown_of_notebook(path: Path) -> str:
    nb = json.loads(path.read_text())
    return "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def broken_links(text: str, base: Path) -> list[str]:
    """Relative links of ``text`` (a page in folder ``base``) whose file, or #section of a Markdown file,
    does not exist. Absolute URLs are not checked."""
    bad = []
    for target in links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue   # http:, https:, mailto:
        path, _, anchor = target.partition("#")
        f = (base / path).resolve() if path else None
        if f is not None and not f.exists():
            bad.append(target)
            continue
        if anchor and (f is None or f.suffix == ".md"):
            page = text if f is None else f.read_text()
            if anchor.lower() not in anchors(page):
                bad.append(target)
    return bad


def pages() -> list[tuple[str, str, Path]]:
    out = [("README.md", (ROOT / "README.md").read_text(), ROOT)]
    out += [(p.relative_to(ROOT).as_posix(), p.read_text(), p.parent) for p in sorted((ROOT / "docs").glob("*.md"))]
    out += [(p.relative_to(ROOT).as_posix(), markdown_of_notebook(p), p.parent) for p in NOTEBOOKS]
    return out


@pytest.mark.parametrize("name,text,base", pages(), ids=[p[0] for p in pages()])
def test_relative_links_resolve(name, text, base):
    assert links(text), f"{name} has no link at all"
    assert not broken_links(text, base), f"{name}: broken relative links {broken_links(text, base)}"


def test_the_link_check_can_fail(tmp_path):
    (tmp_path / "a.md").write_text("# Title\n\n## 2. Some section\n")
    page = "[ok](a.md) [ok](a.md#2-some-section) [bad](b.md) [bad](a.md#nowhere) [web](https://x.org/y) `[code](c.md)`"
    assert broken_links(page, tmp_path) == ["b.md", "a.md#nowhere"]
    assert slug("5. The L1/L2 pseudo-norm on filters") == "5-the-l1l2-pseudo-norm-on-filters"


# ----------------------------------------------------------------------------- external links and references
DOI = re.compile(r"^https://doi\.org/(10\.\d{4,9}/[^\s]+)$")
ARXIV = re.compile(r"^https://arxiv\.org/abs/(\d{4}\.\d{4,5})$")
HOST = re.compile(r"^https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(/[^\s]*)?$")
LINK_WITH_TEXT = re.compile(r"\[([^\[\]]*)\]\(\s*<?([^)\s>]+)>?\s*\)")


def malformed_links(text: str) -> list[str]:
    """The links of ``text`` that are not well-formed: an external target that is not ``https://host/...``
    (``http:``, no host, another scheme), a doi.org or arxiv.org target that is not a DOI or a new-style arXiv
    abstract page, a link text ``doi:X`` / ``arXiv:Y`` naming another identifier than its target, and a
    relative target with a space or a backslash."""
    bad = []
    for label, target in LINK_WITH_TEXT.findall(strip_code(text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            if not HOST.match(target):
                bad.append(target)
            elif "doi.org" in target.split("/")[2] and not DOI.match(target):
                bad.append(target)
            elif "arxiv.org" in target.split("/")[2] and not ARXIV.match(target):
                bad.append(target)
            else:
                for kind, pattern in (("doi:", DOI), ("arxiv:", ARXIV)):
                    if label.lower().startswith(kind):
                        m = pattern.match(target)
                        if not m or label[len(kind):].strip() != m.group(1):
                            bad.append(target)
        elif " " in target or "\\" in target:
            bad.append(target)
    return bad


def test_the_well_formed_check_can_fail():
    good = ("[arXiv:2004.04394](https://arxiv.org/abs/2004.04394) [doi:10.1109/5.726791](https://doi.org/10.1109/5.726791) "
            "[code](https://github.com/a/b) [local](../docs/methods.md#9-references)")
    assert malformed_links(good) == []
    bad = ("[x](http://example.org) [y](https:/nohost) [arXiv:1234.5678](https://arxiv.org/abs/1234.56789) "
           "[z](https://arxiv.org/pdf/2004.04394) [doi:10.1/a](https://doi.org/11.1/a) [w](ftp://a.b/c) [v](a\\b.md)")
    assert malformed_links(bad) == ["http://example.org", "https:/nohost", "https://arxiv.org/abs/1234.56789",
                                    "https://arxiv.org/pdf/2004.04394", "https://doi.org/11.1/a", "ftp://a.b/c",
                                    "a\\b.md"]


@pytest.mark.parametrize("name,text,base", pages(), ids=[p[0] for p in pages()])
def test_links_are_well_formed(name, text, base):
    assert not malformed_links(text), f"{name}: malformed links {malformed_links(text)}"


def references_section(md: str) -> str:
    """The text under ``## References`` (or ``## 9. References``) up to the next heading of that level."""
    m = re.search(r"^## (?:\d+\. )?References\s*$(.*?)(?=^## |\Z)", md, re.S | re.M)
    return m.group(1) if m else ""


def unlinked_references(md: str) -> list[str]:
    """The entries (``- `` bullets) of the references section that carry no link."""
    entries = re.split(r"^- ", references_section(md), flags=re.M)[1:]
    return [" ".join(e.split())[:80] for e in entries if not links(e)]


def test_the_reference_check_can_fail():
    md = "# T\n\n## References\n\n- A, *Paper*, 2020: [arXiv:2004.04394](https://arxiv.org/abs/2004.04394).\n- B, *Other*.\n\n## Next\n- C\n"
    assert unlinked_references(md) == ["B, *Other*."]


@pytest.mark.parametrize("name,text,base", [p for p in pages() if p[0] != "README.md"], ids=[p[0] for p in pages()
                                                                                            if p[0] != "README.md"])
def test_every_reference_has_a_link(name, text, base):
    assert references_section(text).strip(), f"{name} has no references section"
    assert not unlinked_references(text), f"{name}: references without a link (DOI, arXiv or a URL): {unlinked_references(text)}"


def test_methods_references_link_a_doi_or_arxiv_page():
    """Every paper of docs/methods.md §9 carries a persistent identifier, except a dataset page."""
    section = references_section((ROOT / "docs" / "methods.md").read_text())
    for entry in re.split(r"^- ", section, flags=re.M)[1:]:
        targets = [t for _, t in LINK_WITH_TEXT.findall(entry)]
        assert any(DOI.match(t) or ARXIV.match(t) for t in targets) or "dataset page" in entry, entry[:80]


def test_methods_doc_has_every_section_the_code_cites():
    text = (ROOT / "docs" / "methods.md").read_text()
    heads = anchors(text)
    for n in range(10):
        assert any(h.startswith(f"{n}-") for h in heads), f"docs/methods.md lacks section {n}"


# ----------------------------------------------------------------------------- navigation
def test_course_lists_every_notebook():
    assert [x.stem for x in course.LESSONS] == [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_previous_next_bars_top_and_bottom(path):
    cells = json.loads(path.read_text())["cells"]
    bar = course.nav_bar(path.stem)
    first, last = "".join(cells[0]["source"]), "".join(cells[-1]["source"])
    assert cells[0]["cell_type"] == "markdown" and first.startswith(bar), f"{path.name}: top bar missing or stale"
    assert cells[-1]["cell_type"] == "markdown" and last.strip() == bar, f"{path.name}: bottom bar missing or stale"


MENTION = re.compile(r"\bnotebooks?\s+\d\d\b", re.I)


def unlinked_mentions(md: str) -> list[str]:
    """'notebook 03'-style mentions of a notebook in prose that are not links."""
    text = LINK.sub("", strip_code(md))
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return MENTION.findall(text)


def test_the_mention_check_can_fail():
    assert unlinked_mentions("as notebook 03 shows; notebooks 02–05") == ["notebook 03", "notebooks 02"]
    assert not unlinked_mentions("as [notebook 03](03_x.ipynb) shows; notebooks [02](02_x.ipynb)–[05](05_x.ipynb)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_prose_links_the_notebooks_it_mentions(path):
    found = unlinked_mentions(markdown_of_notebook(path))
    assert not found, f"{path.name}: mentions of notebooks that are not links: {found}"


def test_methods_section_7_quotes_every_published_number():
    import pandas as pd

    text = (ROOT / "docs" / "methods.md").read_text()
    sec7 = text[text.index("## 7."):text.index("## 8.")]
    quoted = set(re.findall(r"\d+(?:\.\d+)?", sec7))
    for _, r in pd.read_csv(ROOT / "data" / "published.csv").iterrows():
        missing = [n for n in re.findall(r"\d+(?:\.\d+)?", r["result"]) if n not in quoted]
        assert not missing, f"docs/methods.md §7 does not quote {missing} of {r['key']}: {r['result']!r}"


def test_readme_start_here_is_filled_from_the_course(tmp_path):
    from hgsr.suite import readme

    out = readme.fill("intro\n<!-- course -->\nSTALE\n<!-- /course -->\nend\n", tmp_path)
    assert "STALE" not in out and out.endswith("end\n")
    for x in course.LESSONS:
        assert f"](notebooks/{x.file})" in out
    readme_text = (ROOT / "README.md").read_text()
    assert "## Start here" in readme_text and "<!-- course -->\n| # |" in readme_text


# ----------------------------------------------------------------------------- exercises
DETAILS = re.compile(r"<details><summary>([^<]*)</summary>(.*?)</details>", re.S)


def exercise_structure(md: str) -> dict:
    """Exercises (``**Exercise N.**``) with the summaries of the collapsed blocks that follow each, and the
    check-your-understanding questions with theirs."""
    out = {"exercises": {}, "questions": []}
    if "## Exercises" in md:
        ex = md[md.index("## Exercises"):]
        ex = ex[:ex.index("## Check your understanding")] if "## Check your understanding" in ex else ex
        parts = re.split(r"\*\*Exercise (\d+)\.\*\*", ex)[1:]
        for n, body in zip(parts[::2], parts[1::2]):
            out["exercises"][int(n)] = [s.strip() for s, _ in DETAILS.findall(body)]
    if "## Check your understanding" in md:
        cu = md[md.index("## Check your understanding"):]
        cu = cu[:cu.index("## References")] if "## References" in cu else cu
        out["questions"] = [s.strip() for s, _ in DETAILS.findall(cu)]
    return out


def test_the_exercise_check_can_fail():
    md = ("## Exercises\n\n**Exercise 1.** a\n\n<details><summary>Hint</summary>h</details>\n"
          "<details><summary>Solution</summary>s</details>\n\n**Exercise 2.** b\n\n"
          "## Check your understanding\n\n1. q\n\n<details><summary>Answer</summary>a</details>\n")
    s = exercise_structure(md)
    assert s["exercises"] == {1: ["Hint", "Solution"], 2: []} and s["questions"] == ["Answer"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_exercise_has_a_hint_and_a_solution(path):
    s = exercise_structure(markdown_of_notebook(path))
    assert s["exercises"], f"{path.name} has no '**Exercise N.**' under '## Exercises'"
    assert sorted(s["exercises"]) == list(range(1, len(s["exercises"]) + 1)), f"{path.name}: exercises not numbered 1..n"
    for n, v in s["exercises"].items():
        assert len(v) == 2 and v[0] == "Hint" and v[1].startswith("Solution"), f"{path.name} exercise {n}: {v}"
    assert 2 <= len(s["questions"]) <= 3, f"{path.name}: {len(s['questions'])} check-your-understanding questions"
    assert all(q.startswith("Answer") for q in s["questions"]), s["questions"]


def test_the_sweep_sizes_stated_in_the_course_and_readme_are_the_grids():
    from hgsr.study import grids
    from hgsr.suite import course
    n, full = len(grids.lenet_families()), len(grids.lenet_families_full())
    lesson, = [x for x in course.LESSONS if x.stem == "07_comparison"]
    assert f"the λ sweep: {n} LeNet-5 runs" in lesson.trains
    readme_text = (ROOT / "README.md").read_text()
    assert f"seed 0: {n} runs" in readme_text and f"three seeds: {full} runs" in readme_text


# ----------------------------------------------------------------------------- notebooks only call
MAX_CODE_LINES = 8


def code_cells(path: Path) -> list[tuple[int, list[str], str]]:
    """``(index, tags, source)`` of every code cell of a notebook."""
    nb = json.loads(path.read_text())
    return [(k, c.get("metadata", {}).get("tags", []), "".join(c["source"]))
            for k, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]


def calling_rules(cells) -> list[str]:
    """What breaks "notebooks only call": a code cell over MAX_CODE_LINES lines (the parameters cell
    excepted), an inline ``.style.format(`` dict (use ``report.show``), a tolerance typed as a literal
    (``TOL = 1e-2``: use ``measure.TOL``), a module imported under another name."""
    out = []
    for k, tags, src in cells:
        n = len(src.strip().splitlines())
        if n > MAX_CODE_LINES and "parameters" not in tags:
            out.append(f"cell {k}: {n} lines of code")
        if ".style.format(" in src:
            out.append(f"cell {k}: .style.format( (use report.show)")
        if re.search(r"^\s*TOL\s*=\s*[0-9.]", src, re.M):
            out.append(f"cell {k}: TOL typed as a literal (use measure.TOL)")
        if re.search(r"^from hgsr[\w.]* import .*\b\w+ as \w+", src, re.M):
            out.append(f"cell {k}: a module imported under another name")
    return out


def test_the_calling_rules_can_fail():
    cells = [(0, [], "\n".join(["x = 1"] * 9)), (1, ["parameters"], "\n".join(["x = 1"] * 9)),
             (2, [], "t.style.format({'a': '{:.1%}'})"), (3, [], "TOL = 1e-2"),
             (4, [], "from hgsr.study import families as study")]
    assert calling_rules(cells) == ["cell 0: 9 lines of code", "cell 2: .style.format( (use report.show)",
                                    "cell 3: TOL typed as a literal (use measure.TOL)",
                                    "cell 4: a module imported under another name"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_only_call(path):
    assert not calling_rules(code_cells(path)), f"{path.name}: {calling_rules(code_cells(path))}"


def test_every_study_module_is_in_the_study_package_table():
    """The table in ``hgsr/study/__init__.py`` maps each study module to its notebook: none is left out."""
    from pathlib import Path

    import hgsr.study as study
    folder = Path(study.__file__).parent
    missing = [p.stem for p in folder.glob("*.py") if p.stem != "__init__" and f":mod:`.{p.stem}`" not in study.__doc__]
    assert not missing, f"add {missing} to the table in hgsr/study/__init__.py"
