"""The course site: the executed notebooks as static HTML pages that work without network (``make site``).

    python -m hgsr.suite.site [--source build/notebooks] [--dest build/site]

``--source`` holds executed notebooks ``<stem>.ipynb`` (``make figures`` writes the default profile's
there); ``--dest`` is replaced by the site, built beside it first, so a failed build leaves the old
one. Open ``<dest>/index.html`` from disk or serve the folder with any static web server.

Tool: nbconvert's ``HTMLExporter`` (already a dependency; its ``lab`` template renders outputs, tables
and Markdown as JupyterLab does) with MathJax 2.7 from the ``jupyter-server-mathjax`` package (the
Jupyter project's packaging of MathJax, pure Python, no node) copied into ``_static/mathjax/``. The
template ``lab`` is written for MathJax 2, so math looks as in JupyterLab, and nothing else in it
needs network once three of its blocks are emptied: require.js and the widget manager (CDN scripts;
headless runs hold no live widgets) and mermaid (no notebook draws diagrams). Jupyter Book 2/mystmd
and Quarto would need node or a binary on every machine that builds; a site search is not something
nbconvert offers (the browser's find works on each page).

Pages, every one at the top of ``dest`` (so that one relative path reaches ``_static/``):

- ``index.html``: the lessons in course order (:data:`hgsr.suite.course.LESSONS`) with their title and
  what each teaches, the profile they were executed with, and for a lesson with no executed copy the
  command that makes one (its row is the anchor ``#<stem>``);
- ``<stem>.html`` per executed notebook, a bar at its top and bottom: index, previous and next lesson;
- every Markdown file of the repository reachable by links from those pages (``README.md`` as
  ``readme.html``, ``docs/methods.md`` as ``docs-methods.html``, ...), rendered the same way so that
  their math is typeset too, and a listing page per linked folder (``folder-figures.html``).

Links, resolved against the file a page comes from (``notebooks/`` for a notebook): a notebook
becomes its page (the index row when it has no executed copy), a Markdown file or a folder its page,
any other file of the repository is copied to ``files/<its path>``; external links are kept. GitHub
heading anchors (``#start-here``, ``#41-proximal-operators``) are added beside nbconvert's own, so the
links the README and docs use keep their section. Figures inside notebook outputs are embedded.
Files are written mode 644 and folders 755 (readable by a web server).
"""
from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit

from ..data import REPO
from ..errors import HgsrError, InvalidArgument
from .course import LESSONS, Lesson

DEFAULT_SOURCE = REPO / "build" / "notebooks"
DEFAULT_DEST = REPO / "build" / "site"
MATHJAX_DIR = "_static/mathjax"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"   # the combined configuration the package ships
MARKER = ".hgsr-site"                                 # marks a folder this module built (safe to replace)
FILES_DIR = "files"
MAX_COPIED_BYTES = 20 * 2**20                         # a linked file larger than this is not copied
FILE_MODE, DIR_MODE = 0o644, 0o755

# MathJax configuration, one place: $...$ and \(...\) inline, $$...$$ and \[...\] displayed (as JupyterLab);
# the package ships only the STIX-Web fonts, so HTML-CSS is told to use them (no image fonts); no automatic line
# breaks (as JupyterLab: they split formulas inside table cells).
MATHJAX_HEAD = f"""<script type="text/x-mathjax-config">
MathJax.Hub.Config({{
  tex2jax: {{inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
            processEscapes: true, processEnvironments: true}},
  TeX: {{equationNumbers: {{autoNumber: "AMS", useLabelIds: true}}}},
  "HTML-CSS": {{availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null}},
  displayAlign: "center", messageStyle: "none", menuSettings: {{zoom: "None"}}
}});
</script>
<script src="{{{{ resources.hgsr_mathjax_url }}}}"></script>"""

SITE_CSS = """<style>
.hgsr-site-nav {max-width: 1100px; margin: 0.5em auto; padding: 0.5em 1em; font: 14px/1.6 system-ui, sans-serif;
  border: 1px solid #ccc; border-radius: 4px; background: #f7f7f7;}
.hgsr-site-nav a {margin-right: 1.2em;}
/* MathJax's hidden MathML copy for screen readers would ask for TeX fonts the package does not ship */
.MJX_Assistive_MathML, .MJX_Assistive_MathML * {font-family: serif !important;}
</style>"""

# the lab template with its network-bound blocks emptied and the site's bar at the top and bottom
TEMPLATE = ("{%- extends 'index.html.j2' -%}\n"
            "{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}\n"
            "{% block jupyter_widgets %}{% endblock jupyter_widgets %}\n"
            "{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}\n"
            "{%- block html_head_js_mathjax -%}\n" + MATHJAX_HEAD + "\n" + SITE_CSS +
            "\n{%- endblock html_head_js_mathjax -%}\n"
            "{%- block body_header -%}{{ super() }}\n{{ resources.hgsr_nav }}\n{%- endblock body_header -%}\n"
            "{% block body_footer %}{{ resources.hgsr_nav }}\n{{ super() }}{% endblock body_footer %}\n")


class NotebooksNotBuilt(FileNotFoundError, HgsrError):
    """The source folder holds no executed notebook; the message names the folder and the command."""


def mathjax_source() -> Path:
    """The MathJax 2 files of ``jupyter-server-mathjax`` (the ``site`` extra)."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        raise ImportError("the course site needs MathJax from the package jupyter-server-mathjax: "
                          "pip install -e '.[site]' (make site installs it)") from None
    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (static / "MathJax.js").is_file():
        raise ImportError(f"jupyter-server-mathjax has no static/MathJax.js under {static}; reinstall it")
    return static


def executed_notebooks(source: Path) -> dict[str, Path]:
    """``{stem: path}`` of the lessons with an executed copy ``source/<stem>.ipynb``, in course order.
    Raises :class:`NotebooksNotBuilt` when ``source`` is not a folder or holds none of them."""
    source = Path(source)
    found = {x.stem: source / x.file for x in LESSONS if (source / x.file).is_file()}
    if not found:
        what = "does not exist" if not source.exists() else "holds no executed notebook (<stem>.ipynb of a lesson)"
        raise NotebooksNotBuilt(
            f"source {source} {what}; the site is built from executed notebooks: run `make figures` (the "
            f"default profile, into build/notebooks) or `python -m hgsr.suite.run_notebooks --out {source}` "
            f"first, then `make site`")
    return found


def executed_profile(path: Path) -> str | None:
    """The ``PROFILE`` papermill injected into an executed notebook (None when it was not run by papermill)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return nb.metadata.get("papermill", {}).get("parameters", {}).get("PROFILE")


# ------------------------------------------------------------------ names and anchors

def page_name(rel: PurePosixPath, folder: bool = False) -> str:
    """The site page of a repository Markdown file or folder: ``README.md`` -> ``readme.html``,
    ``docs/methods.md`` -> ``docs-methods.html``, folder ``figures/tables`` -> ``folder-figures-tables.html``."""
    stem = "-".join(rel.parts) if folder else "-".join(rel.with_suffix("").parts)
    slug = re.sub(r"[^a-z0-9_.-]+", "-", stem.lower()).strip("-") or "root"
    return f"folder-{slug}.html" if folder else f"{slug}.html"


def github_slug(text: str) -> str:
    """GitHub's heading anchor: lower case, every character but letters, digits, ``_``, ``-`` and
    spaces dropped, spaces turned into ``-`` (``"4.1 Proximal operators"`` -> ``41-proximal-operators``)."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


HEADING = re.compile(r"<h([1-6])\b([^>]*)>(.*?)</h\1>", re.S)
ANCHOR_LINK = re.compile(r'<a class="anchor-link"[^>]*>.*?</a>', re.S)
TAG = re.compile(r"<[^>]+>")
ID_ATTR = re.compile(r'\bid="([^"]*)"')


def add_github_anchors(page: str) -> str:
    """Insert ``<a id="<github slug>"></a>`` into each heading whose nbconvert id differs from its GitHub
    anchor (repeated headings get ``-1``, ``-2``, ... as on GitHub)."""
    taken = set(ID_ATTR.findall(page))
    seen: dict[str, int] = {}

    def one(m: re.Match) -> str:
        text = html.unescape(TAG.sub("", ANCHOR_LINK.sub("", m.group(3))))
        base = github_slug(text)
        n = seen.get(base, 0)
        seen[base] = n + 1
        slug = base if n == 0 else f"{base}-{n}"
        if not slug or slug in taken:
            return m.group(0)
        taken.add(slug)
        return f'<h{m.group(1)}{m.group(2)}><a id="{html.escape(slug)}"></a>{m.group(3)}</h{m.group(1)}>'

    return HEADING.sub(one, page)


# ------------------------------------------------------------------ building

LINK = re.compile(r"""(\s(?:href|src)=)(["'])(.*?)\2""", re.S)


@dataclass
class _Build:
    dest: Path                                   # the folder being written (a temporary one)
    built: dict[str, Path]                       # executed notebooks by stem
    queue: list[tuple[PurePosixPath, bool]] = field(default_factory=list)   # (repo path, is folder) to render
    done: set[str] = field(default_factory=set)  # page names written or queued
    broken: list[str] = field(default_factory=list)

    def _queue(self, rel: PurePosixPath, folder: bool) -> str:
        name = page_name(rel, folder)
        if name not in self.done:
            self.done.add(name)
            self.queue.append((rel, folder))
        return name

    def site_url(self, url: str, base: PurePosixPath, page: str) -> str:
        """Where the link ``url`` of a page made from a file in repository folder ``base`` points in the
        site; unchanged when it is external, a same-page anchor or does not resolve (then recorded)."""
        if not url or url.startswith(("#", "data:", "mailto:", "javascript:")):
            return url
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or url.startswith("/"):
            return url
        if parts.path in self.done or parts.path.startswith("_static/"):   # already a site address (the bar)
            return url
        frag = f"#{parts.fragment}" if parts.fragment else ""
        target = (REPO / base / unquote(parts.path)).resolve()
        try:
            rel = PurePosixPath(target.relative_to(REPO).as_posix())
        except ValueError:
            self.broken.append(f"{page}: {url} (outside the repository)")
            return url
        if not target.exists():
            self.broken.append(f"{page}: {url} (no {rel})")
            return url
        if target.is_dir():
            return self._queue(rel, folder=True)
        if target.suffix == ".ipynb" and rel.parent == PurePosixPath("notebooks") \
                and any(x.stem == target.stem for x in LESSONS):
            return f"{target.stem}.html{frag}" if target.stem in self.built else f"index.html#{target.stem}"
        if target.suffix == ".md":
            return self._queue(rel, folder=False) + frag
        if target.stat().st_size > MAX_COPIED_BYTES:
            self.broken.append(f"{page}: {url} ({rel} is larger than {MAX_COPIED_BYTES >> 20} MiB; not copied)")
            return url
        copy = self.dest / FILES_DIR / rel
        if not copy.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(target, copy)
        return quote(f"{FILES_DIR}/{rel.as_posix()}") + frag

    def finish(self, page: str, body: str, base: PurePosixPath) -> None:
        """Rewrite the links of ``body``, add GitHub anchors, write ``dest/page``."""
        body = LINK.sub(lambda m: m.group(1) + m.group(2) + html.escape(
            self.site_url(html.unescape(m.group(3)), base, page), quote=True) + m.group(2), body)
        (self.dest / page).write_text(add_github_anchors(body), encoding="utf-8")


def _exporter():
    import jinja2
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", extra_loaders=[jinja2.DictLoader({"hgsr_site.html.j2": TEMPLATE})],
                        template_file="hgsr_site.html.j2")


def _nav(lesson: Lesson | None, built: dict[str, Path]) -> str:
    """The bar at the top and bottom of a page: index, README, methods; for a lesson, the previous and
    next lessons that have pages."""
    links = ['<a href="index.html">Course index</a>']
    if lesson is not None:
        stems = list(built)
        i = stems.index(lesson.stem)
        for j, arrow in ((i - 1, "←"), (i + 1, "→")):
            if 0 <= j < len(stems):
                x = next(x for x in LESSONS if x.stem == stems[j])
                label = f"{arrow} {x.number} · {html.escape(x.title)}" if arrow == "←" else \
                    f"{x.number} · {html.escape(x.title)} {arrow}"
                links.append(f'<a href="{x.stem}.html">{label}</a>')
    links += ['<a href="readme.html">README</a>', '<a href="docs-methods.html">Methods (every formula)</a>']
    return f'<nav class="hgsr-site-nav">{"".join(links)}</nav>'


def _markdown_notebook(text: str, title: str):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    nb.metadata["title"] = title
    return nb


def index_markdown(built: dict[str, Path], profiles: dict[str, str | None]) -> str:
    """The index page as Markdown (links relative to the repository root, rewritten like any page's)."""
    rows = []
    for x in LESSONS:
        anchor = f'<a id="{x.stem}"></a>'
        if x.stem in built:
            rows.append(f"| {anchor}{x.number} | [{x.title}](notebooks/{x.file}) | {x.teaches} |")
        else:
            rows.append(f"| {anchor}{x.number} | {x.title} (no executed copy: `make figures ONLY={x.number}`, "
                        f"then `make site`) | {x.teaches} |")
    used = sorted({p or "unknown" for p in profiles.values()})
    note = f"Executed with the `{'`, `'.join(used)}` profile{'s' if len(used) > 1 else ''}."
    if used != ["default"]:
        note += (" Only the `default` profile's numbers are the course's results; others train tiny budgets "
                 "and their numbers are placeholders.")
    return ("# hgsr: structured sparsity for convolutional networks, a course\n\n"
            f"{len(LESSONS)} notebooks, meant to be read in order. Start with the [README](README.md#start-here) "
            "(how to run them, the glossary is in notebook 00); every formula is in "
            "[the methods](docs/methods.md).\n\n" + note + "\n\n"
            "| # | lesson | what it teaches |\n|---|---|---|\n" + "\n".join(rows) + "\n")


def _fix_modes(root: Path) -> None:
    os.chmod(root, DIR_MODE)
    for folder, dirs, files in os.walk(root):
        for d in dirs:
            os.chmod(os.path.join(folder, d), DIR_MODE)
        for f in files:
            os.chmod(os.path.join(folder, f), FILE_MODE)


def _replace(dest: Path, new: Path) -> None:
    """Put the finished site ``new`` at ``dest``; an old site there is removed after the swap."""
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, old)
    os.replace(new, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build(source: Path | str = DEFAULT_SOURCE, dest: Path | str = DEFAULT_DEST, log=print) -> Path:
    """Build the course site from the executed notebooks in ``source`` into ``dest`` (see the module
    docstring); return ``dest``. Raises :class:`NotebooksNotBuilt` when ``source`` holds none, and
    InvalidArgument when ``dest`` exists and is not a site this function built (it would be replaced)."""
    source, dest = Path(source), Path(dest).resolve()
    built = executed_notebooks(source)
    if dest.exists() and not (dest / MARKER).is_file():
        raise InvalidArgument(f"dest {dest} exists and is not a course site built by hgsr.suite.site (no {MARKER} "
                              f"file); it would be replaced: give a new folder or that site's folder")
    mathjax = mathjax_source()
    profiles = {stem: executed_profile(p) for stem, p in built.items()}
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.new-", dir=dest.parent))
    try:
        shutil.copytree(mathjax, tmp / MATHJAX_DIR)
        (tmp / MARKER).write_text("built by hgsr.suite.site; replaced whole by the next build\n")
        b = _Build(tmp, built, done={"index.html", *(f"{s}.html" for s in built)})
        b._queue(PurePosixPath("README.md"), folder=False)
        b._queue(PurePosixPath("docs/methods.md"), folder=False)
        exporter = _exporter()

        def render(nb, nav: str) -> str:
            body, _ = exporter.from_notebook_node(nb, resources={
                "hgsr_nav": nav, "hgsr_mathjax_url": f"{MATHJAX_DIR}/MathJax.js?config={MATHJAX_CONFIG}"})
            return body

        index_nb = _markdown_notebook(index_markdown(built, profiles), "hgsr course")
        b.finish("index.html", render(index_nb, _nav(None, built)), PurePosixPath("."))
        import nbformat

        for stem, path in built.items():
            lesson = next(x for x in LESSONS if x.stem == stem)
            nb = nbformat.read(path, as_version=4)
            nb.metadata["title"] = f"{lesson.number} · {lesson.title}"
            b.finish(f"{stem}.html", render(nb, _nav(lesson, built)), PurePosixPath("notebooks"))
            log(f"[site] {stem}.html ({profiles[stem] or 'unknown'} profile)")
        while b.queue:
            rel, folder = b.queue.pop(0)
            if folder:
                entries = sorted(p for p in (REPO / rel).iterdir() if not p.name.startswith("."))
                text = f"# Folder `{rel.as_posix()}/`\n\n" + "\n".join(
                    f"- [{p.name}{'/' if p.is_dir() else ''}]({quote(p.name)})" for p in entries) + "\n"
                nb, base = _markdown_notebook(text, f"{rel.as_posix()}/"), rel
            else:
                text = (REPO / rel).read_text(encoding="utf-8")
                first = next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("# ")), rel.name)
                nb, base = _markdown_notebook(text, first), rel.parent
            b.finish(page_name(rel, folder), render(nb, _nav(None, built)), base)
        for line in b.broken:
            log(f"[site] warning: link does not resolve: {line}")
        _fix_modes(tmp)
        _replace(dest, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"[site] {len(built)} lesson page(s), {len(b.done) - len(built)} other page(s): {dest / 'index.html'}")
    return dest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default=str(DEFAULT_SOURCE), help="folder of executed notebooks (make figures)")
    ap.add_argument("--dest", default=str(DEFAULT_DEST), help="the site folder (replaced)")
    args = ap.parse_args(argv)
    try:
        build(args.source, args.dest)
    except (NotebooksNotBuilt, InvalidArgument, ImportError) as e:
        print(f"[site] {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
