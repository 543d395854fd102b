"""The built web book, as a reader meets it: in Debian's Chromium, and as plain HTML.

Needs a built book (`make book`, which `make test` runs before these tests) and /usr/bin/chromium
(`scripts/install_system_deps.sh`). The site is served from _build/html on 127.0.0.1; every request to
another host is blocked and reported. Each tutorial with its answers opened is photographed into
_build/screenshots/ (test_reading.py takes every page at both widths, light and dark).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import yaml
from book_site import (
    HTML,
    PAGES,
    ROOT,
    TUTORIALS,
    block_other_hosts,
    is_loopback,
    require_build,
    screenshot,
    wait_until_drawn,
)
from bs4 import BeautifulSoup

COLAB = "https://colab.research.google.com/github/"


def _source_notebook(name: str) -> dict:
    return json.loads((ROOT / f"{name}.ipynb").read_text(encoding="utf8"))


def _expected_counts(name: str) -> tuple[int, int]:
    """(solution toggles, answer dropdowns) the page's source notebook asks for."""
    if not name.startswith("book/tutorials/"):
        return 0, 0
    cells = _source_notebook(name)["cells"]
    toggles = sum(
        1 for c in cells if c["cell_type"] == "code" and "hide-input" in c.get("metadata", {}).get("tags", [])
    )
    fence = re.compile(r"^\s*(`{3,}|:{3,})\{dropdown\}", re.MULTILINE)
    dropdowns = sum(
        len(fence.findall("".join(c["source"]) if isinstance(c["source"], list) else c["source"]))
        for c in cells
        if c["cell_type"] == "markdown"
    )
    return toggles, dropdowns


def _colab_url(name: str) -> str:
    """The Colab address of a tutorial's student notebook, from _config.yml's repository block.

    The path is from the repository's top folder (where _config.yml and book/ are).
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    repo = config["repository"]
    owner_repo = urlsplit(repo["url"]).path.strip("/").removesuffix(".git")
    return f"{COLAB}{owner_repo}/blob/{repo['branch']}/book/student/{Path(name).name}.ipynb"


# --------------------------------------------------------------------------------------------------
# Plain HTML: no browser needed


@pytest.fixture(scope="module", params=PAGES)
def soup(request):
    require_build()
    path = HTML / f"{request.param}.html"
    assert path.is_file(), f"{path} was not built (it is in _toc.yml)"
    return request.param, BeautifulSoup(path.read_text(encoding="utf8"), "html.parser")


# An exception's last line as Python prints it: "ValueError: ...", "KeyboardInterrupt", ...
EXCEPTION_LINE = re.compile(r"^\s*[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b(:|$)", re.MULTILINE)


def test_no_errors_in_cell_outputs(soup):
    name, doc = soup
    # myst-nb's classes for a traceback and for stderr (the build removes stderr; this catches a change).
    bad_blocks = doc.select(".cell_output .traceback, .cell_output .stderr, .cell_output .error")
    assert not bad_blocks, f"{name}: error/stderr output blocks: {[b.get_text()[:200] for b in bad_blocks]}"
    for out in doc.select("div.cell_output"):
        text = out.get_text()
        for marker in ("Traceback (most recent call last)", "NotImplementedError"):
            assert marker not in text, f"{name}: a cell output contains {marker!r}:\n{text[:500]}"
        match = EXCEPTION_LINE.search(text)
        assert not match, f"{name}: a cell output prints an exception: {match.group(0)!r}\n{text[:500]}"


def test_tutorial_pages_show_their_figures(soup):
    """Figures drawn by cells reach the page (a non-inline matplotlib backend would draw nothing)."""
    name, doc = soup
    if name not in TUTORIALS:
        return
    figures = doc.select(".cell_output img")
    assert figures, f"{name}: no cell drew a figure on the page"


def _has_description(img) -> bool:
    alt = (img.get("alt") or "").strip()
    src = img.get("src") or ""
    # Sphinx writes the image's own address as alt when none is given: that is no description.
    meaningful_alt = bool(alt) and alt != src and not re.search(r"\.(png|jpe?g|svg|gif)$", alt, re.I)
    figure = img.find_parent("figure")
    caption = figure.find("figcaption") if figure else None
    return meaningful_alt or bool(caption and caption.get_text(strip=True))


def test_every_image_has_alt_text_or_caption(soup):
    name, doc = soup
    main = doc.select_one("main") or doc
    missing = [img.get("src") for img in main.find_all("img") if not _has_description(img)]
    assert not missing, (
        f"{name}: images without alt text or caption: {missing}. For a figure a cell draws, add cell "
        'metadata {"mystnb": {"image": {"alt": "..."}}} or {"mystnb": {"figure": {"caption": "..."}}}.'
    )


def test_page_loads_nothing_from_another_host(soup):
    name, doc = soup
    remote = [
        tag.get("src") or tag.get("href")
        for tag in doc.find_all(["script", "link", "img", "iframe", "source", "video", "audio"])
        if urlsplit(tag.get("src") or tag.get("href") or "").netloc
        and not (tag.name == "link" and tag.get("rel") in (["canonical"], ["alternate"]))
    ]
    assert not remote, f"{name} loads from another host: {remote}"


def test_math_is_rendered_by_the_local_mathjax(soup):
    name, doc = soup
    if not doc.select(".math"):
        return
    scripts = [s.get("src", "") for s in doc.find_all("script") if "mathjax" in s.get("src", "").lower()]
    assert scripts, f"{name} has math but loads no MathJax"
    for src in scripts:
        target = (HTML / name).parent / urlsplit(src).path
        assert target.resolve().is_file(), f"{name}: MathJax script {src} is not in the build"


def test_top_level_index_redirects_to_the_landing_page():
    require_build()
    text = (HTML / "index.html").read_text(encoding="utf8")
    assert f"url={PAGES[0]}.html" in text, text


# --------------------------------------------------------------------------------------------------
# In Chromium


@dataclass
class Visit:
    name: str
    url: str
    page: object
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    bad_status: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)


@pytest.fixture(scope="module", params=PAGES)
def visit(request, browser, site):
    name = request.param
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    v = Visit(name=name, url=urljoin(site, f"{name}.html"), page=page)

    block_other_hosts(context, v.external)
    page.on(
        "console",
        lambda msg: msg.type == "error" and v.console_errors.append(f"{msg.text} @ {msg.location['url']}"),
    )
    page.on("pageerror", lambda exc: v.console_errors.append(f"uncaught: {exc}"))
    page.on(
        "requestfailed",
        lambda req: is_loopback(req.url) and v.failed.append(f"{req.url}: {req.failure}"),
    )
    page.on("response", lambda resp: resp.status >= 400 and v.bad_status.append(f"{resp.status} {resp.url}"))

    page.goto(v.url, wait_until="load")
    wait_until_drawn(page)
    yield v
    context.close()


def test_every_image_loaded(visit):
    images = visit.page.evaluate(
        "() => [...document.images]"
        ".map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0}))"
    )
    broken = [i["src"] for i in images if not i["ok"]]
    assert not broken, f"{visit.name}: images that did not load: {broken}"
    if visit.name in TUTORIALS:
        assert images, f"{visit.name}: a tutorial page shows no image at all (not even its Colab badge)"


def test_math_rendered(visit):
    page = visit.page
    n_math = page.locator(".math").count()
    if not n_math:
        return
    unrendered = page.evaluate(
        "() => [...document.querySelectorAll('.math')].filter(m => !m.querySelector('mjx-container'))"
        ".map(m => m.textContent.slice(0, 80))"
    )
    assert not unrendered, f"{visit.name}: math MathJax did not render: {unrendered}"
    assert page.locator("mjx-merror").count() == 0, f"{visit.name}: MathJax reports a TeX error"
    # The CommonHTML output really draws glyphs: a rendered formula has a size.
    box = page.locator(".math mjx-container").first.bounding_box()
    assert box and box["width"] > 0 and box["height"] > 0


def _open_each(visit, details_selector, content_selector, expected, what):
    """Each ``<details>`` hides its content until its summary is clicked, then opens on non-empty text."""
    page = visit.page
    details = page.locator(details_selector)
    found = details.count()
    assert found == expected, f"{visit.name}: {found} {what}s, but the source notebook asks for {expected}"
    for i in range(expected):
        item = details.nth(i)
        content = item.locator(content_selector).first
        assert not content.is_visible(), f"{visit.name}: {what} {i} is shown before any click"
        item.locator("summary").first.click()
        assert item.get_attribute("open") is not None, f"{visit.name}: {what} {i} did not open"
        content.wait_for(state="visible", timeout=5_000)
        assert content.inner_text().strip(), f"{visit.name}: {what} {i} opened on nothing"


def test_solution_toggles_open_and_show_code(visit):
    expected, _ = _expected_counts(visit.name)  # cells tagged hide-input
    _open_each(visit, "details.hide.above-input", "div.cell_input pre", expected, "solution toggle")


def test_answer_dropdowns_open(visit):
    _, expected = _expected_counts(visit.name)  # {dropdown} answers
    _open_each(visit, "details.sd-dropdown", ".sd-summary-content", expected, "answer dropdown")
    if expected:
        screenshot(visit.page, visit.name, "-opened")


def test_colab_link_opens_this_pages_student_notebook(visit):
    links = visit.page.eval_on_selector_all(f'a[href^="{COLAB}"]', "els => els.map(e => e.href)")
    if visit.name not in TUTORIALS:
        return
    assert links, f"{visit.name}: no Open-in-Colab link"
    want = _colab_url(visit.name)
    assert set(links) == {want}, f"{visit.name}: Colab links {links}, expected {want}"
    assert (ROOT / "book" / "student" / f"{Path(visit.name).name}.ipynb").is_file()


def test_download_link_serves_the_student_notebook(visit):
    links = visit.page.eval_on_selector_all("a.reference.download", "els => els.map(e => e.href)")
    if visit.name not in TUTORIALS:
        return
    student = ROOT / "book" / "student" / f"{Path(visit.name).name}.ipynb"
    ours = [href for href in links if href.endswith(f"/{student.name}")]
    assert ours, f"{visit.name}: no download link to {student.name} (links: {links})"
    for href in ours:
        response = visit.page.request.get(href)
        assert response.status == 200, f"{href}: HTTP {response.status}"
        assert response.body() == student.read_bytes(), f"{href} is not book/student/{student.name}"


def test_no_console_errors_no_failed_or_outside_requests(visit):
    # Runs after the clicks above (same page), so errors they caused are counted too.
    assert not visit.external, f"{visit.name}: requests to other hosts: {visit.external}"
    assert not visit.failed, f"{visit.name}: failed requests: {visit.failed}"
    assert not visit.bad_status, f"{visit.name}: HTTP errors: {visit.bad_status}"
    assert not visit.console_errors, f"{visit.name}: console errors: {visit.console_errors}"


def test_book_exercises_every_interactive_check():
    """The per-page checks above count what each notebook asks for; make sure that is not nothing."""
    require_build()
    assert TUTORIALS, "_toc.yml lists no tutorial pages"
    counts = [_expected_counts(name) for name in TUTORIALS]
    assert sum(t for t, _ in counts) > 0, "no solution toggle (hide-input cell) in any tutorial"
    assert sum(d for _, d in counts) > 0, "no {dropdown} answer in any tutorial"
    assert any(
        BeautifulSoup((HTML / f"{name}.html").read_text(encoding="utf8"), "html.parser").select(".math")
        for name in PAGES
    ), "no page of the book has any math, so the MathJax check tests nothing"
