"""scripts/notebook_gen/book_cells.py: revealed solutions and figure captions on the book page."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from notebook_gen import book_cells  # noqa: E402
from notebook_gen.rules import NotebookError  # noqa: E402

EXERCISE = '''\
class Net:
    def __init__(self, n):
        # TODO: keep n in self.n,
        #  as an int
        # BEGIN SOLUTION
        self.n = int(n)
        # END SOLUTION


net = Net(3)'''


def test_revealed_solution_has_no_markers_and_its_todo_is_a_plain_comment():
    revealed = book_cells.solution_source(EXERCISE, "cell 0")
    assert revealed == (
        "class Net:\n"
        "    def __init__(self, n):\n"
        "        # keep n in self.n,\n"
        "        # as an int\n"
        "        self.n = int(n)\n"
        "\n"
        "\n"
        "net = Net(3)"
    )


def figure(alt="a plot"):
    return nbformat.v4.new_code_cell("fig = plot()", metadata={"mystnb": {"image": {"alt": alt}}})


def md(text):
    return nbformat.v4.new_markdown_cell(text)


def code(text):
    return nbformat.v4.new_code_cell(text)


def test_the_caption_is_the_emphasised_first_paragraph_after_the_figure_and_check_cells():
    first = md("*Figure 1: what $x^2$ is.* It grows.\n\nMore.")
    cells = [figure(), code("checks.thing(thing)"), first, figure(), md("*Figure 2: alone.*")]
    captions = book_cells.figure_captions(cells, "nb")
    assert captions[0] == book_cells.Caption("Figure 1: what $x^2$ is.", 2, "It grows.\n\nMore.")
    assert captions[3] == book_cells.Caption("Figure 2: alone.", 4, "")


@pytest.mark.parametrize(
    "cells, message",
    [
        ([figure(), md("Some prose."), md("*Figure 1: late.*")], "cell 0: this figure cell has no caption"),
        ([figure(), figure(), md("*Figure 1: one for two.*")], "cell 0: this figure cell has no caption"),
        ([figure()], "cell 0: this figure cell has no caption"),
        ([code("x = 1"), md("*Figure 1: of nothing.*")], "cell 1: this caption follows no figure cell"),
    ],
)
def test_a_figure_without_its_caption_or_a_caption_without_a_figure_is_refused(cells, message):
    with pytest.raises(NotebookError, match=message):
        book_cells.figure_captions(cells, "nb")


def test_the_page_cells_carry_caption_and_toggle_as_mystnb_options():
    cell = figure("the alt text")
    book_cells.page_figure_cell(cell, book_cells.Caption("Figure 3: it.", 1, ""))
    assert cell.metadata["mystnb"]["image"] == {"alt": "the alt text"}
    assert cell.metadata["mystnb"]["figure"] == {"caption": "Figure 3: it."}
    exercise = code(EXERCISE)
    book_cells.page_solution_cell(exercise, "cell 0")
    assert exercise.metadata["tags"] == ["hide-input"]
    assert exercise.metadata["mystnb"]["code_prompt_show"] == "Show solution"
    assert exercise.metadata["mystnb"]["code_prompt_hide"] == "Hide solution"
    assert "BEGIN SOLUTION" not in exercise.source
