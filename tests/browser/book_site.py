"""What the browser tests share: where the built book is, its pages in reading order, the browser.

The site is served from _build/html on 127.0.0.1 (fixture ``site`` in conftest.py); every request to
another host is blocked and reported. Screenshots go to _build/screenshots/, for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def toc_pages() -> list[str]:
    """Document names in reading order, from _toc.yml (root, then chapters)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
    names = [toc["root"]]
    for chapter in toc.get("chapters", []):
        names.append(chapter["file"])
    return [re.sub(r"\.(md|ipynb)$", "", name) for name in names]


PAGES = toc_pages()
TUTORIALS = [name for name in PAGES if name.startswith("book/tutorials/")]


def require_build() -> None:
    if not (HTML / "index.html").is_file():
        pytest.fail(
            f"{HTML / 'index.html'} is missing: run `make book` first (or `make test`, which builds it)"
        )


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or (parts.hostname or "") in LOOPBACK


def block_other_hosts(context, blocked: list[str]) -> None:
    """Let a browser context reach only this machine; every other address is aborted and noted."""

    def route(route):
        if is_loopback(route.request.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("blockedbyclient")

    context.route("**/*", route)


def wait_until_drawn(page) -> None:
    """Wait for the network to settle, MathJax to finish typesetting and every image to decode."""
    page.wait_for_load_state("networkidle")
    if page.locator(".math").count():
        page.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000
        )
        page.evaluate("() => MathJax.startup.promise")
    # Bring every image in (in case any loads lazily), then wait for all to decode.
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    page.evaluate("() => Promise.all([...document.images].map(i => i.decode().catch(() => null)))")


def screenshot(page, name: str, suffix: str = "") -> Path:
    """A full-page PNG of ``page`` in _build/screenshots/, named after the page and ``suffix``."""
    # From the top and with nothing focused, so the sticky header and the skip link stay out of the way.
    page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name.replace('/', '_')}{suffix}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
