"""The rules for a solution notebook's markdown: one notebook for three clients, and the exercises' hints.

Notebook markdown is what Jupyter, Colab and the book all render: CommonMark, math and plain HTML such
as `<details>`. MyST-only syntax (directives in backtick or colon fences, roles, targets) is refused:
Jupyter and Colab show it as a literal code block. Where the book wants a styled box, a blockquote or
a `<div>` degrades to readable text.

Each exercise has one to three hints, in markdown cells right before its exercise cell, each folded
in a `<details>` block numbered in order; they escalate (where to look, then the shape of the answer)
and never hold a line of the solution:

    <details>
    <summary>Hint 1</summary>

    Where to look ...

    </details>
"""

from __future__ import annotations

import re

from notebook_gen.rules import BEGIN, END, NotebookError

MAX_HINTS = 3
HINT_START = re.compile(r"\A\s*<details>\s*<summary>\s*Hint (\d+)\s*</summary>")
HINT_END = re.compile(r"</details>\s*\Z")
# MyST-only markup: a directive fence (```{name} or :::{name}), any colon fence, a role, a target.
MYST_ONLY = (
    (re.compile(r"^\s*(`{3,}|~{3,})\s*\{[\w:-]+\}", re.MULTILINE), "a MyST directive (```{...})"),
    (re.compile(r"^\s*:::", re.MULTILINE), "a MyST colon fence (:::)"),
    (re.compile(r"\{[a-zA-Z][\w:-]*\}`"), "a MyST role ({role}`...`)"),
    (re.compile(r"^\s*\([\w-]+\)=\s*$", re.MULTILINE), "a MyST target ((label)=)"),
)
MIN_SOLUTION_LINE = 8  # shorter solution lines (`return a`) say nothing a hint could give away


def check_plain_markdown(source: str, where: str) -> None:
    """Refuse MyST-only markup in a markdown cell that students' clients render too."""
    for pattern, what in MYST_ONLY:
        found = pattern.search(source)
        if found:
            text = found.group(0)
            line = source[: found.start() + len(text) - len(text.lstrip())].count("\n") + 1
            raise NotebookError(
                f"{where}: line {line} uses {what}, which Jupyter and Colab show as literal text: write "
                "CommonMark instead (a styled box: a blockquote `> **Title** ...` or a <div>; a link "
                "instead of a role)."
            )


def hint_number(source: str) -> int | None:
    """The number of a hint cell (`<details><summary>Hint N</summary>...`), None for any other cell."""
    match = HINT_START.match(source)
    return int(match.group(1)) if match else None


def solution_lines(source: str) -> list[str]:
    """The code lines between the solution markers of an exercise cell, without spaces (for matching)."""
    lines, inside = [], False
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped in (BEGIN, END):
            inside = stripped == BEGIN
        elif inside and stripped and not stripped.startswith("#"):
            code = re.sub(r"\s+", "", stripped.split("  #")[0])
            if len(code) >= MIN_SOLUTION_LINE:
                lines.append(code)
    return lines


def check_hints(cells, exercise_index: int, exercise: str, rel: str) -> list[int]:
    """The hint cells right before the exercise cell at `exercise_index`, checked; their indices."""
    found = []
    index = exercise_index - 1
    while index >= 0 and cells[index].cell_type == "markdown" and hint_number(cells[index].source):
        found.insert(0, index)
        index -= 1
    where = f"{rel}, cell {exercise_index} (exercise {exercise!r})"
    if not 1 <= len(found) <= MAX_HINTS:
        raise NotebookError(
            f"{where}: it has {len(found)} hints; give it 1 to {MAX_HINTS}, in markdown cells right before "
            "the exercise cell, each `<details>\\n<summary>Hint 1</summary>\\n\\n...\\n\\n</details>`, "
            "escalating (where to look, then the shape of the answer), never the solution."
        )
    numbers = [hint_number(cells[i].source) for i in found]
    if numbers != list(range(1, len(found) + 1)):
        raise NotebookError(
            f"{where}: its hints (cells {found}) are numbered {numbers}: number them 1, 2, ... in order."
        )
    answer = solution_lines(cells[exercise_index].source)
    for i in found:
        text = cells[i].source
        if not HINT_END.search(text):
            raise NotebookError(f"{rel}, cell {i} (hint): end the hint with a line `</details>`.")
        flat = re.sub(r"\s+", "", text)
        for line in answer:
            if line in flat:
                raise NotebookError(
                    f"{rel}, cell {i} (hint for {exercise!r}): it contains the solution line `{line}`: a "
                    "hint says where to look or shows the shape of the answer, never the solution."
                )
    return found


def check_no_stray_hints(cells, hint_cells: set[int], rel: str) -> None:
    """A hint cell anywhere but right before an exercise cell is refused (it would hint at nothing)."""
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown" and hint_number(cell.source) and index not in hint_cells:
            raise NotebookError(
                f"{rel}, cell {index}: a hint cell must sit right before its exercise cell (after any "
                "hints before it): move it there, or turn it into ordinary text."
            )
