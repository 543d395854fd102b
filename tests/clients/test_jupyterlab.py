"""A student's first session, in real JupyterLab from .venv, driven in Debian's Chromium.

The test starts `jupyter lab` on 127.0.0.1 with a token (from .venv, as `make lab` does) on a copy of the
student notebooks, opens Tutorial 1 and runs all its cells as a student would (Run > Run All Cells).
The exercise cell only defines, its check says "not done yet", and the run must stop at the cell after
the check, with a short message naming the exercise and nothing after it run. The first hint opens on
a click. Then the test types the solution into the exercise cell, runs it and its check, expects the
check's ✓ line, and runs the cell that uses it. Screenshots go to _build/screenshots/lab/.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "_build" / "screenshots" / "lab"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NOTEBOOK = "01_decoding.ipynb"
FIRST_EXERCISE = "preferred_orientation"
RUN_ALL_TIMEOUT_MS = 300_000  # data generation and the first training run happen before the exercise
MAX_TRACEBACK_LINES = 15

playwright_sync = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _exercise_cells(path: Path) -> list[tuple[int, str]]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(i, c["metadata"]["exercise"]) for i, c in enumerate(cells) if "exercise" in c["metadata"]]


def _solution_source(exercise: str) -> str:
    """What a student who got it right would have in the exercise cell: the solution cell itself."""
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell.get("metadata", {}).get("exercise") == exercise:
                source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                return "\n".join(
                    line for line in source.split("\n")
                    if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION")
                )
    raise AssertionError(f"no solution cell for exercise {exercise!r} in solutions/")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not (VENV_BIN / "jupyter-lab").exists():
        pytest.fail("JupyterLab is not in .venv: `make venv` installs it (requirements.txt pins it)")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/install_system_deps.sh installs Debian's chromium")
    home = tmp_path_factory.mktemp("lab")
    work = home / "student"
    shutil.copytree(ROOT / "book" / "student", work)
    port, token = _free_port(), secrets.token_hex(16)
    # Every cell in the page, so that the test can find them by position (JupyterLab otherwise renders
    # only the cells near the viewport).
    settings = home / "lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
        "NMA_DECODING_DATA": "synthetic",
        "NMA_DECODING_PROGRESS": "0",
        "NMA_DECODING_CACHE": str(home / "cache"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("MPLBACKEND", None)  # figures must draw inline, as for a student
    log = open(home / "lab.log", "w")  # noqa: SIM115 - closed after the server stops
    server = subprocess.Popen(
        [str(VENV_BIN / "jupyter-lab"), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(f"jupyter lab did not start:\n{(home / 'lab.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield {"base": base, "token": token, "work": work}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def page(lab):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_sync.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        off_loopback = []

        def only_loopback(route):
            if route.request.url.startswith(lab["base"]) or route.request.url.startswith("data:"):
                route.continue_()
            else:
                off_loopback.append(route.request.url)
                route.abort()

        context.route("**/*", only_loopback)
        tab = context.new_page()
        tab.goto(f"{lab['base']}/lab/tree/{NOTEBOOK}?token={lab['token']}")
        n_cells = len(json.loads((lab["work"] / NOTEBOOK).read_text(encoding="utf-8"))["cells"])
        tab.wait_for_function(f"document.querySelectorAll('.jp-Notebook .jp-Cell').length === {n_cells}",
                              timeout=120_000)
        _wait_idle(tab, 180_000)  # the kernel has started and connected
        tab.locator(".jp-Notebook .jp-Cell").first.click()
        yield tab
        browser.close()
        assert not off_loopback, f"JupyterLab asked for addresses off this machine: {off_loopback[:5]}"


def _wait_idle(page, timeout_ms: int) -> None:
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").first.wait_for(timeout=timeout_ms)


def _run_all(page) -> None:
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def test_run_all_stops_at_the_first_exercise_with_its_message(page, lab):
    index, name = _exercise_cells(lab["work"] / NOTEBOOK)[0]
    assert name == FIRST_EXERCISE
    _run_all(page)
    stop = index + 2  # define, check, use: the use cell is the one that needs the exercise
    message = page.locator(".jp-Cell").nth(stop).locator(".jp-OutputArea-output")
    message.get_by_text(f"Exercise '{name}' is not done yet").first.wait_for(timeout=RUN_ALL_TIMEOUT_MS)
    _wait_idle(page, 60_000)
    page.locator(".jp-Cell").nth(stop).scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "01_run_all_stops_at_exercise.png"))
    shown = message.inner_text().strip().split("\n")
    assert "NotImplementedError" in shown[-1] and f"Exercise '{name}'" in shown[-1], shown
    assert len(shown) <= MAX_TRACEBACK_LINES, shown
    exercise_output = page.locator(".jp-Cell").nth(index).locator(".jp-OutputArea-output")
    assert exercise_output.count() == 0, "the exercise cell only defines: it shows nothing"
    check = page.locator(".jp-Cell").nth(index + 1).locator(".jp-OutputArea-output")
    assert f"{name}: not done yet" in check.inner_text()
    index = stop
    # Nothing after the stop ran: every later code cell has no execution count.
    later = page.locator(".jp-CodeCell").filter(has=page.locator(".jp-InputPrompt"))
    counts = later.evaluate_all("cells => cells.map(c => c.querySelector('.jp-InputPrompt').textContent)")
    code_indices = page.locator(".jp-Cell").evaluate_all(
        "cells => cells.map((c, i) => c.classList.contains('jp-CodeCell') ? i : -1).filter(i => i >= 0)"
    )
    after = [count for cell, count in zip(code_indices, counts, strict=True) if cell > index]
    assert after and all(count.strip() in ("[ ]:", "") for count in after), after[:5]


def test_the_first_hint_opens_on_a_click(page, lab):
    index, _ = _exercise_cells(lab["work"] / NOTEBOOK)[0]
    cells = json.loads((lab["work"] / NOTEBOOK).read_text(encoding="utf-8"))["cells"]
    first_hint = next(i for i in range(index) if "<summary>Hint 1</summary>" in "".join(cells[i]["source"]))
    hint = page.locator(".jp-Cell").nth(first_hint)
    hint.scroll_into_view_if_needed()
    details = hint.locator(".jp-RenderedMarkdown details")
    assert details.count() == 1 and details.get_attribute("open") is None
    hidden_text = details.locator("p").first
    assert not hidden_text.is_visible()
    details.locator("summary", has_text="Hint 1").click()
    hidden_text.wait_for(state="visible", timeout=10_000)
    assert "Where to look" in hidden_text.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "03_first_hint_open.png"))


def test_a_solved_exercise_passes_its_check(page, lab):
    index, name = _exercise_cells(lab["work"] / NOTEBOOK)[0]
    cell = page.locator(".jp-Cell").nth(index)
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(_solution_source(name))
    page.keyboard.press("Shift+Enter")  # runs the exercise cell, moves to its check cell
    page.locator(".jp-Cell").nth(index).locator(".jp-InputPrompt", has_text="[*]").wait_for(
        state="detached", timeout=120_000)
    _wait_idle(page, 120_000)
    page.keyboard.press("Shift+Enter")  # runs the check
    check = page.locator(".jp-Cell").nth(index + 1)
    check.get_by_text(f"✓ {name} looks right").wait_for(timeout=120_000)
    check.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "02_solved_exercise_passes.png"))
    _wait_idle(page, 60_000)
    page.keyboard.press("Shift+Enter")  # runs the cell that uses it: now it draws its figure
    use = page.locator(".jp-Cell").nth(index + 2)
    use.locator(".jp-OutputArea-output img").first.wait_for(timeout=120_000)
    _wait_idle(page, 60_000)
    assert use.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert "Error" not in use.locator(".jp-OutputArea").inner_text()
    use.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "04_use_cell_runs.png"))
