"""Classroom mode: a lecture can run a notebook live in the ``smoke`` profile without teaching a wrong number.

The ``smoke`` profile trains on tiny subsets for one epoch, so its numbers contradict the lessons (an
element-wise "speed-up", a pruned ResNet at chance). A notebook therefore states each result through a
:class:`Lecture`:

- ``lecture.say(text, name)``: a result sentence (a verdict computed from the tables);
- ``lecture.table(df, name)``: a result table.

In the ``default`` profile they save the result (``<figures>/tables/<name>.md``, and the table's CSV, through
:mod:`hgsr.suite.report`) and display it, unchanged. In any other profile they display the live result
under a **placeholder** banner (the budget it came from) and, beside it, the **committed default result**
of the same name, read from the repository's ``figures/`` (what ``make figures`` made), or a line saying
that none is committed yet and how to make it.

A run in another profile never writes over the committed default results: :attr:`Lecture.figures_dir` is
the folder given, except that the committed ``figures/`` becomes ``build/figures-<profile>/``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InvalidArgument
from ..experiments import PROFILES
from . import report

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "figures"          # the committed default-profile results (make figures)
DEFAULT = "default"
BUDGETS = {"smoke": "the smoke profile's tiny budget (small subsets, one epoch)",
           "paper": "the paper profile (the authors' recipes), not the committed default"}


def _same_folder(a: str | Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == b.resolve()
    except OSError:
        return False


def output_folder(profile: str, figures_dir: str | Path) -> Path:
    """Where a run of ``profile`` saves: ``figures_dir``, except that a profile other than ``default``
    pointed at the committed :data:`COMMITTED` folder writes to ``build/figures-<profile>/`` instead."""
    if profile != DEFAULT and _same_folder(figures_dir, COMMITTED):
        return REPO / "build" / f"figures-{profile}"
    return Path(figures_dir)


def committed_text(name: str, committed: str | Path = COMMITTED) -> str | None:
    """The committed default result ``<committed>/tables/<name>.md`` (a sentence or a Markdown table), or
    None when there is none."""
    path = Path(committed) / "tables" / f"{name}.md"
    return path.read_text() if path.is_file() else None


def budget_text(profile: str) -> str:
    """The budget a non-default ``profile`` computes on, in words (:data:`BUDGETS`)."""
    return BUDGETS.get(profile, f"the {profile} profile")


def committed_markdown(name: str, committed: str | Path = COMMITTED) -> str:
    """The committed default result of ``name`` under its heading, or a line saying how to make it."""
    saved = committed_text(name, committed)
    if saved is None:
        return (f"**Committed default result:** none yet at `figures/tables/{name}.md`; `make figures` "
                f"makes it (or `make figures ONLY=<notebook>`).")
    return f"**Committed default result** (`figures/tables/{name}.md`, made by `make figures`):\n\n{saved}"


def placeholder_markdown(live: str, name: str, profile: str, committed: str | Path = COMMITTED) -> str:
    """Markdown of a live result of a non-default ``profile`` marked as a placeholder, followed by the
    committed default result of the same ``name`` (or how to make it)."""
    quoted = "\n".join("> " + line for line in live.rstrip("\n").splitlines())
    head = (f"> **Placeholder** — computed live on {budget_text(profile)}. Do not teach this number; the "
            f"committed result follows.\n>\n")
    return head + quoted + "\n\n" + committed_markdown(name, committed)


class Lecture:
    """The results of one notebook run in ``profile``, saved under ``figures_dir`` (see
    :func:`output_folder`) and displayed as the module docstring says."""

    def __init__(self, profile: str, figures_dir: str | Path = "../figures", committed: str | Path = COMMITTED):
        if profile not in PROFILES:
            raise InvalidArgument(f"profile={profile!r} is not a profile; choose one of {', '.join(PROFILES)}")
        self.profile = profile
        self.figures_dir = output_folder(profile, figures_dir)
        self.committed = Path(committed)

    @property
    def live(self) -> bool:
        """True when results are the committed kind (the default profile) and are shown as they are."""
        return self.profile == DEFAULT

    def _display(self, markdown: str):
        from IPython.display import Markdown, display
        display(Markdown(markdown))

    def say(self, text: str, name: str) -> str:
        """Save the result sentence ``text`` as ``<figures_dir>/tables/<name>.md`` and display it (marked
        as a placeholder beside the committed one outside the default profile). Returns ``text``."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgument(f"say({name!r}): text must be a non-empty sentence, got {text!r}")
        report.save_text(text, name, self.figures_dir)
        self._display(text if self.live else placeholder_markdown(text, name, self.profile, self.committed))
        return text

    def table(self, df: pd.DataFrame, name: str, save: bool = True, **show_kwargs) -> None:
        """Save the result table ``df`` as ``<figures_dir>/tables/<name>.csv|md`` (``save=False``: it was
        saved already, e.g. whole, and ``df`` shows part of it) and display it formatted
        (:func:`hgsr.suite.report.show`). Outside the default profile the live table is displayed under the
        placeholder banner and the committed table of the same name follows."""
        if not isinstance(df, pd.DataFrame):
            raise InvalidArgument(f"table({name!r}): df must be a pandas DataFrame, got {type(df).__name__}")
        from IPython.display import display
        if save:
            report.save_table(df, name, self.figures_dir, **show_kwargs)
        shown = report.show(df, **show_kwargs)
        if self.live:
            display(shown)
            return
        self._display(f"> **Placeholder** — the table below was computed live on {budget_text(self.profile)}; "
                      f"the committed result follows it.")
        display(shown)
        self._display(committed_markdown(name, self.committed))
