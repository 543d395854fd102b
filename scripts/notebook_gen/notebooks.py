"""One solution notebook, checked against docs/notebooks.md -> its student notebook and its book page.

`generate(root)` makes every generated file's bytes (nothing is written here): deterministic output,
no outputs or execution counts, kernelspec python3, cell ids taken from the solution's cells (the
cells added here get fixed ids). Which exercise cells a notebook may hold comes from the registry,
`helpers.exercises`.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

from helpers import exercises
from notebook_gen import book_cells
from notebook_gen.exercise_cells import ExerciseCell, guarded_source, make_exercise_cell
from notebook_gen.markdown_rules import check_hints, check_no_stray_hints, check_plain_markdown
from notebook_gen.repository import Repository, read_repository
from notebook_gen.rules import (
    BADGE_CELL_ID,
    LINKS_CELL_ID,
    MARKER_LIKE,
    NOTEBOOK_NAME,
    SETUP_PLACEHOLDER,
    STUB_SUFFIX,
    NotebookError,
)

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")
LOCAL_BADGE = "book/_static/colab-badge.svg"

BADGE_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20" role="img" aria-label="Open in Colab">
  <title>Open in Colab</title>
  <rect width="117" height="20" rx="3" fill="#555"/>
  <rect x="20" width="97" height="20" rx="3" fill="#555"/>
  <path d="M3 0h17v20H3a3 3 0 0 1-3-3V3a3 3 0 0 1 3-3z" fill="#444"/>
  <circle cx="7.5" cy="10" r="4" fill="none" stroke="#f9ab00" stroke-width="2.2"/>
  <circle cx="12.5" cy="10" r="4" fill="none" stroke="#e8710a" stroke-width="2.2"/>
  <text x="68" y="14" fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11"
        text-anchor="middle">Open in Colab</text>
</svg>
"""


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _add_tag(cell, tag: str) -> None:
    tags = _tags(cell)
    if tag not in tags:
        cell.metadata["tags"] = tags + [tag]


def _fence(text: str, info: str) -> str:
    """`text` in a backtick fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text.rstrip()}\n{ticks}"


# ---------------------------------------------------------------- reading a solution notebook


@dataclass
class Solution:
    """A checked solution notebook."""

    stem: str
    path: Path
    nb: nbformat.NotebookNode
    exercise_cells: dict[int, ExerciseCell]  # cell index -> its generated versions
    setup_index: int
    guarded_cells: dict[int, str]  # index of a later cell using an exercise -> its student version


def read_solution(path: Path, root: Path) -> Solution:
    """Read and check one solution notebook against docs/notebooks.md."""
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    nb, written_ids = _read_notebook(path, rel)
    cells = nb.cells
    if not cells or cells[0].cell_type != "markdown" or not cells[0].source.lstrip().startswith("# "):
        raise NotebookError(
            f"{rel}, cell 0: the first cell must be the title, a markdown cell starting with '# ': "
            "the badge and the student-notebook links go right after it."
        )
    _set_cell_ids(cells, written_ids, rel)
    setup_index = _setup_index(cells, rel)
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            check_plain_markdown(cell.source, f"{rel}, cell {index}")
    found = _exercise_cells(cells, path.stem, rel)
    hint_cells = set()
    for index, exercise_cell in found.items():
        _check_check_cell(cells, index, exercise_cell, rel)
        hint_cells.update(check_hints(cells, index, exercise_cell.name, rel))
    check_no_stray_hints(cells, hint_cells, rel)
    return Solution(path.stem, path, nb, found, setup_index, _guarded_cells(cells, found, rel))


def _check_check_cell(cells, index: int, exercise_cell: ExerciseCell, rel: str) -> None:
    """The cell right after an exercise cell is its check: `checks.<name>(<object>)`."""
    call = f"checks.{exercise_cell.name}({exercise_cell.object_name})"
    following = cells[index + 1] if index + 1 < len(cells) else None
    if following is None or following.cell_type != "code" or call not in following.source:
        raise NotebookError(
            f"{rel}, cell {index} (exercise {exercise_cell.name!r}): the cell right after it must be its "
            f"check, a code cell calling `{call}` (define, check, use): add it there, and move any cell "
            "in between after it."
        )


def _guarded_cells(cells, found: dict[int, ExerciseCell], rel: str) -> dict[int, str]:
    """Each later code cell that uses an exercise's function or class -> its guarded student version."""
    guarded = {}
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or index in found or index - 1 in found:
            continue
        for exercise_index, exercise_cell in found.items():
            if exercise_index > index:
                continue
            source = guarded.get(index, cell.source)
            where = f"{rel}, cell {index}"
            student = guarded_source(source, exercise_cell, where)
            if student is not None:
                guarded[index] = student
    return guarded


def _read_notebook(path: Path, rel: str) -> tuple[nbformat.NotebookNode, list[str | None]]:
    """The notebook, and its cells' ids as written (None where a cell has none)."""
    try:
        text = path.read_text(encoding="utf-8")
        # The ids as written: nbformat would invent random ones for cells without, and repair duplicates.
        written_ids = [cell.get("id") for cell in json.loads(text).get("cells", [])]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # decoding, json and nbformat raise several kinds for unreadable notebooks
        raise NotebookError(
            f"{rel}: not a readable notebook ({error}): fix or resave it in Jupyter."
        ) from None
    return nb, written_ids


def _set_cell_ids(cells, written_ids: list[str | None], rel: str) -> None:
    """Each cell keeps its written id, or gets `cell-<index>`; a repeated id is refused."""
    ids = set()
    for index, cell in enumerate(cells):
        cell_id = written_ids[index] or f"cell-{index}"
        if cell_id in ids or cell_id in (BADGE_CELL_ID, LINKS_CELL_ID):
            raise NotebookError(
                f"{rel}, cell {index}: cell id {cell_id!r} is used twice: give the cell a new id "
                "(or clear it and re-save the notebook in Jupyter)."
            )
        cell["id"] = cell_id
        ids.add(cell_id)


def _setup_index(cells, rel: str) -> int:
    """The index of the setup cell, checked to be the first code cell and to hold the placeholder."""
    code_cells = [index for index, cell in enumerate(cells) if cell.cell_type == "code"]
    setup = [index for index, cell in enumerate(cells) if "setup" in _tags(cell)]
    if len(setup) != 1 or not code_cells or setup[0] != code_cells[0]:
        raise NotebookError(
            f"{rel}: the first code cell, and only it, must have the tag `setup` (found it on cells "
            f"{setup or 'none'}): it installs the helpers package when it is missing."
        )
    if SETUP_PLACEHOLDER not in cells[setup[0]].source:
        raise NotebookError(
            f"{rel}, cell {setup[0]} (setup): it must install {SETUP_PLACEHOLDER!r} literally, e.g. "
            f'`%pip install --quiet "{SETUP_PLACEHOLDER}"`; this script writes the address from '
            "_config.yml into the generated notebooks."
        )
    return setup[0]


def _exercise_cells(cells, stem: str, rel: str) -> dict[int, ExerciseCell]:
    """The notebook's exercise cells (index -> generated versions), each checked against the registry."""
    found: dict[int, ExerciseCell] = {}
    for index, cell in enumerate(cells):
        name = cell.get("metadata", {}).get("exercise")
        where = f"{rel}, cell {index}" + (f" (exercise {name!r})" if name else "")
        if not _is_exercise_cell(cell, name, where):
            continue
        _check_registered(name, stem, where)
        for other, seen in found.items():
            if seen.name == name:
                raise NotebookError(
                    f"{where}: exercise name {name!r} is already used by cell {other}: "
                    "every exercise has its own name."
                )
        found[index] = make_exercise_cell(cell.source, name, exercises.get(name).object_name, where)
    return found


def _is_exercise_cell(cell, name, where: str) -> bool:
    """Whether the cell is an exercise cell; a cell that is half one (or hides a marker) is refused."""
    tagged = "exercise" in _tags(cell)
    if "answer" in _tags(cell) and cell.cell_type != "markdown":
        raise NotebookError(f"{where}: a cell tagged `answer` must be a markdown cell (a model answer).")
    if name is None and not tagged:
        if cell.cell_type == "code":
            for number, line in enumerate(cell.source.split("\n")):
                if MARKER_LIKE.match(line):
                    raise NotebookError(
                        f"{where}: line {number + 1} has a solution marker but the cell is not an "
                        "exercise, so the solution would reach the student notebook: add the tag "
                        '`exercise` and the metadata `"exercise": "<name>"`, or remove the marker.'
                    )
        return False
    if cell.cell_type != "code" or not tagged or not isinstance(name, str):
        raise NotebookError(
            f"{where}: an exercise cell is a code cell with both the tag `exercise` and the cell "
            'metadata `"exercise": "<stable name>"`: add the missing one.'
        )
    return True


def _check_registered(name: str, stem: str, where: str) -> None:
    """The exercise `name` is in the registry (helpers/exercises.py) and belongs to notebook `stem`."""
    try:
        exercise = exercises.get(name)
    except KeyError:
        known = [exercise.name for exercise in exercises.in_notebook(stem)]
        raise NotebookError(
            f"{where}: unknown exercise name {name!r}; the exercises of {stem} in helpers/exercises.py "
            f"are {known}: use one of them, or add the new exercise to EXERCISES in helpers/exercises.py "
            '(README, "Adding or editing an exercise").'
        ) from None
    if exercise.notebook != stem:
        raise NotebookError(
            f"{where}: exercise {name!r} belongs to {exercise.notebook}, not {stem} "
            "(helpers/exercises.py): fix the name, or move the exercise and its `notebook` there."
        )


# ---------------------------------------------------------------- the generated notebooks


def _clean_cell(cell, cell_id: str | None = None):
    """A copy of the cell without outputs, execution count or volatile metadata."""
    cell = copy.deepcopy(cell)
    if cell_id is not None:
        cell["id"] = cell_id
    for key in VOLATILE_CELL_METADATA:
        cell.metadata.pop(key, None)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    if "attachments" in cell and not cell.attachments:
        del cell["attachments"]
    return cell


def _new_notebook(cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    nb.cells = cells
    return nb


def _setup_cell(cell, repo: Repository):
    cell = _clean_cell(cell)
    cell.source = cell.source.replace(SETUP_PLACEHOLDER, repo.pip_address)
    return cell


def student_path(stem: str) -> str:
    return f"book/student/{stem}.ipynb"


def make_student(solution: Solution, repo: Repository) -> nbformat.NotebookNode:
    """The student notebook: stubs, guarded use cells, no answers, an "Open in Colab" link after the title.

    The link is plain text: a badge image would be fetched from the internet by every client.
    """
    cells = []
    for index, cell in enumerate(solution.nb.cells):
        if "answer" in _tags(cell) or book_cells.is_claim_cell(cell):
            continue
        if index == solution.setup_index:
            cells.append(_setup_cell(cell, repo))
            continue
        cell = _clean_cell(cell)
        if index in solution.exercise_cells:
            cell.source = solution.exercise_cells[index].stub
        cell.source = solution.guarded_cells.get(index, cell.source)
        cells.append(cell)
        if index == 0:
            link = f"[Open in Colab]({repo.colab_url(student_path(solution.stem))})"
            cells.append(nbformat.v4.new_markdown_cell(link, id=BADGE_CELL_ID))
    return _new_notebook(cells)


def make_book_page(solution: Solution, repo: Repository) -> nbformat.NotebookNode:
    """The web page: the solution with exercises shown as starting code, then the hidden solution.

    Figures carry their captions (myst-nb figure options; the caption paragraph leaves its markdown
    cell, which is dropped when nothing else is in it), claim cells are hidden.
    """
    rel = f"solutions/{solution.path.name}"
    captions = book_cells.figure_captions(solution.nb.cells, rel)
    moved = {caption.markdown_index: caption for caption in captions.values()}
    cells = []
    for index, cell in enumerate(solution.nb.cells):
        if index == solution.setup_index:
            cell = _setup_cell(cell, repo)
            _add_tag(cell, "remove-cell")
            cells.append(cell)
            continue
        cell = _clean_cell(cell)
        if index in moved:
            if not moved[index].rest:
                continue
            cell.source = moved[index].rest
        if "answer" in _tags(cell):
            cell.source = _fence(cell.source, "{dropdown} Model answer")
        if book_cells.is_claim_cell(cell):
            _add_tag(cell, book_cells.HIDDEN_CELL_TAG)
        if index in captions:
            book_cells.page_figure_cell(cell, captions[index])
        if index in solution.exercise_cells:
            cells.append(_starting_code_cell(solution.exercise_cells[index], cell.id))
            book_cells.page_solution_cell(cell, f"{rel}, cell {index}")
        cells.append(cell)
        if index == 0:
            cells.append(_student_links_cell(solution.stem, repo))
    return _new_notebook(cells)


def _starting_code_cell(exercise_cell: ExerciseCell, cell_id: str) -> nbformat.NotebookNode:
    """The markdown cell before a solution on the book page: the exercise as the student gets it."""
    intro = "Starting code, as in the student notebook (the solution follows: click to show it):"
    text = f"{intro}\n\n{_fence(exercise_cell.stub, 'python')}"
    stub = nbformat.v4.new_markdown_cell(text, id=cell_id[: 64 - len(STUB_SUFFIX)] + STUB_SUFFIX)
    stub.metadata["exercise_stub"] = exercise_cell.name
    return stub


def _student_links_cell(stem: str, repo: Repository) -> nbformat.NotebookNode:
    """The markdown cell after the book page's title: open the student notebook in Colab, or download it."""
    student = student_path(stem)
    links = (
        f"[![Open in Colab](../_static/colab-badge.svg)]({repo.colab_url(student)}) "
        "Do the exercises yourself: open this page's student notebook in Colab, or download the "
        f"{{download}}`student notebook <../student/{stem}.ipynb>` and run it in Jupyter."
    )
    return nbformat.v4.new_markdown_cell(links, id=LINKS_CELL_ID)


def dumps(nb: nbformat.NotebookNode) -> bytes:
    """The notebook as stable JSON (sorted keys, indent 1, one trailing newline)."""
    problems = {}
    text = nbformat.writes(nb, version=nbformat.NO_CONVERT, capture_validation_error=problems)
    if problems:
        error = problems["ValidationError"].message
        raise NotebookError(f"generated notebook is invalid ({error}): please report this bug.")
    return (text.rstrip("\n") + "\n").encode("utf-8")


# ---------------------------------------------------------------- every generated file


def solution_paths(root: Path) -> list[Path]:
    folder = root / "solutions"
    paths = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    for path in paths:
        if not NOTEBOOK_NAME.match(path.name):
            raise NotebookError(
                f"solutions/{path.name}: solution notebooks are named NN_name.ipynb (two digits, lower "
                "case, underscores): rename it."
            )
    return paths


def generate(root: Path) -> dict[Path, bytes]:
    """Every generated file (path -> content), from the solution notebooks under `root`."""
    repo = read_repository(root)
    files = {root / LOCAL_BADGE: BADGE_SVG.encode("utf-8")}
    for path in solution_paths(root):
        # Each exercise name belongs to one notebook (the registry), so names are unique across notebooks.
        solution = read_solution(path, root)
        files[root / student_path(solution.stem)] = dumps(make_student(solution, repo))
        files[root / "book" / "tutorials" / path.name] = dumps(make_book_page(solution, repo))
    return files


def stale_files(root: Path, files: dict[Path, bytes]) -> list[Path]:
    """Generated notebooks left over from solution notebooks that no longer exist."""
    found = []
    for folder in ("student", "tutorials"):
        found += [p for p in sorted((root / "book" / folder).glob("*.ipynb")) if p not in files]
    return found
