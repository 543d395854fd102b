"""The cells of a book page that differ from the solution notebook's (rules: docs/notebooks.md).

- An exercise cell's solution is shown without its markers, behind a toggle that says "Show solution".
- Each figure gets its caption as myst-nb's figure option, so the page puts the image in a `<figure>`
  with a `<figcaption>` right under it. The caption is written once, in the solution notebook, as the
  first paragraph of the markdown cell after the figure cell (`*Figure N: ...*`, emphasised); on the
  page it moves into the figure cell's metadata and the rest of that markdown cell stays where it was.
- Claim cells (tag `claim`: assertions that the prose's statements about results hold in this run)
  are hidden from the page and never reach the student notebook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from notebook_gen.exercise_cells import find_blocks
from notebook_gen.rules import TODO, NotebookError

CLAIM_TAG = "claim"
HIDDEN_CELL_TAG = "remove-cell"
# myst-nb's cell-level options (cell metadata "mystnb") for the toggle of a hidden cell source.
SOLUTION_TOGGLE = {"code_prompt_show": "Show solution", "code_prompt_hide": "Hide solution"}
CAPTION_START = "*Figure"
# `*Figure ...*` at the start of a markdown cell: the emphasised caption, then whatever follows it.
CAPTION = re.compile(r"\A\*(Figure[^*]*?\S)\*(?=\s|\Z)(.*)\Z", re.DOTALL)


def is_figure_cell(cell) -> bool:
    """A figure cell: a code cell with alt text for its image (cell metadata mystnb.image.alt)."""
    image = cell.get("metadata", {}).get("mystnb", {}).get("image", {})
    return cell.cell_type == "code" and isinstance(image, dict) and "alt" in image


def is_claim_cell(cell) -> bool:
    return CLAIM_TAG in cell.get("metadata", {}).get("tags", [])


def solution_source(source: str, where: str) -> str:
    """An exercise cell's source as the book reveals it: markers dropped, each TODO a plain comment.

    `# TODO: <sentence>` becomes `# <sentence>` (its continuation lines `#  ...` become `# ...`), so the
    revealed solution reads as commented code rather than as work still to do.
    """
    lines = source.split("\n")
    marker_lines = set()
    for block in find_blocks(source, where):
        marker_lines.update((block.begin, block.end))
        for number in range(block.todo_start, block.begin):
            line = lines[number]
            if line.startswith(block.indent + TODO):
                lines[number] = block.indent + "# " + line[len(block.indent + TODO) :].strip()
            else:
                lines[number] = block.indent + "# " + line.strip()[1:].strip()
    return "\n".join(line for number, line in enumerate(lines) if number not in marker_lines)


@dataclass(frozen=True)
class Caption:
    """The caption of one figure cell, found in the markdown cell at `markdown_index`."""

    text: str  # the caption, without its emphasis: "Figure 2: ..."
    markdown_index: int
    rest: str  # what the markdown cell holds after the caption (may be empty)


def figure_captions(cells, rel: str) -> dict[int, Caption]:
    """Figure cell index -> its caption; a figure without one, or a caption without a figure, is refused.

    Between a figure cell and its caption there may be code cells without figures (a check cell, a
    claim cell), no markdown cell and no other figure.
    """
    captions: dict[int, Caption] = {}
    for index, cell in enumerate(cells):
        if is_figure_cell(cell):
            captions[index] = _caption_after(cells, index, rel)
    used = {caption.markdown_index for caption in captions.values()}
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown" and cell.source.startswith(CAPTION_START) and index not in used:
            raise NotebookError(
                f"{rel}, cell {index}: this caption follows no figure cell: give the code cell that draws "
                'the figure its alt text (cell metadata "mystnb": {"image": {"alt": "..."}}) and put '
                "the caption right after it."
            )
    return captions


def _caption_after(cells, figure_index: int, rel: str) -> Caption:
    for index in range(figure_index + 1, len(cells)):
        cell = cells[index]
        if cell.cell_type == "code" and not is_figure_cell(cell):
            continue
        if cell.cell_type == "markdown":
            match = CAPTION.match(cell.source)
            if match:
                return Caption(match.group(1), index, match.group(2).strip())
        break
    raise NotebookError(
        f"{rel}, cell {figure_index}: this figure cell has no caption: the next markdown cell must start "
        f"with its caption in emphasis, `*Figure N: what the figure shows.*`, with no `*` inside it "
        '(docs/notebooks.md, "Style"); the book puts it in the figure\'s <figcaption>.'
    )


def page_figure_cell(cell, caption: Caption) -> None:
    """Give a (copied) figure cell of the book page its caption as myst-nb's figure option."""
    mystnb = dict(cell.metadata.get("mystnb", {}))
    mystnb["figure"] = {**mystnb.get("figure", {}), "caption": caption.text}
    cell.metadata["mystnb"] = mystnb


def page_solution_cell(cell, where: str) -> None:
    """Make a (copied) exercise cell the book page's hidden solution: no markers, "Show solution"."""
    cell.source = solution_source(cell.source, where)
    tags = list(cell.metadata.get("tags", []))
    if "hide-input" not in tags:
        cell.metadata["tags"] = tags + ["hide-input"]
    cell.metadata["mystnb"] = {**cell.metadata.get("mystnb", {}), **SOLUTION_TOGGLE}
