"""Which statements of a submitted notebook the grader runs, and which exercises it holds.

Only imports, ``def``/``class`` statements and assignments of literal constants are kept (AST, after
IPython's own transformation of magics). Everything else (loading data, training, plotting, the check
cells) is left out, so grading takes seconds and a submission's own check calls or printed verdicts
play no part. A cell with a syntax error is left out and reported.
"""

from __future__ import annotations

import ast
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from helpers import exercises
from helpers.checks.common import shorten
from helpers.files import python_source

__all__ = [
    "MAX_NOTEBOOK_BYTES",
    "NotANotebook",
    "Plan",
    "read_notebook",
    "make_plan",
    "exercises_by_file_name",
]

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024


class NotANotebook(Exception):
    """The file cannot be graded as a notebook; the message says why."""


def read_notebook(path: Path):
    """The notebook at ``path`` (nbformat v4); NotANotebook saying why when it is none."""
    import nbformat

    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise NotANotebook(f"not graded: the file is {size / 1e6:.0f} MB, more than a notebook should be")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
        json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:  # RecursionError: nested too deep
        raise NotANotebook(f"not a notebook: the file is not valid JSON ({shorten(error, 120)})") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
        if not all(isinstance(cell, dict) for cell in nb.cells):
            raise ValueError("its cells are not JSON objects")
    except Exception as error:  # noqa: BLE001 - nbformat raises several kinds for JSON that is no notebook
        raise NotANotebook(f"not a Jupyter notebook ({shorten(error, 120)})") from None
    return nb


_CONSTANT_NODES = (ast.Constant, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.UnaryOp, ast.BinOp, ast.Load)
_CONSTANT_NODES += (ast.operator, ast.unaryop)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _is_constant(node: ast.AST, constants: set[str]) -> bool:
    """A literal, or arithmetic and containers of literals and of names already bound to such."""
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            if child.id not in constants:
                return False
        elif not isinstance(child, _CONSTANT_NODES):
            return False
    return True


def _kept(statement: ast.stmt, constants: set[str]) -> bool:
    """Whether ``statement`` runs when grading; records the constants it binds in ``constants``."""
    if isinstance(statement, (ast.Import, ast.ImportFrom, *_DEFINITIONS)):
        return True
    if isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) for t in statement.targets):
        if _is_constant(statement.value, constants):
            constants.update(t.id for t in statement.targets)
            return True
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
        if _is_constant(statement.value, constants):
            constants.add(statement.target.id)
            return True
    return False


@dataclass
class Plan:
    """What runs in the kernel, and what the notebook holds.

    Attributes:
        cells: (cell index, kept code) for every code cell with something kept; the code keeps the
            cell's line numbers (left-out lines are blank).
        exercises: the exercises graded, in the course's order.
        syntax_errors: cell index -> what is wrong with it.
        exercise_cells: exercise name -> index of the cell its metadata names.
    """

    cells: list[tuple[int, str]] = field(default_factory=list)
    exercises: list[str] = field(default_factory=list)
    syntax_errors: dict[int, str] = field(default_factory=dict)
    exercise_cells: dict[str, int] = field(default_factory=dict)


def _kept_code(source: str, constants: set[str], defined: set[str]) -> str:
    """The cell's kept statements, other lines blank; the names it defines are added to ``defined``."""
    tree = ast.parse(source)
    lines = source.split("\n")
    keep = [False] * len(lines)
    for statement in tree.body:
        if _kept(statement, constants):
            if isinstance(statement, _DEFINITIONS):
                defined.add(statement.name)
            first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
            for number in range(first - 1, statement.end_lineno):
                keep[number] = True
    return "\n".join(line if kept else "" for line, kept in zip(lines, keep, strict=True)).rstrip()


def make_plan(nb, filename: str) -> Plan:
    """The plan for notebook ``nb`` (nbformat v4) submitted as ``filename``.

    Its exercises are those its cells' metadata name or whose object it defines; when there are none,
    those of the notebook its file name contains (:func:`exercises_by_file_name`).
    """
    plan = Plan()
    constants: set[str] = set()
    defined: set[str] = set()
    known = set(exercises.names())
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        name = cell.get("metadata", {}).get("exercise")
        if isinstance(name, str) and name in known:
            plan.exercise_cells.setdefault(name, index)
        try:
            code = _kept_code(python_source(str(cell.get("source", ""))), constants, defined)
        except SyntaxError as error:
            plan.syntax_errors[index] = f"syntax error at line {error.lineno}: {error.msg}"
            continue
        except (RecursionError, MemoryError, ValueError):
            plan.syntax_errors[index] = "syntax error at line 1: code nested too deeply to be parsed"
            continue
        if code.strip():
            plan.cells.append((index, code))
    found = set(plan.exercise_cells)
    found |= {exercise.name for exercise in exercises.EXERCISES if exercise.object_name in defined}
    plan.exercises = [name for name in exercises.names() if name in found] or exercises_by_file_name(filename)
    return plan


def exercises_by_file_name(filename: str) -> list[str]:
    """The exercises of the notebook whose stem ``filename`` contains (e.g. ``alice_02_encoding.ipynb``);
    all of them when it contains none."""
    named = [exercise.name for exercise in exercises.EXERCISES if exercise.notebook in filename]
    return named or exercises.names()
