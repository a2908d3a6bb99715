"""Fill the README's result blocks from regenerated files, so no number in it is typed by hand.

A block ``<!-- table: NAME -->`` ... ``<!-- /table -->`` receives ``figures/tables/NAME.md``; a
block ``<!-- manifest -->`` ... ``<!-- /manifest -->`` receives the provenance and wall times of
``figures/manifest.json``; a block ``<!-- course -->`` ... ``<!-- /course -->`` receives the reading
order of :mod:`hgsr.suite.course` with those wall times; a block ``<!-- profiles -->`` ...
``<!-- /profiles -->`` receives every profile's budget (:func:`hgsr.suite.profiles.markdown`: the core's
table and the studies' own, merged); a block ``<!-- timings -->`` ... ``<!-- /timings -->`` receives
the measured cold times of ``data/timings/`` (:func:`hgsr.suite.timings.markdown`). ``make figures``
runs this after the notebooks.

    python -m hgsr.suite.readme [README.md] [figures]
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from ..data import REPO
from ..io import atomic_write_text

TABLE = re.compile(r"(<!-- table: *([\w.-]+) *-->\n).*?(<!-- /table -->)", re.S)
MANIFEST = re.compile(r"(<!-- manifest -->\n).*?(<!-- /manifest -->)", re.S)
COURSE = re.compile(r"(<!-- course -->\n).*?(<!-- /course -->)", re.S)
PROFILES = re.compile(r"(<!-- profiles -->\n).*?(<!-- /profiles -->)", re.S)
TIMINGS = re.compile(r"(<!-- timings -->\n).*?(<!-- /timings -->)", re.S)


def _changes(m: dict) -> str:
    """What the manifest says differed from its commit (a list of paths; older manifests: a bool)."""
    ch = m.get("uncommitted_changes")
    if not ch:
        return ""
    return f" (with uncommitted changes: {', '.join(ch)})" if isinstance(ch, list) else " (with uncommitted changes)"


def _cpu_detail(m: dict) -> str:
    """``"AuthenticAMD family 25 model 1, AVX2 kernels, "`` where the manifest records them (older ones do not)."""
    parts = [m["cpu_model"]] if m.get("cpu_model") else []
    parts += [f"{m['cpu_capability']} kernels"] if m.get("cpu_capability") else []
    return "".join(f"{p}, " for p in parts)


def manifest_markdown(m: dict) -> str:
    rows = "\n".join(f"| `{nb}` | {v['seconds'] / 60:.1f} | `{v.get('commit', '')[:7]}` | "
                     f"{v.get('machine', 'not recorded')} |" for nb, v in m["notebooks"].items())
    pk = m["packages"]
    return (f"Profile `{m['profile']}`, last run at commit `{m['commit'][:10]}`"
            f"{_changes(m)}, "
            f"{m['cpu']} ({_cpu_detail(m)}{m['cpu_count']} cores, {m['torch_threads']} torch threads), "
            f"{m['gpu'] or 'no GPU'}; Python {m['python']}, torch {pk.get('torch')}, "
            f"torchvision {pk.get('torchvision')}, torch-pruning {pk.get('torch-pruning')}.\n\n"
            f"| notebook | wall time (min) | commit | machine |\n|---|---|---|---|\n{rows}\n| **total** | "
            f"**{m['total_seconds'] / 60:.1f}** | | |\n")


def fill(text: str, figures_dir: Path) -> str:
    """``text`` with every table and manifest block replaced by the current files."""
    tables = Path(figures_dir) / "tables"

    def table(match):
        f = tables / f"{match.group(2)}.md"
        body = f.read_text().rstrip() + "\n" if f.exists() else "*(not generated yet: run `make figures`)*\n"
        return match.group(1) + body + match.group(3)

    text = TABLE.sub(table, text)
    mf = Path(figures_dir) / "manifest.json"
    m = json.loads(mf.read_text()) if mf.exists() else None
    from .course import reading_order_markdown
    from .profiles import markdown as profiles_markdown
    from .timings import markdown as timings_markdown
    if m is not None:
        text = _block(text, MANIFEST, lambda: manifest_markdown(m))
    text = _block(text, COURSE, lambda: reading_order_markdown(m) + "\n")
    text = _block(text, PROFILES, profiles_markdown)
    return _block(text, TIMINGS, timings_markdown)


def _block(text: str, pattern: re.Pattern, body) -> str:
    """``text`` with the block ``pattern`` matches (its opening and closing comments kept) filled with
    ``body()``, called only where the block is there."""
    if not pattern.search(text):
        return text
    filled = body()
    return pattern.sub(lambda g: g.group(1) + filled + g.group(2), text)


def update(readme: Path = REPO / "README.md", figures_dir: Path = REPO / "figures") -> bool:
    """Rewrite ``readme`` in place if its blocks changed; True when it did."""
    old = Path(readme).read_text()
    new = fill(old, figures_dir)
    if new != old:
        atomic_write_text(new, readme)
    return new != old


if __name__ == "__main__":
    args = sys.argv[1:]
    update(Path(args[0]) if args else REPO / "README.md", Path(args[1]) if len(args) > 1 else REPO / "figures")
