"""The grades: one :class:`Row` per notebook, written as a CSV and printed as a table.

Columns follow the course's exercises (:data:`helpers.exercises.EXERCISES`): for each, the result
(``pass`` / ``FAIL`` / ``not done``, empty when the notebook does not hold it), its reason and the points
it earned (its registry points when it passed, 0 otherwise, empty when not graded); then the total
passed, the number graded, the points earned and the points the graded exercises are worth, notes, the
sandbox used and the seconds it took.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from helpers import exercises
from helpers.checks.common import CheckResult
from helpers.files import atomic_write

from .untrusted import csv_row

__all__ = ["PASS", "FAIL", "NOT_DONE", "CSV_TAIL", "Row", "write_csv", "format_table"]

PASS, FAIL, NOT_DONE = "pass", "FAIL", "not done"
#: The CSV's columns after the exercises' pairs.
CSV_TAIL = ["total", "graded", "points", "max_points", "notes", "sandbox", "seconds"]


@dataclass
class Row:
    """One notebook's grades.

    Attributes:
        file: the notebook's path as given.
        exercises: the exercises graded in it, in the course's order.
        results: exercise name -> its verdict.
        notes: what went wrong outside the exercises (a cell that failed, a kernel that died, ...).
        sandbox: which bounds held while it was graded (``Bounds.describe()``), or "not graded".
        seconds: how long grading it took.
    """

    file: str
    exercises: list[str] = field(default_factory=list)
    results: dict[str, CheckResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sandbox: str = ""
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """How many exercises passed."""
        return sum(1 for result in self.results.values() if result.passed)

    def points(self, name: str) -> int | None:
        """The points exercise ``name`` earned: all of its registry points or none; None if not graded."""
        if not self.mark(name):
            return None
        return exercises.get(name).points if self.results[name].passed else 0

    @property
    def total_points(self) -> int:
        """The points earned, summed over the graded exercises."""
        return sum(self.points(name) or 0 for name in self.exercises)

    @property
    def max_points(self) -> int:
        """What the exercises graded in this notebook are worth together."""
        return sum(exercises.get(name).points for name in self.exercises)

    def mark(self, name: str) -> str:
        """``pass``, ``FAIL`` or ``not done`` for exercise ``name``; "" when it was not graded."""
        result = self.results.get(name)
        if name not in self.exercises or result is None:
            return ""
        return PASS if result.passed else NOT_DONE if result.not_done else FAIL

    def reason(self, name: str) -> str:
        """Why exercise ``name`` did not pass ("" when it passed or was not graded)."""
        result = self.results.get(name)
        return result.reason if result is not None else ""


def write_csv(rows: list[Row], out: Path) -> None:
    """One line per notebook, written atomically (a failure leaves the old file, if any, as it was);
    a text cell starting like a formula (``=``, ``+``, ``-``, ``@``) gets a leading ``'``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = exercises.names()
    columns = [column for name in names for column in (name, f"{name}_reason", f"{name}_points")]
    writer.writerow(["file", *columns, *CSV_TAIL])
    for row in rows:
        line = [row.file]
        for name in names:
            points = row.points(name)
            line += [row.mark(name), row.reason(name), "" if points is None else points]
        line += [row.total, len(row.exercises), row.total_points, row.max_points]
        line += [" | ".join(row.notes), row.sandbox, f"{row.seconds:.1f}"]
        writer.writerow(csv_row(line))  # no cell a spreadsheet would run as a formula
    atomic_write(out, buffer.getvalue())


def format_table(rows: list[Row]) -> str:
    """A table (a line per notebook: each exercise's mark and points, e.g. ``FAIL 0/3``, the number
    passed and the points) and, under it, why each failed."""
    names = exercises.names()
    labels = [_display_name(row.file, rows) for row in rows]
    header = ["file", *names, "total", "points"]
    body = [
        [
            label,
            *[_mark_and_points(row, name) for name in names],
            f"{row.total}/{len(row.exercises)}",
            f"{row.total_points}/{row.max_points}",
        ]
        for label, row in zip(labels, rows, strict=True)
    ]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(str(value).ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
             for line in [header, *body]]  # fmt: skip
    lines.insert(1, "  ".join("-" * width for width in widths))
    details = []
    for label, row in zip(labels, rows, strict=True):
        reasons: dict[str, list[str]] = {}
        for name in names:
            if row.mark(name) == FAIL and row.reason(name) not in row.notes:
                reasons.setdefault(row.reason(name), []).append(name)
        details += [f"  {label}  {', '.join(failed)}: {reason}" for reason, failed in reasons.items()]
        details += [f"  {label}  note: {note}" for note in row.notes]
    if details:
        lines += ["", "Why:"] + details
    return "\n".join(lines)


def _mark_and_points(row: Row, name: str) -> str:
    """``pass 2/2``, ``FAIL 0/3``, ``not done 0/2``; ``-`` when the notebook does not hold the exercise."""
    mark = row.mark(name)
    return f"{mark} {row.points(name)}/{exercises.get(name).points}" if mark else "-"


def _display_name(file: str, rows: list[Row]) -> str:
    """The file's base name, or its full path when another row has the same base name."""
    base = Path(file).name
    return base if sum(1 for row in rows if Path(row.file).name == base) == 1 else file
