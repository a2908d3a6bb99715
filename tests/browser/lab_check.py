"""Browser check of the interactive notebooks (``make test-browser``; CI runs it after ``make test``).

For every numbered notebook whose code shows a widget when ``INTERACTIVE`` is true (found by reading
the notebooks; 01, 02, 05 and 06 at least), this script

* writes a copy into a temporary folder with the smoke profile injected the papermill way (an
  ``injected-parameters`` cell after the ``parameters`` cell: ``PROFILE = "smoke"``,
  ``INTERACTIVE = True``, ``FIGURES_DIR`` inside the temporary folder): the repository's notebooks,
  figures/ and runs/ are not touched (trained runs are cached in ``--runs``, default build/browser/runs);
* starts its own JupyterLab (free local port, random token, temporary root, settings and workspaces)
  and stops it at the end, also on failure;
* in headless Chromium (the system one, driven by Playwright), opens the copy in a fresh page and
  workspace, *Run All*, waits until the kernel is idle and fails on any cell that raised or did not run;
* moves every slider (``IntSlider``, ``FloatSlider``, ``FloatLogSlider``, ``SelectionSlider``) and every
  dropdown and requires that the figure of the widget it belongs to (or its text when it has no figure)
  changes after each move; then closes the notebook and shuts its kernel down.

Two notebooks run *Run All* at the same time (``--jobs``, one kernel per core); the controls are moved
one notebook at a time.

A per-notebook table (controls moved, redrawn, seconds) ends the output. On failure the screenshots,
the error text of each failing notebook and the JupyterLab server log are kept under ``build/browser/``
and the exit status is 1.

    .venv/bin/python tests/browser/lab_check.py [--only 01 06] [--chromium /usr/bin/chromium]

Needs ``pip install -e '.[browser]'`` (Playwright) and a Chromium binary (``apt-get install chromium``);
``make test-browser`` installs both.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
REQUIRED = ("01", "02", "05", "06")  # notebooks that must be found to show widgets
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# JupyterLab user settings for the temporary settings folder: every cell stays in the DOM (no
# windowing), no news or update checks (no network in CI).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                       "checkForUpdates": False},
}
CONTROLS = {  # kind -> CSS selector of the element the check moves
    "slider": ".widget-slider .noUi-handle",
    "dropdown": ".widget-dropdown select",
}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class CheckFailed(Exception):
    """A notebook or widget failed the check; the message says which and why."""


# ------------------------------------------------------------------ notebooks

def shows_widgets(path: Path) -> bool:
    """A code cell (not the parameters cell) that tests ``INTERACTIVE`` and uses widgets/interact."""
    import nbformat

    for c in nbformat.read(path, as_version=4).cells:
        if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", []) \
                and "INTERACTIVE" in c.source and re.search(r"widgets|\binteract", c.source):
            return True
    return False


def select_notebooks(only: list[str] | None) -> list[Path]:
    every = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    found = [p for p in every if shows_widgets(p)]
    missing = [r for r in REQUIRED if not any(p.name.startswith(r) for p in found)]
    if missing:
        raise CheckFailed(f"no widget cell (`if INTERACTIVE:` ... widgets/interact) found in notebook(s) "
                          f"{missing}; widget notebooks found: {[p.stem for p in found]}")
    if only:
        found = [p for p in found if any(p.name.startswith(o) or p.stem == o for o in only)]
        if not found:
            raise CheckFailed(f"--only {only} matches no widget notebook")
    return found


def write_smoke_copy(src: Path, folder: Path, figures: Path) -> Path:
    """``folder/<name>.ipynb``: ``src`` with the injected-parameters cell papermill would add."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(str(src))
    if not any("parameters" in c.metadata.get("tags", []) for c in nb.cells):
        raise CheckFailed(f"{src.name}: no cell tagged 'parameters' to inject the smoke profile after")
    nb = parameterize_notebook(nb, {"PROFILE": "smoke", "INTERACTIVE": True, "FIGURES_DIR": str(figures)},
                               kernel_name="python3", language="python")
    dest = folder / src.name
    nbformat.write(nb, dest)
    return dest


# ------------------------------------------------------------------ JupyterLab server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``jupyter lab`` on 127.0.0.1:<free port> with a random token, rooted at ``root``; ``with`` stops
    it (its whole process group: server and kernels)."""

    def __init__(self, root: Path, runs: Path, log: Path, start_timeout: float = 120):
        self.root, self.runs, self.log_path, self.start_timeout = root, runs, log, start_timeout
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "LabServer":
        home = self.root.parent / (self.root.name + "-jupyter")
        settings = home / "settings"
        for rel, value in LAB_SETTINGS.items():
            (settings / rel).parent.mkdir(parents=True, exist_ok=True)
            (settings / rel).write_text(json.dumps(value))
        env = dict(os.environ, HGSR_RUNS=str(self.runs), JUPYTERLAB_SETTINGS_DIR=str(settings),
                   JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                   OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        # a user in a browser gets the inline backend; MPLBACKEND=Agg (set by CI) would show figures as text
        env.pop("MPLBACKEND", None)
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--ServerApp.terminals_enabled=False", "--LabApp.expose_app_in_browser=True",
               "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI runs as root
            cmd.append("--allow-root")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        t0 = time.time()
        while time.time() - t0 < self.start_timeout:
            if self.proc.poll() is not None:
                raise CheckFailed(f"JupyterLab exited with status {self.proc.returncode} before answering:\n"
                                  f"{self.log_tail()}")
            try:
                req = urllib.request.Request(f"{self.base}/api/status",
                                             headers={"Authorization": f"token {self.token}"})
                with urllib.request.urlopen(req, timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise CheckFailed(f"JupyterLab did not answer on {self.base} within {self.start_timeout:.0f} s:\n"
                          f"{self.log_tail()}")

    def api(self, method: str, path: str):
        req = urllib.request.Request(f"{self.base}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self, path: str) -> None:
        """End the sessions (and kernels) of the notebook at ``path`` (relative to the root)."""
        for s in self.api("GET", "/api/sessions"):
            if s.get("path") == path:
                self.api("DELETE", f"/api/sessions/{s['id']}")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_tail(self, since: int = 0, lines: int = 40) -> str:
        self._log.flush()
        with open(self.log_path, errors="replace") as f:
            f.seek(since)
            return "\n".join(f.read().splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self.proc:  # kernels left in the group after the server went
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()

    def __exit__(self, *exc) -> None:
        self.stop()


# ------------------------------------------------------------------ browser side

FIND_PANEL = """(path) => {
  const app = window.jupyterapp;
  if (!app) return false;
  const p = Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === path);
  if (!p) return false;
  window.__hgsr = {panel: p, done: null};
  return true;
}"""

START_RUN_ALL = """async () => {
  const h = window.__hgsr, p = h.panel, app = window.jupyterapp;
  await p.context.ready;
  await p.sessionContext.ready;
  app.shell.activateById(p.id);
  h.iopub = [];  // error messages and stderr text from the kernel (widget callbacks report there)
  p.sessionContext.iopubMessage.connect((_, msg) => {
    const t = msg.header.msg_type, c = msg.content;
    if (t === 'error') h.iopub.push(c.ename + ': ' + c.evalue + '\\n' + (c.traceback || []).join('\\n'));
    else if (t === 'stream' && c.name === 'stderr') h.iopub.push(c.text);
  });
  app.commands.execute('notebook:run-all-cells').then(r => { h.done = {ok: r}; },
                                                       e => { h.done = {error: String(e)}; });
  return p.id;
}"""

RUN_STATE = """() => {
  const h = window.__hgsr, p = h.panel;
  const k = p.sessionContext.session && p.sessionContext.session.kernel;
  const busy = Array.from(p.node.querySelectorAll('.jp-InputPrompt')).filter(e => e.innerText.includes('*')).length;
  return {done: h.done, kernel: k ? k.status : 'none', busy};
}"""

CELL_REPORT = """() => {
  const p = window.__hgsr.panel, errors = [], notRun = [];
  p.content.widgets.forEach((c, i) => {
    if (c.model.type !== 'code') return;
    const src = c.model.sharedModel.getSource();
    if (src.trim() && c.model.executionCount === null) notRun.push(i + 1);
    for (const o of c.model.outputs.toJSON())
      if (o.output_type === 'error')
        errors.push({cell: i + 1, ename: o.ename, evalue: o.evalue, traceback: (o.traceback || []).join('\\n'),
                     source: src.split('\\n')[0]});
  });
  return {errors, notRun};
}"""

# the state of the widget a control belongs to: its figure(s), output text and HTML text, found in
# the nearest ancestor holding an Output widget (an hgsr Explorer, or interact's box)
WIDGET_STATE = """(el) => {
  let r = el.parentElement;
  while (r && !r.querySelector('.widget-output, .jupyter-widgets-output-area')
         && !r.classList.contains('jp-OutputArea-output')) r = r.parentElement;
  r = r || el.parentElement;
  const outs = Array.from(r.querySelectorAll('.widget-output, .jupyter-widgets-output-area'));
  const w = el.closest('.widget-slider, .widget-dropdown');
  const cell = el.closest('.jp-Cell');
  const cells = Array.from(window.__hgsr.panel.node.querySelectorAll('.jp-Cell'));
  return {
    imgs: outs.flatMap(o => Array.from(o.querySelectorAll('img')).map(i => i.src)),
    text: outs.map(o => o.innerText).join('\\n') + '\\n' +
          Array.from(r.querySelectorAll('.widget-html-content')).map(h => h.innerText).join('\\n'),
    label: (w && w.querySelector('.widget-label') && w.querySelector('.widget-label').innerText.trim()) || '?',
    value: el.tagName === 'SELECT' ? el.value
           : ((w && w.querySelector('.widget-readout') && w.querySelector('.widget-readout').innerText.trim()) || ''),
    atMax: el.getAttribute('aria-valuenow') !== null && el.getAttribute('aria-valuenow') === el.getAttribute('aria-valuemax'),
    options: el.tagName === 'SELECT' ? el.options.length : null,
    selected: el.tagName === 'SELECT' ? el.selectedIndex : null,
    cell: cell ? cells.indexOf(cell) + 1 : null,
  };
}"""


def digest(state: dict) -> tuple[str, str]:
    h = lambda s: hashlib.sha1(s.encode()).hexdigest()  # noqa: E731
    return h("\n".join(state["imgs"])), h(state["text"])


@dataclass
class Result:
    name: str
    moved: dict = field(default_factory=lambda: {k: 0 for k in CONTROLS})
    redrawn: dict = field(default_factory=lambda: {k: 0 for k in CONTROLS})
    seconds: float = 0.0
    run_all_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def run_all_finished(page) -> bool:
    """True once Run All has settled, the kernel is idle and no cell shows ``[*]``."""
    st = page.evaluate(RUN_STATE)
    if st["kernel"] in ("dead", "unknown") and st["done"] is not None:
        raise CheckFailed(f"kernel is {st['kernel']} after Run All")
    return st["done"] is not None and st["kernel"] == "idle" and st["busy"] == 0


def wait_widgets(panel, timeout_s: float = 60) -> int:
    """Until the controls have rendered (count > 0 and stable) and no 'Loading widget' is left."""
    t0, last, stable = time.time(), -1, 0
    while time.time() - t0 < timeout_s:
        n = sum(panel.locator(sel).count() for sel in CONTROLS.values())
        loading = panel.get_by_text("Loading widget").count()
        stable = stable + 1 if (n == last and n > 0 and not loading) else 0
        if stable >= 3:
            return n
        last = n
        time.sleep(0.5)
    return max(last, 0)


def wait_kernel_idle(page, timeout_s: float) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        if page.evaluate(RUN_STATE)["kernel"] == "idle":
            return
        time.sleep(0.2)


def move(page, el, kind: str, state: dict) -> bool:
    """Change the control's value by one user action; False if it cannot change (one option)."""
    if kind == "dropdown":
        if state["options"] < 2:
            return False
        el.select_option(index=(state["selected"] + 1) % state["options"])
        return True
    el.scroll_into_view_if_needed()
    el.focus()
    key = "ArrowLeft" if state["atMax"] else "ArrowRight"
    for _ in range(3):
        page.keyboard.press(key)
    return True


def check_controls(page, panel, server: LabServer, res: Result, shots: Path, redraw_timeout: float) -> None:
    for kind, sel in CONTROLS.items():
        items = panel.locator(sel)
        for i in range(items.count()):
            el = items.nth(i)
            el.scroll_into_view_if_needed()
            before = el.evaluate(WIDGET_STATE)
            where = f"{kind} {before['label']!r} (cell {before['cell']})"
            if not before["imgs"] and not before["text"].strip():
                res.problems.append(f"{where}: its widget shows no figure and no text before the move")
                continue
            log_at = server.log_size()
            iopub_at = page.evaluate("() => window.__hgsr.iopub.length")
            if not move(page, el, kind, before):
                print(f"    {where}: one option only, not moved")
                continue
            res.moved[kind] += 1
            figure = bool(before["imgs"])
            b_img, b_txt = digest(before)
            t0, after = time.time(), before
            while time.time() - t0 < redraw_timeout:
                time.sleep(0.3)
                after = el.evaluate(WIDGET_STATE)
                a_img, a_txt = digest(after)
                if (a_img != b_img) if figure else (a_txt != b_txt):
                    break
                if "Traceback" in "".join(page.evaluate("(n) => window.__hgsr.iopub.slice(n)", iopub_at)):
                    time.sleep(1)  # the rest of the traceback
                    a_img = a_txt = None
                    break
            else:
                a_img = a_txt = None
            wait_kernel_idle(page, redraw_timeout)
            changed = a_img is not None
            print(f"    {where}: {before['value']} -> {after['value']}: "
                  f"{'redrew its ' + ('figure' if figure else 'text') if changed else 'NO REDRAW'}")
            if changed:
                res.redrawn[kind] += 1
                continue
            shot = shots / f"{res.name}_{kind}{i}_no_redraw.png"
            try:
                el.locator("xpath=ancestor::div[contains(@class,'jp-OutputArea-output')][1]").screenshot(path=str(shot))
            except Exception:  # noqa: BLE001
                page.screenshot(path=str(shot))
            kernel = ANSI.sub("", "".join(page.evaluate("(n) => window.__hgsr.iopub.slice(n)", iopub_at)))
            server_err = [ln for ln in server.log_tail(since=log_at, lines=200).splitlines()
                          if ln.startswith(("[E", "[C")) or "Traceback" in ln or "Error" in ln]
            tb = [ln for ln in kernel.splitlines() + server_err if ln.strip()]
            what = "figure" if figure else "text"
            res.problems.append(
                f"{where}: moved {before['value']} -> {after['value']} but "
                + (f"the kernel raised and its {what} was not redrawn" if "Traceback" in kernel
                   else f"its {what} did not change within {redraw_timeout:.0f} s")
                + f" (screenshot {shot.relative_to(REPO) if shot.is_relative_to(REPO) else shot})"
                + ("; kernel stderr and server log since the move:\n      " + "\n      ".join(tb[-15:]) if tb else ""))


class NotebookCheck:
    """One notebook in its own browser context and workspace: ``start`` opens it and starts Run All
    (which goes on in the browser), ``poll`` says when it has finished, ``finish`` checks the cells and
    moves the controls, then closes the notebook and shuts its kernel down."""

    def __init__(self, browser, server: LabServer, path: Path, index: int, shots: Path, timeout_s: float,
                 redraw_timeout: float):
        self.server, self.path, self.shots = server, path, shots
        self.timeout_s, self.redraw_timeout = timeout_s, redraw_timeout
        self.res = Result(path.stem)
        self.t0 = time.time()
        self.log: list[str] = []
        self.page_errors: list[str] = []
        self.panel = None
        self.idle_since: float | None = None
        self.ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.ctx.new_page()
        self.page.on("pageerror", lambda e: self.page_errors.append(f"page error: {e}"))
        self.page.on("console", lambda m: self.page_errors.append(f"console {m.type}: {m.text}")
                     if m.type == "error" else None)
        self.url = (f"{server.base}/lab/workspaces/hgsr-check-{index}/tree/{path.name}"
                    f"?reset&token={server.token}")

    def _fail(self, e: Exception) -> None:
        if isinstance(e, CheckFailed):
            self.res.problems.append(str(e))
        else:  # a Playwright timeout etc.: report it for this notebook
            self.res.problems.append(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")

    def start(self) -> None:
        try:
            self.page.goto(self.url)
            self.page.wait_for_function(FIND_PANEL, arg=self.path.name, timeout=120_000)
            t_open = time.time() - self.t0
            self.panel = self.page.locator(f'[id="{self.page.evaluate(START_RUN_ALL)}"]')
            self.log.append(f"opened in {t_open:.0f} s, kernel ready and Run All started at "
                            f"{time.time() - self.t0:.0f} s")
        except Exception as e:  # noqa: BLE001
            self._fail(e)

    def poll(self) -> bool:
        """True when ``finish`` can go on: Run All done (idle for 1 s), failed, or timed out."""
        if self.res.problems:
            return True
        try:
            if run_all_finished(self.page):
                self.idle_since = self.idle_since or time.time()
                if time.time() - self.idle_since > 1.0:
                    self.res.run_all_seconds = self.idle_since - self.t0
                    return True
                return False
            self.idle_since = None
            if time.time() - self.t0 > self.timeout_s:
                st = self.page.evaluate(RUN_STATE)
                raise CheckFailed(f"Run All did not finish within {self.timeout_s:.0f} s (kernel {st['kernel']}, "
                                  f"{st['busy']} cell(s) still running)")
        except Exception as e:  # noqa: BLE001
            self._fail(e)
            return True
        return False

    def finish(self) -> Result:
        res, page = self.res, self.page
        print(f"  {res.name}")
        try:
            if not res.problems:
                self.log.append(f"Run All done at {res.run_all_seconds:.0f} s")
                print("    " + "; ".join(self.log))
                self.check_cells_and_controls()
        except Exception as e:  # noqa: BLE001
            self._fail(e)
        if res.problems:
            try:
                page.screenshot(path=str(self.shots / f"{res.name}.png"))
            except Exception:  # noqa: BLE001
                pass
            (self.shots / f"{res.name}.txt").write_text(
                "\n".join(res.problems + ["", "browser errors:"] + self.page_errors) + "\n")
        self.close()
        res.seconds = time.time() - self.t0
        for msg in res.problems:
            print(f"    FAIL: {msg}")
        print(f"    {res.seconds:.0f} s")
        return res

    def check_cells_and_controls(self) -> None:
        res = self.res
        rep = self.page.evaluate(CELL_REPORT)
        for e in rep["errors"]:
            tb = ANSI.sub("", e["traceback"]).strip().splitlines()
            res.problems.append(f"cell {e['cell']} (starting {e['source'][:60]!r}) raised {e['ename']}: "
                                f"{e['evalue']}\n      " + "\n      ".join(tb[-12:]))
        if rep["errors"]:
            return
        if rep["notRun"]:
            res.problems.append(f"cells {rep['notRun']} did not run")
        if wait_widgets(self.panel) == 0:
            res.problems.append("Run All finished but no slider or dropdown rendered (is the ipywidgets "
                                "extension loaded? did INTERACTIVE reach the widget cells?)")
            return
        check_controls(self.page, self.panel, self.server, res, self.shots, self.redraw_timeout)
        if sum(res.moved.values()) == 0:
            res.problems.append("no control could be moved")

    def close(self) -> None:
        """Close the notebook and shut its kernel down (before the next one opens)."""
        try:
            self.page.evaluate("() => window.jupyterapp && window.jupyterapp.commands.execute('docmanager:close-all')")
        except Exception:  # noqa: BLE001
            pass
        try:
            self.ctx.close()
        except Exception:  # noqa: BLE001
            pass
        self.server.shutdown_kernels(self.path.name)


def check_notebooks(browser, server: LabServer, paths: list[Path], shots: Path, jobs: int, timeout_s: float,
                    redraw_timeout: float) -> list[Result]:
    """Up to ``jobs`` notebooks run Run All at the same time (each kernel on its own core); the
    controls are moved one notebook at a time, in the order the Run Alls finish."""
    pending, active, results = list(enumerate(paths)), [], []
    while pending or active:
        while pending and len(active) < jobs:
            i, p = pending.pop(0)
            check = NotebookCheck(browser, server, p, i, shots, timeout_s, redraw_timeout)
            check.start()
            active.append(check)
        ready = next((c for c in active if c.poll()), None)
        if ready is None:
            time.sleep(0.5)
            continue
        active.remove(ready)
        results.append(ready.finish())
    return sorted(results, key=lambda r: r.name)


def table(results: list[Result]) -> str:
    rows = [("notebook", "sliders moved", "redrawn", "dropdowns moved", "redrawn", "open+run all s", "total s",
             "status")]
    for r in results:
        rows.append((r.name, str(r.moved["slider"]), str(r.redrawn["slider"]), str(r.moved["dropdown"]),
                     str(r.redrawn["dropdown"]), f"{r.run_all_seconds:.0f}", f"{r.seconds:.0f}", "FAIL" if r.problems else "ok"))
    w = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(row)) for row in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", help="notebook prefixes or names (default: every widget notebook)")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    ap.add_argument("--out", default=str(REPO / "build" / "browser"), help="screenshots, error text, server log")
    ap.add_argument("--runs", default=None, help="HGSR_RUNS for the kernels (default <out>/runs, kept between "
                                                  "checks; the repository's runs/ is never used)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds for one notebook's Run All")
    ap.add_argument("--redraw-timeout", type=float, default=60, help="seconds for a widget to redraw")
    ap.add_argument("--jobs", type=int, default=2, help="notebooks whose Run All goes on at the same time")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops the server
    t_start = time.time()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("*.png")) + list(out.glob("*.txt")):
        old.unlink()
    runs = Path(args.runs).resolve() if args.runs else out / "runs"
    if not Path(args.chromium).exists():
        print(f"lab_check: no Chromium at {args.chromium} (apt-get install chromium, or pass --chromium / "
              f"set CHROMIUM)", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("lab_check: Playwright is missing: pip install -e '.[browser]'", file=sys.stderr)
        return 2
    try:
        paths = select_notebooks(args.only)
    except CheckFailed as e:
        print(f"lab_check: FAILED: {e}", file=sys.stderr)
        return 1

    tmp = Path(tempfile.mkdtemp(prefix="hgsr-lab-"))
    root = tmp / "notebooks"
    root.mkdir()
    results: list[Result] = []
    try:
        copies = [write_smoke_copy(p, root, tmp / "figures") for p in paths]
        print(f"lab_check: {len(copies)} widget notebook(s): {', '.join(p.stem for p in copies)}; "
              f"smoke copies in {root}, HGSR_RUNS={runs}")
        with LabServer(root, runs, out / "jupyter-server.log") as server:
            print(f"lab_check: JupyterLab at {server.base} (started in {time.time() - t_start:.0f} s)")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_FLAGS)
                try:
                    results = check_notebooks(browser, server, copies, out, args.jobs, args.timeout,
                                              args.redraw_timeout)
                finally:
                    browser.close()
    except CheckFailed as e:
        print(f"lab_check: FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(table(results))
    failed = [r for r in results if r.problems]
    print(f"\nlab_check: {time.time() - t_start:.0f} s in all")
    if failed:
        print(f"lab_check: FAILED in {', '.join(r.name for r in failed)}; screenshots, error text and the "
              f"server log are in {out}", file=sys.stderr)
        return 1
    (out / "jupyter-server.log").unlink(missing_ok=True)
    print("lab_check: every notebook ran without error and every slider and dropdown redrew its widget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
