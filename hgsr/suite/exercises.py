"""The notebooks' exercises as code that runs: how an exercise is written, and how its code is found.

The convention (``tests/test_exercises.py`` checks every notebook against it):

- an exercise is ``**Exercise N.**`` under ``## Exercises`` (up to ``## Check your understanding``), followed
  by a collapsed Hint and a collapsed Solution (``<details><summary>…</summary> … </details>``);
- code the student is asked to run is a fenced Python block (```` ```python ````) inside the exercise's Hint or
  Solution, never an inline call: each block runs as written after the notebook has run, every name it uses
  bound by the notebook's code cells or by the block itself (:func:`unbound_names`);
- a solution whose answer depends on this run's results computes it: the code cell right after the exercise,
  tagged ``exercise-answer`` (:data:`ANSWER_TAG`), displays a study function's answer sentence, and the
  Solution says to run it.

:func:`with_exercises` writes a copy of a notebook with every block appended as a code cell (named by its
notebook and exercise), which the smoke test executes once: the notebook's outputs and its exercises are
checked from the same run.
"""
from __future__ import annotations

import ast
import builtins
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidArgument

ANSWER_TAG = "exercise-answer"      # the code cell that computes an exercise's answer from this run
SNIPPET_TAG = "exercise-snippet"    # a cell :func:`with_exercises` appended
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
ANY_FENCE = re.compile(r"^```.*?^```[ \t]*$", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`|<code>(.*?)</code>", re.S)
CALL = re.compile(r"[\w\])\"'][ \t]*\(")
HEAD = re.compile(r"\*\*Exercise (\d+)\.\*\*")
DETAILS = re.compile(r"<details><summary>([^<]*)</summary>(.*?)</details>", re.S)


@dataclass
class Exercise:
    notebook: str                     # the notebook's stem
    number: int
    text: str                         # the exercise's Markdown: statement, Hint and Solution
    answer_cells: list[str] = field(default_factory=list)   # sources of its exercise-answer code cells

    @property
    def snippets(self) -> list[str]:
        """The fenced Python blocks of the exercise, in order."""
        return [s.rstrip() + "\n" for s in FENCE.findall(self.text)]

    def block(self, summary: str) -> str:
        """The body of the collapsed block whose summary starts with ``summary`` ("" when there is none)."""
        return next((body for s, body in DETAILS.findall(self.text) if s.strip().startswith(summary)), "")

    @property
    def solution(self) -> str:
        return self.block("Solution")

    def inline_calls(self) -> list[str]:
        """Inline code (``code`` or <code>…</code>) outside fenced blocks that calls something: runnable
        code belongs in a fenced block, where the tests run it."""
        prose = ANY_FENCE.sub("", self.text)
        spans = [a or b for a, b in INLINE.findall(prose)]
        return [s for s in spans if CALL.search(s)]


def _cells(nb_path: Path) -> list[dict]:
    return json.loads(Path(nb_path).read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def exercises(nb_path: Path | str) -> list[Exercise]:
    """The exercises of a notebook, in order: each with its Markdown (which may span several cells) and
    the sources of the ``exercise-answer`` code cells that follow it."""
    nb_path = Path(nb_path)
    out: list[Exercise] = []
    inside = False
    for cell in _cells(nb_path):
        src = _source(cell)
        if cell["cell_type"] == "markdown":
            if "## Exercises" in src:
                inside, src = True, src[src.index("## Exercises"):]
            if not inside:
                continue
            end = src.find("## Check your understanding")
            part = src if end < 0 else src[:end]
            pieces = HEAD.split(part)
            if out:
                out[-1].text += "\n\n" + pieces[0]
            for n, body in zip(pieces[1::2], pieces[2::2]):
                out.append(Exercise(nb_path.stem, int(n), f"**Exercise {n}.**" + body))
            if end >= 0:
                break
        elif inside and out and ANSWER_TAG in cell.get("metadata", {}).get("tags", []):
            out[-1].answer_cells.append(src)
    return out


# ----------------------------------------------------------------------------- names a snippet needs
def _python(src: str) -> str:
    """A code cell's source without IPython magics and shell lines (``%matplotlib``, ``!pip``)."""
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in src.splitlines())


class _Names(ast.NodeVisitor):
    def __init__(self):
        self.bound: set[str] = set()
        self.loaded: set[str] = set()

    def visit_Name(self, node):
        (self.loaded if isinstance(node.ctx, ast.Load) else self.bound).add(node.id)

    def visit_Import(self, node):
        for a in node.names:
            self.bound.add(a.asname or a.name.split(".")[0])

    visit_ImportFrom = visit_Import

    def visit_FunctionDef(self, node):
        self.bound.add(node.name)
        self.bound.update(a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg))
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self.bound.update(a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg))
        self.generic_visit(node)

    def visit_ClassDef(self, node):
        self.bound.add(node.name)
        self.generic_visit(node)

    def visit_ExceptHandler(self, node):
        if node.name:
            self.bound.add(node.name)
        self.generic_visit(node)


def names(src: str) -> tuple[set[str], set[str]]:
    """``(bound, loaded)``: the names a piece of Python binds (assignments, imports, loop targets,
    function and lambda arguments, comprehension variables) and the names it reads."""
    v = _Names()
    v.visit(ast.parse(_python(src)))
    return v.bound, v.loaded


def notebook_names(nb_path: Path | str) -> set[str]:
    """Every name the notebook's code cells bind (exercise cells excluded), plus IPython's ``display``."""
    bound = {"display", "get_ipython"}
    for cell in _cells(Path(nb_path)):
        if cell["cell_type"] == "code" and SNIPPET_TAG not in cell.get("metadata", {}).get("tags", []):
            bound |= names(_source(cell))[0]
    return bound


def unbound_names(snippet: str, available: set[str]) -> set[str]:
    """Names ``snippet`` reads that neither it, ``available`` (:func:`notebook_names`) nor Python's
    builtins define: each would raise NameError when the snippet runs as written."""
    bound, loaded = names(snippet)
    return loaded - bound - available - set(dir(builtins))


# ----------------------------------------------------------------------------- a notebook with its exercises
def with_exercises(nb_path: Path | str, dest_dir: Path | str) -> Path:
    """A copy of the notebook in ``dest_dir`` (same file name) with every exercise's fenced Python blocks
    appended as code cells before its closing navigation bar, each starting with a comment that names the
    notebook and the exercise, so that a failure says which exercise's code broke."""
    import nbformat

    nb_path, dest_dir = Path(nb_path), Path(dest_dir)
    if not nb_path.is_file():
        raise InvalidArgument(f"nb_path={str(nb_path)!r} is not a notebook file")
    nb = nbformat.read(nb_path, as_version=4)
    new = []
    for ex in exercises(nb_path):
        for k, s in enumerate(ex.snippets, 1):
            cell = nbformat.v4.new_code_cell(f"# {ex.notebook}, exercise {ex.number}, code block {k}\n{s}")
            cell.metadata["tags"] = [SNIPPET_TAG]
            cell.id = f"exercise-{ex.number}-{k}"
            new.append(cell)
    last = len(nb.cells) - 1 if nb.cells and nb.cells[-1].cell_type == "markdown" else len(nb.cells)
    nb.cells[last:last] = new
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = dest_dir / nb_path.name
    nbformat.write(nb, out)
    return out


def answer(text: str, summary: str = "Answer from this run") -> str:
    """``text`` (a study function's answer sentence) in a collapsed block, as the notebooks show computed
    answers: closed until the student opens it, like the written solutions."""
    return f"<details><summary>{summary}</summary>\n\n{text}\n\n</details>"
