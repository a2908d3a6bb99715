"""Prose that cannot contradict the results: find result numbers typed into a notebook.

A sentence that states a result ("L1 removes 47 % of the filters") goes stale the day the figures are
regenerated, and nothing warns. So results are never typed: a notebook displays them with
``display(Markdown(<study module>.verdict(table)))``, where the study function turns the table into the
sentence. This module finds the places where that rule is broken; ``tests/test_claims.py`` runs it on
every notebook.

**What is a typed result** (in a Markdown cell, after removing what is exempt, below):

=================  ==========================================================  ============================
kind               pattern                                                     example
=================  ==========================================================  ============================
``percentage``     a number followed by ``%`` or "percent" (also ``\\%`` inside  "removes 47 % of the filters"
                   LaTeX math: a formula never needs one)
``speed-up``       a number followed by ``×`` or ``x`` (not by a digit: that   "runs 2.3× faster"
                   is a shape, ``28×28``), or "N times faster/fewer/…"
``points``         a number followed by "point(s)", "pt(s)" or "pp"            "a drop of 0.3 points"
``accuracy``       "accuracy"/"error" next to a number                         "at an error of 0.92"
``widths``         an arrow followed by layer widths                           "20-50 → 3-12"
``count``          a count of filters, channels, kernels, weights,             "L1 leaves 13 filters"
                   parameters, MACs, neurons, groups or inputs, in a clause
                   with a result verb (leaves, removes, keeps, kills, prunes,
                   survives, dies, remains, drops, reaches, gives, …)
=================  ==========================================================  ============================

**What is allowed.** Architecture facts and hyperparameters, when they come with their unit or name:
"conv1 has 20 filters" (a count without a result verb in its clause), "LeNet-5 (20-50-500)" (widths
without an arrow), "batch 64", "8 epochs", "λ = 0.1", "tol = 1e-2". Numbers inside LaTeX math
(``$…$``, ``$$…$$``) and code (`` `…` ``, fenced blocks) are formulas and names, not claims. A hyperparameter
that is a percentage is written as a fraction or a code name (``MAX_DROP``), not with ``%``.

**Exempt blocks.**

- ``<details><summary>Solution (derivation)</summary> … </details>``: a solution that derives a number
  by hand (the MACs of a layer, a threshold) rather than reading it off a result table;
- a block quote starting ``> **Published`` that links the published-numbers source,
  ``docs/methods.md#7-…``: quoted published numbers, never ours.

Word numbers ("sixteen variants") are not detected: the checker is a net for the common case, not a
proof. Code cells are checked for one thing: a ``Markdown(...)`` whose text is built in the cell (an
f-string, a sum of strings, a ``str.join``) over more than :data:`MAX_INLINE_LINES` lines, or formatting a
percentage (``{x:.1%}``), or interpolating more than :data:`MAX_INLINE_LINES` values, or joining a list of
them, is a verdict built in the notebook: it belongs in a study module's ``verdict`` function
(:func:`inline_verdicts`).
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

MAX_INLINE_LINES = 3

NUM = r"(?<![\w.])[+\-−]?\d+(?:[.,]\d+)*"
UNITS = (r"filters?|channels?|kernels?|weights?|parameters?|params|MACs?|FLOPs?|neurons?|groups?|inputs?")
RESULT_VERB = re.compile(
    r"\b(?:leav\w*|left|remov\w*|keep\w*|kept|kill\w*|zero(?:es|ed|ing)|prun\w*|surviv\w*|die[sd]?|dying|"
    r"remain\w*|drop\w*|los(?:e|es|t|ing)|retain\w*|reach\w*|end(?:s|ed)?\s+(?:with|at|up)|giv(?:e|es|en|ing)|gave|"
    r"cut\w*|eliminat\w*|spar(?:es|ed)|stay\w*|goes|gone|went)\b", re.I)

PATTERNS: dict[str, re.Pattern] = {
    "percentage": re.compile(NUM + r"\s*(?:%|\\%|percent\b)", re.I),
    "speed-up": re.compile(NUM + r"\s?(?:×|x\b)(?!\s?\d)|" + NUM +
                           r"\s+times\s+(?:faster|slower|fewer|more|smaller|larger|less|as)\b", re.I),
    "points": re.compile(NUM + r"[\s-]?(?:points?|pts?|pp)\b", re.I),
    "accuracy": re.compile(r"\b(?:accuracy|error)(?:\s+rate)?\s*(?:of|at|is|was|=|:|to|from|went to)?\s*" + NUM +
                           r"|" + NUM + r"\s+(?:test\s+)?(?:accuracy|error)\b", re.I),
    "widths": re.compile(r"(?:→|->|⟶)\s*\d+(?:\s*[-–]\s*\d+)+"),
}
REFERENCE_WORDS = {"", "section", "sections", "notebook", "notebooks", "exercise", "step", "steps", "cell",
                   "table", "figure", "epoch", "epochs", "layer", "round", "rounds", "question", "part"}
COUNT = re.compile(NUM + r"(?:\s*[-–]\s*\d+)*\s+(?:of\s+\d+\s+)?(?:[\w-]+\s+)?(?:" + UNITS + r")\b", re.I)

DERIVATION = re.compile(r"<details>\s*<summary>[^<]*derivation[^<]*</summary>.*?</details>", re.I | re.S)
PUBLISHED = re.compile(r"^>\s*\*\*Published.*?(?=^(?!>)|\Z)", re.M | re.S)
MATH_BLOCK = re.compile(r"\$\$.*?\$\$|\\\[.*?\\\]", re.S)
MATH_INLINE = re.compile(r"(?<!\\)\$(?!\$).+?(?<!\\)\$|\\\(.*?\\\)", re.S)
FENCE = re.compile(r"^\s*```.*?^\s*```", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")
COMMENT = re.compile(r"<!--.*?-->", re.S)
LINK = re.compile(r"\[((?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")
CLAUSE = re.compile(r"[,;:!?](?=\s)|\.(?=\s|$)|\s[—–]\s|[()\n]")


@dataclass(frozen=True)
class Claim:
    """A typed result number: where it is and what it looks like."""
    cell: int
    kind: str
    text: str
    context: str
    notebook: str = ""

    def __str__(self) -> str:
        where = f"{self.notebook} " if self.notebook else ""
        return f"{where}cell {self.cell}: {self.kind} {self.text!r} in “{self.context}”"


def _published_ok(block: str) -> bool:
    return "methods.md#7-" in block


def prose(md: str) -> tuple[str, list[str]]:
    """``(text, math)``: the Markdown with exempt blocks, code, comments, link targets, HTML tags and
    LaTeX math removed (math replaced by a blank), and the list of math snippets removed."""
    text = DERIVATION.sub(" ", md)
    text = PUBLISHED.sub(lambda m: " " if _published_ok(m.group(0)) else m.group(0), text)
    text = COMMENT.sub(" ", FENCE.sub(" ", text))
    text = CODE.sub(" ", text)
    math: list[str] = []

    def grab(m):
        math.append(m.group(0))
        return " "
    text = MATH_BLOCK.sub(grab, text)
    text = MATH_INLINE.sub(grab, text)
    text = LINK.sub(lambda m: m.group(1), text)
    text = TAG.sub(" ", text)
    return text, math


def find_claims(md: str, cell: int = 0, notebook: str = "") -> list[Claim]:
    """Every typed result number of one Markdown cell (see the module docstring for the rule)."""
    text, math = prose(md)
    out = []
    for kind, pat in PATTERNS.items():
        for m in pat.finditer(text):
            out.append(Claim(cell, kind, m.group(0).strip(), _context(text, m.start(), m.end()), notebook))
    for snippet in math:
        if re.search(r"\d\s*\\%", snippet):
            out.append(Claim(cell, "percentage", snippet, snippet, notebook))
    pos = 0
    for clause in CLAUSE.split(text):
        start = text.find(clause, pos)
        pos = max(pos, start)
        if RESULT_VERB.search(clause):
            for m in COUNT.finditer(clause):
                before = clause[:m.start()].split()
                if before and before[-1].lower().strip("§") in REFERENCE_WORDS:
                    continue   # "section 6 gives filters left": a reference, not a count
                if RESULT_VERB.fullmatch(m.group(0).split()[1]):
                    continue
                out.append(Claim(cell, "count", m.group(0).strip(), clause.strip(), notebook))
    return out


def _context(text: str, a: int, b: int, width: int = 50) -> str:
    return " ".join(text[max(0, a - width):b + width].split())


def _is_inline(arg: ast.AST, assigned: dict[str, ast.AST]) -> ast.AST | None:
    """The expression that builds a Markdown text in the notebook itself, or None when the text comes
    from a function of a module (``hgsr_grid.verdict(summary)``) or a variable assigned from one."""
    if isinstance(arg, ast.Name):
        val = assigned.get(arg.id)
        return None if val is None else _is_inline(val, assigned)
    if isinstance(arg, ast.Call):
        f = arg.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Constant):
            return arg   # "sep".join(...): a text assembled here
        return None
    if isinstance(arg, (ast.Attribute, ast.Subscript)):
        return None
    return arg


def inline_verdicts(code: str, cell: int = 0, notebook: str = "") -> list[Claim]:
    """``Markdown(...)`` calls in a code cell whose text is built in the cell (an f-string, a sum of
    strings, a ``str.join``) and is long (more than :data:`MAX_INLINE_LINES` lines), formats a
    percentage, interpolates more than :data:`MAX_INLINE_LINES` values or joins a list of them: verdicts
    that belong in a study module. A one-line statement of a parameter stays allowed."""
    src = "\n".join(ln for ln in code.splitlines() if not ln.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return []
    assigned: dict[str, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    assigned[t.id] = node.value
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            assigned[node.target.id] = ast.BinOp(assigned.get(node.target.id, ast.Constant("")), ast.Add(),
                                                 node.value, lineno=node.lineno, end_lineno=node.end_lineno,
                                                 col_offset=0, end_col_offset=0)
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "Markdown"):
            continue
        if not node.args or (arg := _is_inline(node.args[0], assigned)) is None:
            continue
        lines = arg.end_lineno - arg.lineno + 1
        values = [v for v in ast.walk(arg) if isinstance(v, ast.FormattedValue)]
        percent = any(v.format_spec is not None and "%" in ast.unparse(v.format_spec) for v in values)
        joins = any(isinstance(c, ast.Call) and getattr(c.func, "attr", "") == "join" for c in ast.walk(arg))
        why = (f"{lines} lines" if lines > MAX_INLINE_LINES else "formats a percentage" if percent
               else f"{len(values)} values" if len(values) > MAX_INLINE_LINES else "joins a list" if joins else "")
        if why:
            seg = ast.get_source_segment(src, arg) or ast.unparse(arg)
            out.append(Claim(cell, "inline verdict", why, " ".join(seg.split())[:80], notebook))
    return out


def notebook_claims(path: Path | str) -> list[Claim]:
    """Every typed result of a notebook's Markdown cells and every verdict built in its code cells."""
    path = Path(path)
    cells = json.loads(path.read_text())["cells"]
    out = []
    for i, c in enumerate(cells):
        src = "".join(c["source"])
        if c["cell_type"] == "markdown":
            out += find_claims(src, i, path.stem)
        elif c["cell_type"] == "code":
            out += inline_verdicts(src, i, path.stem)
    return out
