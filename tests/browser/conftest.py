"""Fixtures of the browser tests: the built book served on loopback, Chromium, axe-core."""

from __future__ import annotations

import filecmp
import functools
import json
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from book_site import CHROMIUM, CHROMIUM_ARGS, HTML, ROOT, require_build

AXE_PINNED = ROOT / "scripts" / "axe"          # package.json + package-lock.json (version and hash)
AXE_INSTALL = ROOT / "_build" / ".axe-npm"     # `npm ci` installs it here, once per lock file


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site():
    require_build()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(HTML)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_system_deps.sh (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # A new browser per session: Playwright gives it a fresh, empty profile in a temporary folder.
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _install_axe() -> Path:
    """axe-core as pinned in scripts/axe/package-lock.json, installed with `npm ci` (checks the hash)."""
    script = AXE_INSTALL / "node_modules" / "axe-core" / "axe.min.js"
    lock = AXE_PINNED / "package-lock.json"
    installed_lock = AXE_INSTALL / "package-lock.json"
    if script.is_file() and installed_lock.is_file() and filecmp.cmp(lock, installed_lock, shallow=False):
        return script
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed (once) to install axe-core for the browser tests: apt-get install npm")
    shutil.rmtree(AXE_INSTALL, ignore_errors=True)
    AXE_INSTALL.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(AXE_PINNED / name, AXE_INSTALL / name)
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
        cwd=AXE_INSTALL, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0 or not script.is_file():
        shutil.rmtree(AXE_INSTALL, ignore_errors=True)  # no half-installed copy is taken for a good one
        pytest.fail(f"npm ci of axe-core failed in {AXE_INSTALL}:\n{result.stdout}\n{result.stderr}")
    return script


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """Path of the pinned axe.min.js; the tests inject it into each page (never loaded from a CDN)."""
    script = _install_axe()
    pinned = json.loads((AXE_PINNED / "package-lock.json").read_text(encoding="utf8"))
    want = pinned["packages"]["node_modules/axe-core"]["version"]
    got = json.loads((script.parent / "package.json").read_text(encoding="utf8"))["version"]
    assert got == want, f"{script} is axe-core {got}, the lock file pins {want}"
    return script
