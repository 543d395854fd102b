"""Export the course to the graders instructors already run: nbgrader (JupyterHub) and otter (Gradescope).

    python -m helpers.export nbgrader OUT [--assignment NAME]
    python -m helpers.export otter OUT [--otter PATH] [--no-assign] [--no-run-tests]

Both are built from the solution notebooks (``solutions/*.ipynb``, rules in docs/notebooks.md) and
the exercise registry (:mod:`helpers.exercises`, which sets each exercise's points). Cells tagged
``answer`` (model answers) or ``remove-cell`` (the book's checks of its claims) are left out.

**nbgrader**: ``OUT/nbgrader_config.py`` (only when there is none) and
``OUT/source/<assignment>/<notebook>.ipynb``: each exercise cell an *autograded answer* cell (blocks
between ``### BEGIN SOLUTION`` / ``### END SOLUTION``), followed by a locked *autograder tests* cell
worth the exercise's points whose test, in the hidden-tests region, runs ``checks.check`` on inputs
drawn at grading time (``checks.make_inputs``, unseeded); every other cell locked.

**otter**: per notebook a master notebook ``OUT/<notebook>/<notebook>.ipynb`` in otter-assign's v1
format (``# ASSIGNMENT CONFIG``; per exercise a question with its points, the exercise cell as the
solution with a prompt raising ``NotImplementedError``, a public test on the self-check's fixed
inputs worth 0 and a hidden one worth the points on fresh inputs), then ``otter assign`` on it
(``OUT/<notebook>/dist/student/`` and ``dist/autograder/`` with the Gradescope zip).

A notebook breaking a rule stops the export, naming the cell and the fix, before anything is
written; files are written atomically, ``dist/`` replaced only once ``otter assign`` succeeded. Both
tools run the student's code in the kernel that runs the tests (a student can redefine ``checks``):
``python -m helpers.grade`` is the stricter grader.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import nbformat
import yaml

from helpers import exercises
from helpers.files import atomic_write

__all__ = [
    "ExportError", "ExerciseCell", "CourseNotebook", "load_generator", "read_course", "dumps",
    "nbgrader_notebook", "nbgrader_config", "export_nbgrader", "otter_assignment_config", "otter_master",
    "find_otter", "run_otter_assign", "export_otter", "main",
]  # fmt: skip

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = Path("scripts") / "make_notebooks.py"
# What the export uses of the generator's package (scripts/notebook_gen/), and the module of each.
GENERATOR_NAMES = {
    "NotebookError": "rules",
    "SETUP_PLACEHOLDER": "rules",
    "read_repository": "repository",
    "find_blocks": "exercise_cells",
    "read_solution": "notebooks",
    "solution_paths": "notebooks",
}

NBGRADER_SCHEMA_VERSION = 3
NBGRADER_BEGIN, NBGRADER_END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# nbgrader finds its delimiters anywhere in a line of any cell; otter reads raw cells as boundaries.
NBGRADER_DELIMITERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
GRADE_ID = re.compile(r"[^A-Za-z0-9_-]")
DEFAULT_ASSIGNMENT = "decoding_encoding"
# Training runs inside the notebooks: one cell can take minutes on a laptop's CPU.
CELL_TIMEOUT_SECONDS = 900
# Gradescope's grading image; the course is tested on this Python.
GRADING_PYTHON = "3.11"
OTTER_LINE_MARKERS = re.compile(r"#\s?SOLUTION|#\s*(IGNORE|SEED|BEGIN PROMPT|END PROMPT)\s*$")
VOLATILE_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")
# Cells no export carries: the model answers, and the book's checks of what its text claims.
LEFT_OUT_TAGS = ("answer", "remove-cell")


class ExportError(Exception):
    """The export cannot go on; the message names the problem and the fix."""


# ------------------------------------------------------------------ reading the solution notebooks


def load_generator(root: Path) -> SimpleNamespace:
    """The notebook generator of ``root`` (the rules of docs/notebooks.md live there, once).

    ``scripts/make_notebooks.py`` is run as a module (it puts ``scripts/`` on ``sys.path``), then the
    names the export uses are taken from its package ``notebook_gen``: ``read_repository``,
    ``read_solution``, ``solution_paths``, ``find_blocks``, ``NotebookError``, ``SETUP_PLACEHOLDER``.
    """
    path = root / GENERATOR
    if not path.is_file():
        raise ExportError(
            f"{path} not found: run the export from a checkout of the course repository "
            "(or pass --root to point at one)."
        )
    name = "_course_generator_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there while the script runs
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    parts = set(GENERATOR_NAMES.values())
    modules = {part: importlib.import_module(f"notebook_gen.{part}") for part in parts}
    return SimpleNamespace(**{key: getattr(modules[part], key) for key, part in GENERATOR_NAMES.items()})


@dataclass(frozen=True)
class ExerciseCell:
    """An exercise cell of a solution notebook, as the generator read it.

    Attributes:
        exercise: the registry's entry (name, object, points).
        blocks: each solution block as (``# BEGIN SOLUTION`` line, ``# END SOLUTION`` line,
            indentation, TODO sentence); lines 0-based in the cell's source.
        placeholders: the lines the student notebook puts at the top of the cell (binding the names
            the cell assigns to placeholders that point back at the exercise); may be empty.
    """

    exercise: exercises.Exercise
    blocks: tuple[tuple[int, int, str, str], ...]
    placeholders: tuple[str, ...]


@dataclass(frozen=True)
class CourseNotebook:
    """One solution notebook, checked, with what both exports need.

    Attributes:
        stem: e.g. ``"01_decoding"``.
        cells: the solution's cells without outputs, cells tagged ``LEFT_OUT_TAGS`` left out (copies;
            ids kept), the setup cell installing the repository's address from _config.yml.
        exercise_cells: position in ``cells`` -> the exercise defined there.
        pip_address: what installs the helpers package (``git+<url>@<branch>``, from _config.yml).
    """

    stem: str
    cells: list
    exercise_cells: dict[int, ExerciseCell]
    pip_address: str

    def where(self, position: int) -> str:
        return f"solutions/{self.stem}.ipynb, cell id {self.cells[position].get('id')!r}"


def _clean(cell):
    cell = copy.deepcopy(cell)
    for key in VOLATILE_METADATA:
        cell.metadata.pop(key, None)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def read_course(root: Path = ROOT) -> list[CourseNotebook]:
    """The solution notebooks of ``root``, checked by the generator and against the exercise registry."""
    generator = load_generator(root)
    try:
        repo = generator.read_repository(root)
        solutions = [generator.read_solution(path, root) for path in generator.solution_paths(root)]
    except generator.NotebookError as error:
        raise ExportError(str(error)) from None
    if not solutions:
        raise ExportError(f"no solution notebooks in {root / 'solutions'}: nothing to export.")
    return [_course_notebook(generator, solution, repo.pip_address) for solution in solutions]


def _course_notebook(generator: SimpleNamespace, solution, pip_address: str) -> CourseNotebook:
    cells, exercise_cells = [], {}
    for index, cell in enumerate(solution.nb.cells):
        if index != solution.setup_index and set(LEFT_OUT_TAGS) & set(cell.metadata.get("tags", [])):
            continue
        cell = _clean(cell)
        if index == solution.setup_index:
            cell.source = cell.source.replace(generator.SETUP_PLACEHOLDER, pip_address)
        if index in solution.exercise_cells:
            exercise = _registered(solution.exercise_cells[index].name, solution.stem)
            where = f"solutions/{solution.stem}.ipynb, cell {index}"
            blocks = tuple(
                (block.begin, block.end, block.indent, block.todo)
                for block in generator.find_blocks(cell.source, where)
            )
            # Exercise cells only define (the generator enforces it): nothing to bind to placeholders.
            exercise_cells[len(cells)] = ExerciseCell(exercise, blocks, ())
        else:
            # A later cell that uses an exercise starts with the student notebook's guard.
            cell.source = solution.guarded_cells.get(index, cell.source)
        cells.append(cell)
    expected = [exercise.name for exercise in exercises.in_notebook(solution.stem)]
    found = [entry.exercise.name for entry in exercise_cells.values()]
    if found != expected:
        raise ExportError(
            f"solutions/{solution.stem}.ipynb has the exercises {found}, but helpers/exercises.py "
            f"lists {expected} for it: make the two agree (same names, same order)."
        )
    return CourseNotebook(solution.stem, cells, exercise_cells, pip_address)


def _registered(name: str, stem: str) -> exercises.Exercise:
    try:
        exercise = exercises.get(name)
    except KeyError as error:
        raise ExportError(f"solutions/{stem}.ipynb: {error.args[0]}") from None
    if exercise.notebook != stem:
        raise ExportError(
            f"solutions/{stem}.ipynb: exercise {name!r} belongs to {exercise.notebook} in "
            "helpers/exercises.py: move the exercise, or fix the registry."
        )
    return exercise


def _marked_source(entry: ExerciseCell, source: str, begin_lines, end_lines) -> str:
    """The exercise cell with the placeholders on top and each block's marker lines replaced.

    ``begin_lines(indent, todo)`` and ``end_lines(indent)`` give the lines that stand for a block's
    ``# BEGIN SOLUTION`` and ``# END SOLUTION``.
    """
    lines = source.split("\n")
    out = list(entry.placeholders)
    position = 0
    for begin, end, indent, todo in entry.blocks:
        out += lines[position:begin] + begin_lines(indent, todo) + lines[begin + 1 : end] + end_lines(indent)
        position = end + 1
    return "\n".join(out + lines[position:])


def _fresh_check_lines(exercise: exercises.Exercise, result: str, obj: str, indent: str = "") -> list[str]:
    """Code checking ``obj`` (an expression) on inputs drawn now, unseeded; the verdict goes to ``result``."""
    name = exercise.name
    lines = [
        "import numpy as np",
        "from helpers import checks",
        "",
        f'{result} = checks.check("{name}", {obj}, checks.make_inputs("{name}", np.random.default_rng()))',
    ]
    return [indent + line if line else line for line in lines]


def _refuse_markers(notebook: CourseNotebook, position: int, tool: str, pattern: re.Pattern) -> None:
    """Stop when a cell outside the exercises holds a marker ``tool`` would act on."""
    for line in notebook.cells[position].source.split("\n"):
        found = pattern.search(line)
        if found:
            raise ExportError(
                f"{notebook.where(position)}: the line {line.strip()!r} holds {found.group(0)!r}, a "
                f"marker {tool} acts on, outside an exercise cell: reword that line."
            )


def dumps(nb: nbformat.NotebookNode) -> str:
    """The notebook as JSON, validated by nbformat."""
    problems = {}
    text = nbformat.writes(nb, version=nbformat.NO_CONVERT, capture_validation_error=problems)
    if problems:
        error = problems["ValidationError"].message
        raise ExportError(f"the exported notebook is invalid ({error}): please report this bug.")
    return text.rstrip("\n") + "\n"


def _new_notebook(cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nb.cells = cells
    return nb


# ------------------------------------------------------------------ nbgrader


def _nbgrader_metadata(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": NBGRADER_SCHEMA_VERSION,
        "solution": solution,
    }
    if grade:
        meta["points"] = points
    return meta


def _nbgrader_tests_cell(exercise: exercises.Exercise):
    result = "_grading_result"
    source = "\n".join(
        [
            f"# Autograder test of exercise '{exercise.name}' ({exercise.points} points): at grading time it",
            f"# runs your `{exercise.object_name}` on inputs drawn then. Keep this cell as it is.",
            HIDDEN_BEGIN,
            *_fresh_check_lines(exercise, result, exercise.object_name),
            f"print({result}.message)",
            f"if not {result}:",
            f"    raise AssertionError({result}.reason)",
            HIDDEN_END,
        ]
    )
    cell = nbformat.v4.new_code_cell(source, id=f"{exercise.name}-tests")
    cell.metadata["nbgrader"] = _nbgrader_metadata(
        f"{exercise.name}-tests", grade=True, locked=True, points=exercise.points
    )
    return cell


def nbgrader_notebook(notebook: CourseNotebook) -> nbformat.NotebookNode:
    """The nbgrader *source* version of one notebook (solutions in, tests hidden, the rest read-only)."""
    pattern = re.compile("|".join(re.escape(marker) for marker in NBGRADER_DELIMITERS))
    cells, grade_ids = [], set()
    for position, cell in enumerate(notebook.cells):
        cell = copy.deepcopy(cell)
        entry = notebook.exercise_cells.get(position)
        if entry is None:
            _refuse_markers(notebook, position, "nbgrader", pattern)
            grade_id = "cell-" + GRADE_ID.sub("-", str(cell.get("id") or position))
            if grade_id in grade_ids:
                grade_id = f"{grade_id}-{position}"
            cell.metadata["nbgrader"] = _nbgrader_metadata(grade_id, locked=True)
            grade_ids.add(grade_id)
            cells.append(cell)
            continue
        exercise = entry.exercise
        cell.source = _marked_source(
            entry,
            cell.source,
            lambda indent, todo: [indent + NBGRADER_BEGIN],
            lambda indent: [indent + NBGRADER_END],
        )
        cell.metadata["nbgrader"] = _nbgrader_metadata(exercise.name, solution=True)
        cells += [cell, _nbgrader_tests_cell(exercise)]
        grade_ids |= {exercise.name, f"{exercise.name}-tests"}
    return _new_notebook(cells)


def nbgrader_config(course_id: str = "nma-decoding") -> str:
    """The text of ``nbgrader_config.py`` for the exported course folder."""
    return f'''"""nbgrader's configuration for the course module.

Written by `python -m helpers.export nbgrader`, only when there is none: edit it freely.
"""

c = get_config()  # noqa: F821 - nbgrader defines get_config when it reads this file

c.CourseDirectory.course_id = "{course_id}"
# The notebooks train networks: one cell can take minutes on a laptop's CPU.
c.Execute.timeout = {CELL_TIMEOUT_SECONDS}
'''


def export_nbgrader(out: Path, assignment: str = DEFAULT_ASSIGNMENT, root: Path = ROOT) -> list[Path]:
    """Write the nbgrader course folder ``out``; returns the files written."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", assignment):
        raise ExportError(
            f"assignment name {assignment!r}: use letters, digits, '_' and '-' only (nbgrader makes "
            "folders and database keys of it)."
        )
    files = {
        out / "source" / assignment / f"{notebook.stem}.ipynb": dumps(nbgrader_notebook(notebook))
        for notebook in read_course(root)
    }
    config = out / "nbgrader_config.py"
    if not config.exists():
        files[config] = nbgrader_config()
    return [atomic_write(path, content) for path, content in files.items()]


# ------------------------------------------------------------------ otter


def _raw(source: str):
    return nbformat.v4.new_raw_cell(source)


def _config_cell(header: str, config: dict):
    return _raw(header + "\n" + yaml.safe_dump(config, sort_keys=False, width=1000).rstrip("\n"))


def otter_assignment_config(notebook: CourseNotebook) -> dict:
    """The ``# ASSIGNMENT CONFIG`` of one master notebook (keys of otter.assign.assignment.Assignment)."""
    return {
        "name": notebook.stem,  # the autograder refuses a notebook made for another assignment
        "requirements": ["torch==2.13.0", notebook.pip_address],
        "python_version": GRADING_PYTHON,
        "solutions_pdf": False,
        "template_pdf": False,
        "export_cell": {"pdf": False},  # a PDF needs LaTeX; the notebook is what is graded
        "generate": {"pdf": False},
        "tests": {"ok_format": False},  # exception-based: a test passes unless it raises
    }


def _otter_test_cell(exercise: exercises.Exercise, hidden: bool):
    """An exception-based test: the self-check's fixed inputs (public, 0 points) or fresh ones (hidden)."""
    name, obj = exercise.name, exercise.object_name
    if hidden:
        body = _fresh_check_lines(exercise, "result", f'env["{obj}"]', indent="    ")
    else:
        body = ["    from helpers import checks", "", f'    result = checks.check("{name}", env["{obj}"])']
    config = {"hidden": hidden, "points": exercise.points if hidden else 0}
    source = [
        '""" # BEGIN TEST CONFIG',
        yaml.safe_dump(config, sort_keys=False).rstrip("\n"),
        '""" # END TEST CONFIG',
        f"def test_{name}_{'fresh_inputs' if hidden else 'self_check'}(env):",
        f'    if "{obj}" not in env:',
        f'        raise AssertionError("`{obj}` is not defined: run the exercise\'s cell")',
        *body,
        "    if not result:",
        "        raise AssertionError(result.reason)",
    ]
    return nbformat.v4.new_code_cell("\n".join(source))


def _otter_solution_source(entry: ExerciseCell, source: str) -> str:
    """Each block kept for the solution, and for the student a raise with the TODO sentence instead."""

    def end_lines(indent, message):
        return [
            indent + "# END SOLUTION",
            indent + '""" # BEGIN PROMPT',
            indent + f"raise NotImplementedError({json.dumps(message)})",
            indent + '"""; # END PROMPT',
        ]

    messages = iter(f"Exercise '{entry.exercise.name}': {todo}" for *_, todo in entry.blocks)
    return _marked_source(
        entry,
        source,
        lambda indent, todo: [indent + "# BEGIN SOLUTION NO PROMPT"],
        lambda indent: end_lines(indent, next(messages)),
    )


def _otter_question(entry: ExerciseCell, cell) -> list:
    exercise = entry.exercise
    cell = copy.deepcopy(cell)
    cell.source = _otter_solution_source(entry, cell.source)
    return [
        _config_cell("# BEGIN QUESTION", {"name": exercise.name, "points": exercise.points}),
        _raw("# BEGIN SOLUTION"),
        cell,
        _raw("# END SOLUTION"),
        _raw("# BEGIN TESTS"),
        _otter_test_cell(exercise, hidden=False),
        _otter_test_cell(exercise, hidden=True),
        _raw("# END TESTS"),
        _raw("# END QUESTION"),
    ]


def otter_master(notebook: CourseNotebook) -> nbformat.NotebookNode:
    """The otter-assign master notebook (v1 format) of one solution notebook."""
    cells = [_config_cell("# ASSIGNMENT CONFIG", otter_assignment_config(notebook))]
    for position, cell in enumerate(notebook.cells):
        entry = notebook.exercise_cells.get(position)
        if entry is not None:
            for line in cell.source.split("\n"):
                if OTTER_LINE_MARKERS.search(line):
                    raise ExportError(
                        f"{notebook.where(position)}: the line {line.strip()!r} holds a marker otter acts "
                        "on: reword it (a solution block is marked with # BEGIN/END SOLUTION lines only)."
                    )
            cells += _otter_question(entry, cell)
            continue
        if cell.cell_type == "raw" or cell.source.lstrip().startswith("```otter"):
            raise ExportError(
                f"{notebook.where(position)}: otter reads raw cells (and ```otter blocks) as its own "
                "boundary cells: make it a markdown or code cell."
            )
        _refuse_markers(notebook, position, "otter", OTTER_LINE_MARKERS)
        cells.append(copy.deepcopy(cell))
    return _new_notebook(cells)


def find_otter(otter: str | None = None) -> str:
    """The ``otter`` command: ``otter`` if given, else on PATH, else next to this Python."""
    candidates = [otter] if otter else [shutil.which("otter"), str(Path(sys.executable).parent / "otter")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return candidate
    raise ExportError(
        f"otter-grader's `otter` command was not found ({otter or 'not on PATH'}): install it "
        "(python3 -m venv VENV && VENV/bin/pip install -r requirements-graders.txt), then pass "
        "--otter VENV/bin/otter; or pass --no-assign to write only the master notebooks."
    )


def run_otter_assign(otter: str, master: Path, run_tests: bool = True) -> list[Path]:
    """Run ``otter assign`` on ``master``; its output replaces ``<master's folder>/dist`` on success."""
    folder = master.parent
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".dist-"))
    skip_tests = [] if run_tests else ["--no-run-tests"]
    command = [otter, "assign", "--no-pdfs", *skip_tests, master.name, staging.name]
    try:
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().split("\n")[-25:])
            raise ExportError(
                f"`{' '.join(command)}` (in {folder}) failed with exit code {done.returncode}; its last "
                f"lines:\n{tail}\nNothing in {folder / 'dist'} was changed."
            )
        dist = folder / "dist"
        previous = folder / f".dist-previous-{os.getpid()}"
        if dist.exists():
            dist.rename(previous)
        staging.rename(dist)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(path for path in dist.rglob("*") if path.is_file())


def export_otter(
    out: Path, root: Path = ROOT, otter: str | None = None, assign: bool = True, run_tests: bool = True
) -> list[Path]:
    """Write a master notebook per solution notebook under ``out`` and run ``otter assign`` on each."""
    masters = {
        out / notebook.stem / f"{notebook.stem}.ipynb": dumps(otter_master(notebook))
        for notebook in read_course(root)
    }
    command = find_otter(otter) if assign else None
    written = [atomic_write(path, content) for path, content in masters.items()]
    if command:
        for master in masters:
            written += run_otter_assign(command, master, run_tests)
    return written


# ------------------------------------------------------------------ command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the course repository (default: this one)")
    tools = parser.add_subparsers(dest="tool", required=True, metavar="{nbgrader,otter}")
    nbgrader = tools.add_parser("nbgrader", help="an nbgrader course folder (source/<assignment>/)")
    nbgrader.add_argument("out", type=Path, help="the course folder to write (created if missing)")
    nbgrader.add_argument("--assignment", default=DEFAULT_ASSIGNMENT, help="the assignment's name")
    otter = tools.add_parser("otter", help="otter-assign master notebooks, then `otter assign` on each")
    otter.add_argument("out", type=Path, help="the folder to write (created if missing)")
    otter.add_argument("--otter", help="the otter command (default: on PATH, or next to this Python)")
    otter.add_argument("--no-assign", action="store_true", help="write the master notebooks only")
    otter.add_argument(
        "--no-run-tests", action="store_true", help="let otter assign skip running the tests on the solution"
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        if args.tool == "nbgrader":
            written = export_nbgrader(args.out, args.assignment, root)
        else:
            written = export_otter(args.out, root, args.otter, not args.no_assign, not args.no_run_tests)
    except ExportError as error:
        print(f"helpers.export: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    print(_next_steps(args))
    return 0


def _next_steps(args) -> str:
    if args.tool == "nbgrader":
        return (
            f"next, in {args.out}: nbgrader generate_assignment {args.assignment}, release it; once the "
            f"submissions are collected: nbgrader autograde {args.assignment}, nbgrader export, "
            f"nbgrader generate_feedback {args.assignment}"
        )
    if args.no_assign:
        return f"next: otter assign {args.out}/<notebook>/<notebook>.ipynb {args.out}/<notebook>/dist"
    return (
        f"next: give students {args.out}/<notebook>/dist/student/<notebook>.ipynb and upload "
        f"{args.out}/<notebook>/dist/autograder/*.zip as the Gradescope autograder; to grade one here: "
        "otter run -a <that zip> <submission.ipynb>"
    )


if __name__ == "__main__":
    sys.exit(main())
