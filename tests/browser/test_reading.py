"""Every page of the book as a reader sees it: 1280 px (desktop) and 390 px (phone) wide, light and dark.

- axe-core (pinned in scripts/axe/, injected from the local copy) finds no violation, solutions and
  answers closed and opened; any tolerated one is listed in TOLERATED with its reason;
- the page is never wider than the window;
- every figure a cell draws is a link to its full-size image, reachable with the keyboard;
- a figure or display equation wider than its column scrolls sideways with a visible fade and chevron
  on the side that hides more (book/_static/book.js and book.css);
- a screenshot of each view goes to _build/screenshots/<page>-<width>-<mode>.png.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

import pytest
from book_site import PAGES, TUTORIALS, block_other_hosts, screenshot, wait_until_drawn

DESKTOP, PHONE = 1280, 390
MODES = ("light", "dark")
VIEWS = [(name, width, mode) for name in PAGES for width in (DESKTOP, PHONE) for mode in MODES]
# The width of the text column at 1280 px. On a phone a figure keeps (up to its own size) the width it
# has there, so its text stays as large (book.css: --nma-figure-min-width).
DESKTOP_COLUMN_PX = 688

# axe-core violations tolerated, rule id -> why. Only of impact moderate or minor, and only where the
# theme makes them and the book cannot change it (a tolerated rule of impact serious or critical still
# fails). None today.
TOLERATED: dict[str, str] = {}
BLOCKING = {"serious", "critical"}

FIGURES = ".bd-article .cell_output img, .bd-article figure img"
EQUATIONS = '.bd-article div.math mjx-container[display="true"]'


@dataclass
class View:
    name: str
    width: int
    mode: str
    page: object
    external: list[str] = field(default_factory=list)


@pytest.fixture(scope="module", params=VIEWS, ids=lambda v: f"{v[0].split('/')[-1]}-{v[1]}-{v[2]}")
def view(request, browser, site):
    name, width, mode = request.param
    # Reduced motion: the fades appear at once, so their opacity can be read right after a scroll.
    context = browser.new_context(
        viewport={"width": width, "height": 900}, color_scheme=mode, reduced_motion="reduce"
    )
    # The theme starts in the mode stored by its colour-mode button.
    context.add_init_script(f"localStorage.setItem('mode', '{mode}')")
    v = View(name=name, width=width, mode=mode, page=context.new_page())
    block_other_hosts(context, v.external)
    v.page.goto(urljoin(site, f"{name}.html"), wait_until="load")
    wait_until_drawn(v.page)
    screenshot(v.page, name, f"-{width}-{mode}")
    yield v
    context.close()


def test_page_is_in_the_colour_mode_asked_for(view):
    shown = view.page.evaluate("() => ({...document.documentElement.dataset})")
    assert shown["mode"] == shown["theme"] == view.mode, f"{view.name}: asked for {view.mode}, got {shown}"
    assert not view.external, f"{view.name}: requests to other hosts: {view.external}"


def _axe_problems(page) -> list[str]:
    """Violations axe-core finds on the page as it is now, that are not tolerated, one line each."""
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    problems = []
    for violation in result["violations"]:
        if violation["id"] in TOLERATED and violation["impact"] not in BLOCKING:
            continue
        targets = [" ".join(node["target"]) for node in violation["nodes"]]
        problems.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets[:5]}")
    return problems


def test_axe_finds_no_violation(view, axe_script):
    page = view.page
    page.add_script_tag(path=str(axe_script))
    closed = _axe_problems(page)
    # Solutions and answers opened: their code, text and the toggles' "Hide ..." names are audited too.
    n_details = page.evaluate(
        "() => { const d = [...document.querySelectorAll('.bd-article details:not([open])')];"
        " d.forEach(e => e.open = true); return d.length; }"
    )
    # Their contents fade in (the theme's animation): audit the colours they end with.
    page.evaluate(
        "() => Promise.all(document.getAnimations()"
        ".filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity).map(a => a.finished))"
    )
    opened = _axe_problems(page) if n_details else []
    page.evaluate("() => document.querySelectorAll('.bd-article details[open]').forEach(e => e.open = false)")
    where = f"{view.name} at {view.width} px, {view.mode}"
    assert not closed, f"{where}: axe-core violations:\n" + "\n".join(closed)
    assert not opened, f"{where}, every <details> opened: axe-core violations:\n" + "\n".join(opened)


def test_page_is_no_wider_than_the_window(view):
    sizes = view.page.evaluate(
        "() => ({page: document.documentElement.scrollWidth, window: document.documentElement.clientWidth})"
    )
    assert sizes["page"] <= sizes["window"], f"{view.name} at {view.width} px scrolls sideways: {sizes}"


def _figures(page) -> list[dict]:
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].map(img => {
            const link = img.closest('a'), scroller = img.closest('.nma-scroll');
            const style = getComputedStyle(img), px = (p) => parseFloat(style[p]);
            // Drawn width of the image's box: its own pixels plus padding and border (dark mode
            // puts a light margin round each figure).
            const box = px('paddingLeft') + px('paddingRight')
                + px('borderLeftWidth') + px('borderRightWidth');
            return {src: img.src, alt: img.alt, link: link && link.href,
                    linkClass: link && link.className, natural: img.naturalWidth + box,
                    shown: img.getBoundingClientRect().width,
                    column: scroller && scroller.clientWidth};
        })""",
        FIGURES,
    )


def test_every_figure_opens_full_size(view):
    page = view.page
    figures = _figures(page)
    if view.name in TUTORIALS:
        assert figures, f"{view.name}: no figure on a tutorial page"
    for figure in figures:
        assert figure["link"] == figure["src"] and "nma-figure-link" in figure["linkClass"], (
            f"{view.name}: figure {figure['alt']!r} is not a link to its own image: {figure}"
        )
        response = page.request.get(figure["link"])
        assert response.status == 200 and response.headers["content-type"].startswith("image/"), figure
    if not figures or (view.width, view.mode) != (DESKTOP, "light"):
        return
    # With the keyboard: the link takes the focus and Enter opens the image itself.
    reader = page.context.new_page()
    reader.goto(page.url, wait_until="load")
    link = reader.locator("a.nma-figure-link").first
    link.focus()
    assert reader.evaluate("() => document.activeElement.classList.contains('nma-figure-link')")
    with reader.expect_navigation():
        reader.keyboard.press("Enter")
    assert reader.url == figures[0]["link"]
    reader.close()


def test_figures_fit_the_column_or_keep_their_desktop_size(view):
    for figure in _figures(view.page):
        where = f"{view.name} at {view.width} px: figure {figure['alt'][:60]!r}"
        if view.width == DESKTOP:
            # The page's column, less myst-nb's 16 px output padding where the image sits in an output.
            assert figure["column"] in (DESKTOP_COLUMN_PX, DESKTOP_COLUMN_PX - 16), (
                f"{where}: text column {figure['column']} px"
            )
            assert figure["shown"] == pytest.approx(min(figure["natural"], figure["column"]), abs=1), where
        else:
            # As large as at 1280 px (not shrunk to the phone's column), the rest scrolls sideways.
            want = min(figure["natural"], DESKTOP_COLUMN_PX)
            assert figure["shown"] == pytest.approx(want, abs=1), f"{where}: {figure['shown']} px, not {want}"


# For each scrolling frame, what the reader sees at the start, after scrolling to the end, and back.
SCROLL_CUES = """(selector) => [...document.querySelectorAll(selector)].map(el => {
    const scroller = el.closest('.nma-scroll'), frame = scroller && scroller.closest('.nma-scroll-frame');
    if (!frame) return {missing: el.outerHTML.slice(0, 120)};
    const cue = () => ({left: +getComputedStyle(frame, '::before').opacity,
                        right: +getComputedStyle(frame, '::after').opacity});
    const overflows = scroller.scrollWidth > scroller.clientWidth + 1;
    const start = cue();
    scroller.scrollLeft = scroller.scrollWidth;
    scroller.dispatchEvent(new Event('scroll'));
    const end = cue();
    scroller.scrollLeft = 0;
    scroller.dispatchEvent(new Event('scroll'));
    const focusable = scroller.tabIndex >= 0 || !!scroller.querySelector('a[href]');
    return {overflows, start, end, focusable, back: cue(),
            inside: frame.getBoundingClientRect().right <= document.documentElement.clientWidth + 0.5};
})"""


def _check_cues(view, selector: str, what: str) -> int:
    """Assert the scroll cues of every ``selector`` element; return how many overflow."""
    overflowing = 0
    for i, frame in enumerate(view.page.evaluate(SCROLL_CUES, selector)):
        where = f"{view.name} at {view.width} px, {view.mode}: {what} {i}"
        assert "missing" not in frame, f"{where} is not in a scrolling frame: {frame}"
        assert frame["inside"], f"{where} sticks out of the window"
        if frame["overflows"]:
            overflowing += 1
            assert frame["start"] == {"left": 0, "right": 1}, f"{where}: no cue that it scrolls right {frame}"
            assert frame["end"] == {"left": 1, "right": 0}, f"{where}: no cue that it scrolls back {frame}"
            assert frame["back"] == frame["start"], f"{where}: cue not restored {frame}"
            assert frame["focusable"], f"{where}: the keyboard cannot reach it to scroll it"
        else:
            assert frame["start"] == {"left": 0, "right": 0}, f"{where} fits but shows a scroll cue {frame}"
    return overflowing


def test_wide_figures_scroll_with_a_visible_cue(view):
    overflowing = _check_cues(view, FIGURES, "figure")
    if view.width == PHONE and view.name in TUTORIALS:
        # Every figure is drawn wider than a phone's column, so this checks the cue on real figures.
        assert overflowing, f"{view.name} at {view.width} px: no figure scrolls"


def test_wide_equations_scroll_with_a_visible_cue(view):
    page = view.page
    _check_cues(view, EQUATIONS, "equation")
    if not page.locator(EQUATIONS).count():
        return
    # Whatever the equations of the day, a column too narrow for the first one makes it scroll.
    squeeze = "([sel, w]) => { document.querySelector(sel).closest('.nma-scroll-frame').style.width = w; }"
    page.evaluate(squeeze, [EQUATIONS, "4rem"])
    page.wait_for_timeout(100)  # the ResizeObserver reports on the next frame
    try:
        squeezed = _check_cues(view, EQUATIONS, "equation")
        assert squeezed >= 1, f"{view.name}: an equation squeezed into 4rem does not scroll"
    finally:
        page.evaluate(squeeze, [EQUATIONS, ""])


def test_colour_mode_button_names_the_mode_it_is_in(view):
    """Its icons are decoration; its name says the mode, and follows each click (runs last: it changes it)."""
    page = view.page
    button = page.locator(".theme-switch-button:visible").first
    assert button.get_attribute("aria-label") == f"Color mode: {view.mode}"
    icons = page.evaluate(
        "() => [...document.querySelectorAll('.theme-switch-button .theme-switch')]"
        ".map(i => i.getAttribute('aria-hidden') === 'true'"
        " && !i.hasAttribute('title') && !i.querySelector('title'))"
    )
    assert icons and all(icons), f"{view.name}: a colour-mode icon is still announced: {icons}"
    for _ in range(3):
        button.click()
        mode = page.evaluate("() => document.documentElement.dataset.mode")
        want = {"auto": "system setting"}.get(mode, mode)
        page.wait_for_function(
            "(want) => document.querySelector('.theme-switch-button').getAttribute('aria-label') === want",
            arg=f"Color mode: {want}",
            timeout=2_000,
        )
