"""Browser check of the course site with the network cut (``make test-browser``; CI runs it after ``make test``).

Without ``--site``, it makes a small site first: notebook 01 executed in the ``smoke`` profile into a
temporary folder (:func:`hgsr.suite.run_notebooks.execute`; 01 trains nothing), then
:func:`hgsr.suite.site.build` from it. With ``--site DIR`` it checks a site already built (``make site``
writes ``build/site``).

In headless Chromium (the system one, driven by Playwright), in a browser context that is offline and
aborts every request that is not ``file://`` (each one counted: a page that asks for the network fails),
it opens every HTML page at the top of the site over ``file://`` and requires

* the page and everything it loads (scripts, styles, fonts, images) to load: no failed request, no
  script error;
* MathJax to have finished with no error element (``.MathJax_Error``, ``merror``), typeset math
  (``.MathJax`` / ``.MathJax_Display`` elements) on every page whose text held TeX before typesetting, and
  no raw TeX (``$...$``, ``\\(...\\)``, ``$$...$$``) left in its text outside code;
* every ``<img>`` to have loaded (``naturalWidth > 0``);
* every local link to name a file of the site and, with a ``#fragment``, an element of that page with
  that id (or name).

A table per page ends the output; the exit status is 1 on any failure.

    .venv/bin/python tests/browser/site_check.py [--site build/site] [--chromium /usr/bin/chromium]

Needs ``pip install -e '.[site,browser]'`` and a Chromium binary; ``make test-browser`` installs both.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SMOKE_NOTEBOOK = "01"

# text before typesetting: does the page hold TeX? (outside code, scripts and styles)
VISIBLE_TEXT = """() => {
  const skip = new Set(['SCRIPT', 'STYLE', 'PRE', 'CODE', 'TEXTAREA']);
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode(n) {
    for (let e = n.parentElement; e; e = e.parentElement) {
      if (skip.has(e.tagName) || (e.className && String(e.className).match(/MathJax|MJX/))) return NodeFilter.FILTER_REJECT;
    }
    return NodeFilter.FILTER_ACCEPT;
  }});
  while (walk.nextNode()) out.push(walk.currentNode.nodeValue);
  return out.join(' ');
}"""

MATHJAX_DONE = """() => new Promise(resolve => {
  if (!window.MathJax || !window.MathJax.Hub) { resolve('no MathJax'); return; }
  window.MathJax.Hub.Queue(() => resolve('done'));
})"""

# after MathJax: two frames laid out (what it added asks for its fonts then), and every font load settled
FONTS_SETTLED = """async () => {
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  await document.fonts.ready;
  return document.fonts.status;
}"""

PAGE_REPORT = """() => ({
  typeset: document.querySelectorAll('.MathJax, .MathJax_Display, .MathJax_SVG, mjx-container').length,
  errors: Array.from(document.querySelectorAll('.MathJax_Error, merror, [data-mjx-error]')).map(e => e.textContent.slice(0, 120)),
  images: Array.from(document.images).map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  ids: Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.getAttribute('name')),
})"""


def raw_tex(text: str) -> list[str]:
    """TeX still in delimiters: ``$...$`` (no space just inside), ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``."""
    import re

    pats = [r"\$\$.+?\$\$", r"(?<![\\$])\$[^\s$][^$]*?(?<=[^\s\\$])\$", r"\\\(.+?\\\)", r"\\\[.+?\\\]"]
    return [m.group(0)[:80] for p in pats for m in re.finditer(p, text, re.S)]


class _Text(HTMLParser):
    """The text of an HTML file outside ``script``, ``style``, ``pre``, ``code`` and ``textarea``."""
    SKIP = {"script", "style", "pre", "code", "textarea"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth, self.parts = 0, []

    def handle_starttag(self, tag, attrs):
        self.depth += tag in self.SKIP

    def handle_endtag(self, tag):
        self.depth -= tag in self.SKIP and self.depth > 0

    def handle_data(self, data):
        if not self.depth:
            self.parts.append(data)


def source_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join(parser.parts)


@dataclass
class PageResult:
    name: str
    typeset: int = 0
    images: int = 0
    links: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def build_small_site(tmp: Path, runs: Path) -> Path:
    """Notebook 01 executed in the smoke profile, and the site built from it."""
    from hgsr.suite import run_notebooks, site

    os.environ["HGSR_RUNS"] = str(runs)
    os.environ.setdefault("MPLBACKEND", "Agg")
    nb = run_notebooks.notebook_paths([SMOKE_NOTEBOOK])[0]
    t = time.time()
    run_notebooks.execute(nb, tmp / "executed", "smoke", tmp / "figures", timeout=600)
    print(f"site_check: executed {nb.name} (smoke) in {time.time() - t:.0f} s")
    return site.build(tmp / "executed", tmp / "site", log=lambda s: print(f"site_check: {s}"))


@dataclass
class OpenPage:
    path: Path
    page: object
    t0: float
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def open_page(context, path: Path) -> OpenPage:
    """A new tab navigating to ``path``; it goes on loading while other tabs are checked."""
    o = OpenPage(path, context.new_page(), time.time())
    # MathJax's HTML-CSS output measures text with a font whose source is about:blank, on purpose
    o.page.on("requestfailed", lambda req: req.url == "about:blank" or o.failed.append(f"{req.url} ({req.failure})"))
    o.page.on("pageerror", lambda exc: o.errors.append(str(exc)[:200]))
    o.page.goto(path.as_uri(), wait_until="commit")
    return o


def check_page(o: OpenPage) -> tuple[PageResult, dict]:
    """Wait for the page, MathJax and fonts, then check it (see the module docstring); closes the tab."""
    r, page = PageResult(o.path.name), o.page
    try:
        before = raw_tex(source_text(o.path))   # the TeX in the page before MathJax runs
        page.wait_for_load_state("load")
        state = page.evaluate(MATHJAX_DONE)
        if state != "done":
            r.problems.append(f"MathJax did not start ({state})")
        page.evaluate(FONTS_SETTLED)   # late requests (fonts of what MathJax added) are seen failing too
        rep = page.evaluate(PAGE_REPORT)
        after = raw_tex(page.evaluate(VISIBLE_TEXT))
    finally:
        page.close()
    r.typeset, r.images, r.links = rep["typeset"], len(rep["images"]), len(rep["links"])
    if before and not rep["typeset"]:
        r.problems.append(f"{len(before)} TeX expression(s) but nothing typeset, e.g. {before[0]!r}")
    if after:
        r.problems.append(f"raw TeX left after typesetting: {after[:3]}")
    if rep["errors"]:
        r.problems.append(f"MathJax errors: {rep['errors'][:3]}")
    bad_imgs = [i["src"][:100] for i in rep["images"] if not i["ok"]]
    if bad_imgs:
        r.problems.append(f"{len(bad_imgs)} image(s) not loaded: {bad_imgs[:3]}")
    if o.failed:
        r.problems.append(f"{len(o.failed)} request(s) failed: {o.failed[:3]}")
    if o.errors:
        r.problems.append(f"script errors: {o.errors[:3]}")
    r.seconds = time.time() - o.t0
    return r, {"links": rep["links"], "ids": set(rep["ids"])}


def check_links(results: dict[str, PageResult], seen: dict[str, dict], site_root: Path) -> None:
    """Every file:// link names a file of the site, and its #fragment an element of that page."""
    root = site_root.resolve()
    for name, info in seen.items():
        for href in dict.fromkeys(info["links"]):   # each link once (the bar is at the top and the bottom)
            parts = urlsplit(href)
            if parts.scheme != "file":
                continue   # external links are kept as links (not followed: no network)
            url, frag = urldefrag(href)
            target = Path(unquote(urlsplit(url).path))
            try:
                target.resolve().relative_to(root)
            except ValueError:
                results[name].problems.append(f"link outside the site: {href}")
                continue
            if not target.is_file():
                results[name].problems.append(f"link to a missing file: {target.relative_to(root)}")
            elif frag and target.suffix == ".html":
                ids = seen.get(target.name, {}).get("ids") if target.parent.resolve() == root else None
                if ids is None:
                    results[name].problems.append(f"link to a page that was not checked: {href}")
                elif frag not in ids and unquote(frag) not in ids:   # as a browser: raw, then decoded
                    results[name].problems.append(f"link to a missing anchor: {target.name}#{frag}")


def table(results: list[PageResult]) -> str:
    w = max(len(r.name) for r in results)
    head = f"{'page':<{w}}  {'math':>5}  {'images':>6}  {'links':>5}  {'s':>5}  result"
    rows = [f"{r.name:<{w}}  {r.typeset:>5}  {r.images:>6}  {r.links:>5}  {r.seconds:>5.1f}  "
            f"{'ok' if not r.problems else 'FAILED: ' + '; '.join(r.problems)}" for r in results]
    return "\n".join([head, *rows])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--site", help="check this built site instead of building a small one")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--tabs", type=int, default=4, help="pages loading at the same time (default 4)")
    ap.add_argument("--runs", default=str(REPO / "build" / "browser" / "runs"),
                    help="run cache for the smoke execution (default build/browser/runs)")
    args = ap.parse_args(argv)
    t_start = time.time()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("site_check: FAILED: Playwright is missing: pip install -e '.[site,browser]' (make test-browser)",
              file=sys.stderr)
        return 1
    if not Path(args.chromium).is_file():
        print(f"site_check: FAILED: no Chromium at {args.chromium} (apt-get install chromium)", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="hgsr-site-"))
    try:
        site_root = Path(args.site).resolve() if args.site else build_small_site(tmp, Path(args.runs))
        pages = sorted(site_root.glob("*.html"))
        if not any(p.name == "index.html" for p in pages):
            print(f"site_check: FAILED: no index.html in {site_root}", file=sys.stderr)
            return 1
        blocked: list[str] = []
        results: dict[str, PageResult] = {}
        seen: dict[str, dict] = {}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_FLAGS)
            try:
                context = browser.new_context(offline=True)

                def route(rt):
                    if rt.request.url.startswith("file://"):
                        rt.continue_()
                    else:
                        blocked.append(rt.request.url)
                        rt.abort("internetdisconnected")

                context.route("**/*", route)
                for i in range(0, len(pages), args.tabs):   # a few tabs load at once: most of the time is waiting
                    for o in [open_page(context, p) for p in pages[i:i + args.tabs]]:
                        results[o.path.name], seen[o.path.name] = check_page(o)
            finally:
                browser.close()
        check_links(results, seen, site_root)
        print(table(list(results.values())))
        problems = [r for r in results.values() if r.problems]
        print(f"\nsite_check: {len(pages)} page(s) of {site_root}, {sum(r.typeset for r in results.values())} "
              f"typeset expressions, {sum(r.images for r in results.values())} images, "
              f"{sum(r.links for r in results.values())} links; {time.time() - t_start:.0f} s in all")
        failures = []
        if blocked:
            failures.append(f"{len(blocked)} request(s) for the network: {sorted(set(blocked))[:5]}")
        if problems:
            failures.append(f"problems in {', '.join(r.name for r in problems)} (table above)")
        if not any(r.typeset for r in results.values()):
            failures.append("no page has typeset math")
        for f in failures:
            print(f"site_check: FAILED: {f}", file=sys.stderr)
        if failures:
            return 1
        print("site_check: every page, script, font and image loaded offline, math is typeset, every local "
              "link resolves")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
