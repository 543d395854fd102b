"""Feedback for students: one Markdown file per graded notebook, written by ``--feedback DIR``.

Each file gives the notebook's points, then for each exercise its verdict (passed, wrong, not done),
the points it earned out of its registry points, and the reason in the grader's plain words. It holds
nothing the student must not see: no solution code and none of the grader's secret inputs, only the
verdicts and reasons of the :class:`~helpers.grade.report.Row`. A notebook that could not be graded
gets a file that says so and why.

Files are named after the notebook (``alice_01_decoding.ipynb`` -> ``alice_01_decoding.md``) and
placed like the notebooks, relative to the folder holding all of them: ``alice/01_decoding.ipynb``
and ``bob/01_decoding.ipynb`` get ``DIR/alice/01_decoding.md`` and ``DIR/bob/01_decoding.md``.
Each file is written atomically (:func:`helpers.files.atomic_write`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from helpers import exercises
from helpers.checks.common import shorten
from helpers.files import atomic_write

from .report import FAIL, NOT_DONE, PASS, Row

__all__ = ["NOT_GRADED", "feedback_paths", "could_not_be_graded", "render", "write_feedback"]

#: How a file begins its "why" when no exercise of the notebook could be run.
NOT_GRADED = "This notebook could not be graded"
VERDICTS = {PASS: "passed", FAIL: "wrong", NOT_DONE: "not done yet"}
# Characters Markdown (or the HTML inside it) would act on; a reason can quote the student's own text.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
REASON_LENGTH = 600


def _plain(text: str) -> str:
    """``text`` on one line, shown as written: Markdown and HTML characters escaped."""
    text = " ".join(shorten(text, REASON_LENGTH).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


def could_not_be_graded(row: Row) -> bool:
    """True when none of the notebook's exercises was run: unreadable, or the grader could not start."""
    if not row.exercises:
        return True
    for name in row.exercises:
        result = row.results.get(name)
        if result is not None and (result.passed or result.not_done):
            return False
        ran = result is not None and not result.reason.startswith("not graded")
        if ran and result.reason not in row.notes:
            return False
    return True


def render(row: Row) -> str:
    """The Markdown feedback for one notebook."""
    title = Path(row.file).name
    lines = [f"# Feedback on {_plain(title)}", ""]
    if could_not_be_graded(row):
        reasons = list(dict.fromkeys([*row.notes, *(r.reason for r in row.results.values() if r.reason)]))
        lines += [f"**{NOT_GRADED}**, so it earned no points (0 of {row.max_points}).", ""]
        lines += [f"- {_plain(reason)}" for reason in reasons] or ["- no exercise of the course is in it"]
        lines += ["", "Fix the problem above and hand the notebook in again, or ask your instructor."]
        return "\n".join(lines) + "\n"
    lines += [
        f"**Points: {row.total_points} of {row.max_points}** "
        f"({row.total} of {len(row.exercises)} exercises passed).",
        "",
        "Each exercise was run on new inputs, drawn by the grader, which you have not seen.",
        "",
        "| Exercise | Verdict | Points | Why |",
        "|---|---|---|---|",
    ]
    for name in row.exercises:
        mark = row.mark(name)
        verdict = VERDICTS.get(mark, "not graded")
        why = _plain(row.reason(name)) if mark != PASS else "right on the grader's inputs"
        points = f"{row.points(name) or 0} of {exercises.get(name).points}"
        lines.append(f"| {name} | {verdict} | {points} | {why} |")
    if row.notes:
        lines += ["", "Outside the exercises:", ""] + [f"- {_plain(note)}" for note in row.notes]
    return "\n".join(lines) + "\n"


def feedback_paths(rows: list[Row], folder: Path) -> dict[str, Path]:
    """Notebook path -> its feedback file under ``folder``, placed as the notebooks are placed."""
    parents = [Path(row.file).resolve().parent for row in rows]
    common = Path(os.path.commonpath(parents)) if parents else Path()
    return {
        row.file: folder / parent.relative_to(common) / f"{Path(row.file).stem}.md"
        for row, parent in zip(rows, parents, strict=True)
    }


def write_feedback(rows: list[Row], folder: Path) -> list[Path]:
    """Write every row's feedback under ``folder`` (created when missing); the files written."""
    paths = feedback_paths(rows, folder)
    return [atomic_write(paths[row.file], render(row)) for row in rows]
