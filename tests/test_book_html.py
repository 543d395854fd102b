"""The built book's tutorial pages (_build/html), read as HTML: what a reader gets.

Run after the book build (scripts/run_tests.sh does, with the browser tests); skipped with a message
when the book is not built. Each page: no solution markers and no claim cells in the text; every
figure image inside a <figure> whose <figcaption>, right under the image, is not empty, with alt text
on the image; one figure per figure cell of the solution notebook; one "Show solution" toggle per
exercise, and no generic "Show code cell" toggle.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from notebook_gen import book_cells  # noqa: E402

HTML = ROOT / "_build" / "html" / "book"
STEMS = ["01_decoding", "02_encoding"]
BADGE = "colab-badge.svg"  # the only image that is a link, not a figure


def page(stem: str) -> BeautifulSoup:
    path = HTML / "tutorials" / f"{stem}.html"
    if not path.is_file():
        pytest.skip(
            f"{path.relative_to(ROOT)} is not built: run `make book` (scripts/build_book.sh) first; "
            "scripts/run_tests.sh runs these tests right after building the book"
        )
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    article = soup.find("article")
    assert article is not None, f"{path}: no <article> (the theme's page body)"
    return article


def solution(stem: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "solutions" / f"{stem}.ipynb", as_version=4)


@pytest.mark.parametrize("stem", STEMS)
def test_no_solution_markers_and_no_claim_cells_on_the_page(stem):
    text = page(stem).get_text()
    for hidden in ("# BEGIN SOLUTION", "# END SOLUTION", "BEGIN SOLUTION", "Claim checked by the run"):
        assert hidden not in text, f"{stem}: {hidden!r} reaches the page"


@pytest.mark.parametrize("stem", STEMS)
def test_every_figure_image_has_alt_text_and_a_caption_right_under_it(stem):
    article = page(stem)
    images = [img for img in article.find_all("img") if not img.get("src", "").endswith(BADGE)]
    n_figure_cells = sum(book_cells.is_figure_cell(cell) for cell in solution(stem).cells)
    assert len(images) == n_figure_cells, f"{stem}: {len(images)} images for {n_figure_cells} figure cells"
    for img in images:
        where = f"{stem}: image {img.get('src')!r}"
        assert img.get("alt", "").strip(), f"{where} has no alt text"
        figure = img.find_parent("figure")
        assert figure is not None, f"{where} is not inside a <figure>"
        caption = figure.find("figcaption")
        assert caption is not None and caption.get_text(strip=True), f"{where}: no caption text"
        assert caption.get_text(strip=True).startswith("Figure "), f"{where}: caption {caption.get_text()!r}"
        children = [child for child in figure.children if getattr(child, "name", None)]
        assert children[-1] is caption, f"{where}: the caption is not right under the image"
        assert len(figure.find_all("img")) == 1, f"{where}: one image per figure"


@pytest.mark.parametrize("stem", STEMS)
def test_solutions_hide_behind_show_solution_toggles(stem):
    article = page(stem)
    n_exercises = sum("exercise" in cell.metadata for cell in solution(stem).cells)
    summaries = [summary.get_text(" ", strip=True) for summary in article.find_all("summary")]
    toggles = [text for text in summaries if "Show solution" in text]
    assert len(toggles) == n_exercises, f"{stem}: toggles {summaries}"
    assert not [text for text in summaries if "Show code cell" in text], f"{stem}: {summaries}"
    answers = [text for text in summaries if "Model answer" in text]
    n_answers = sum("answer" in cell.metadata.get("tags", []) for cell in solution(stem).cells)
    assert len(answers) == n_answers, f"{stem}: {len(answers)} 'Model answer' dropdowns, {n_answers} answers"
