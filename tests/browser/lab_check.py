"""Open notebooks in a real JupyterLab in headless Chromium, *Run All*, move every slider, and check
that each widget redraws its figure and that no cell raised. Not part of pytest (it needs a browser,
a running JupyterLab and a few minutes); run it by hand after installing Chromium and Playwright:

    apt-get install chromium && python -m venv /tmp/pw && /tmp/pw/bin/pip install playwright
    .venv/bin/jupyter lab --no-browser --port 8899 --IdentityProvider.token=hgsr --notebook-dir notebooks &
    /tmp/pw/bin/python tests/browser/lab_check.py 01_penalties_and_proximal_operators 02_baselines ...

Screenshots of each notebook before and after moving the sliders go to ``--shots`` (default
``build/lab_check``). Exit status 1 if any notebook raised or any widget did not redraw.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

RUN_ALL = "notebook:run-all-cells"


def wait_idle(page, timeout_s: float) -> None:
    """Until no cell shows the busy prompt ``[*]`` and the kernel reports Idle."""
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        busy = page.locator(".jp-InputPrompt", has_text="[*]").count()
        idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() or \
            page.get_by_text("Idle").count()
        if busy == 0 and idle:
            return
        time.sleep(1)
    raise TimeoutError(f"notebook still busy after {timeout_s:.0f} s")


def output_digest(page) -> str:
    """A hash of every image currently shown in widget outputs (changes when a widget redraws)."""
    srcs = page.locator(".jp-OutputArea-output .widget-output img, .jupyter-widgets-output-area img")
    return hashlib.sha1("".join(srcs.nth(i).get_attribute("src") or "" for i in range(srcs.count()))
                        .encode()).hexdigest()


def check(page, base: str, name: str, shots: Path, timeout_s: float) -> list[str]:
    problems = []
    page.goto(f"{base}/lab/tree/{name}.ipynb?token=hgsr")
    page.wait_for_selector(".jp-Notebook", timeout=120_000)
    time.sleep(5)
    page.evaluate(f"window.jupyterapp && window.jupyterapp.commands.execute('{RUN_ALL}')")
    if not page.evaluate("!!window.jupyterapp"):
        page.get_by_text("Run", exact=True).first.click()
        page.get_by_text("Run All Cells", exact=True).click()
    time.sleep(3)
    wait_idle(page, timeout_s)
    page.screenshot(path=str(shots / f"{name}_ran.png"), full_page=True)
    errors = page.locator(".jp-OutputArea-output", has_text="Traceback")
    if errors.count():
        problems.append(f"{name}: {errors.count()} cell(s) raised: {errors.first.inner_text()[:300]}")
    sliders = page.locator(".widget-slider .noUi-handle, .widget-hslider .noUi-handle")
    n = sliders.count()
    print(f"{name}: {n} slider(s)")
    for i in range(n):
        before = output_digest(page)
        h = sliders.nth(i)
        h.scroll_into_view_if_needed()
        h.focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        time.sleep(0.5)
        wait_idle(page, timeout_s)
        time.sleep(2)
        after = output_digest(page)
        print(f"  slider {i}: {'redrew' if after != before else 'NO CHANGE'}")
        if after == before:
            problems.append(f"{name}: slider {i} did not change any widget figure")
    page.screenshot(path=str(shots / f"{name}_moved.png"), full_page=True)
    if n == 0 and "01_" in name:
        problems.append(f"{name}: no slider rendered")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--url", default="http://localhost:8899")
    ap.add_argument("--shots", default="build/lab_check")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name in args.notebooks:
            t0 = time.time()
            try:
                problems += check(page, args.url, name, shots, args.timeout)
            except Exception as exc:  # noqa: BLE001 - report and go on to the next notebook
                problems.append(f"{name}: {type(exc).__name__}: {exc}")
            print(f"{name}: {time.time() - t0:.0f} s")
        browser.close()
    print("\n".join(problems) if problems else "all notebooks ran and every slider redrew its figure")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
