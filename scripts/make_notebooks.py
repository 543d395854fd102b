"""Generate the student notebooks and the book pages from the solution notebooks.

    python scripts/make_notebooks.py           # (re)write every generated file that differs
    python scripts/make_notebooks.py --check   # write nothing; exit 1 listing the files that differ

`solutions/NN_name.ipynb` are the only notebooks edited by hand (rules: docs/notebooks.md). From each
one this script makes:

- `book/student/NN_name.ipynb`, what students open (locally, or through the Colab badge): every
  solution block of an exercise cell (`# BEGIN SOLUTION` ... `# END SOLUTION`) becomes
  `raise NotImplementedError("Exercise '<name>': <the TODO sentence>")` at the block's indentation;
  names the exercise cell assigns at module level are first bound to placeholders
  (`helpers.placeholders.not_done`) that point back at the exercise when a later cell uses them; answer
  cells are dropped; an "Open in Colab" badge follows the title.
- `book/tutorials/NN_name.ipynb`, the web page (the book build executes it): the whole solution, with
  each exercise shown as its starting code (a markdown cell) followed by the solution cell tagged
  `hide-input`, each answer inside a `{dropdown}`, the setup cell tagged `remove-cell`, and links to
  the page's student notebook (Colab, download) after the title.
- `book/_static/colab-badge.svg`, the badge image the offline web book shows.

The repository address is set in one place, `_config.yml` (`repository.url`, `repository.branch`).
The setup cells of the solution notebooks keep the literal placeholders `git+REPO_URL@BRANCH` (the
instructors run them where helpers is installed, so the install line never runs there); this script
writes the real address into the generated notebooks only, and never writes into `solutions/`.

Output is deterministic (same bytes every run): no outputs or execution counts, kernelspec python3,
cell ids taken from the solution's cells (cells this script adds get fixed ids). Any rule broken in a
solution notebook stops the run before anything is written, with the notebook, the cell index, the
exercise and the fix.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import re
import sys
import tempfile
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]

# The exercises and the notebook each belongs to (the table in docs/notebooks.md; a test keeps them equal).
EXERCISES = {
    "preferred_orientation": "01_decoding",
    "classifier": "01_decoding",
    "regularized_loss": "01_decoding",
    "conv_fc_encoder": "02_encoding",
}

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
TODO = "# TODO:"
SETUP_PLACEHOLDER = "git+REPO_URL@BRANCH"
# First line of the placeholder block at the top of a student exercise cell: this comment, the import, a
# blank line, one `name = helpers.placeholders.not_done(...)` line per name, a blank line.
PLACEHOLDER_COMMENT = (
    "# Until this exercise is done, the names it assigns are placeholders that say so when used."
)
PLACEHOLDER_IMPORT = "import helpers.placeholders"
LINE_LENGTH = 110  # pyproject.toml's ruff line-length: the stubs stay within it
BADGE_CELL_ID = "colab-badge"
LINKS_CELL_ID = "student-notebook-links"
STUB_SUFFIX = "-starting-code"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")
NOTEBOOK_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
MARKER_LIKE = re.compile(r"^\s*#\s*(begin|end)\s*solutions?\b", re.IGNORECASE)
COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
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


class NotebookError(Exception):
    """A solution notebook or _config.yml breaks a rule of docs/notebooks.md; the message says the fix."""


@dataclass(frozen=True)
class Repository:
    url: str  # https://github.com/OWNER/REPO
    branch: str
    owner: str
    name: str

    def colab_url(self, path_in_repo: str) -> str:
        return f"https://colab.research.google.com/github/{self.owner}/{self.name}/blob/{self.branch}/{path_in_repo}"

    @property
    def pip_address(self) -> str:
        return f"git+{self.url}@{self.branch}"


def find_config(root: Path) -> Path:
    """The book's _config.yml: at the project root, else in book/."""
    for candidate in (root / "_config.yml", root / "book" / "_config.yml"):
        if candidate.is_file():
            return candidate
    raise NotebookError(
        f"no _config.yml in {root} or {root / 'book'}: create one with a `repository:` block "
        "(url: https://github.com/OWNER/REPO, branch: main); the notebooks take the address from it."
    )


def read_repository(root: Path) -> Repository:
    """`repository.url` and `repository.branch` from _config.yml, checked to be a GitHub address."""
    path = find_config(root)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise NotebookError(f"{path} is not valid YAML ({error}): fix it, then run this again.") from None
    repo = config.get("repository") if isinstance(config, dict) else None
    url = repo.get("url") if isinstance(repo, dict) else None
    branch = repo.get("branch") if isinstance(repo, dict) else None
    if not isinstance(url, str) or not isinstance(branch, str) or not branch.strip():
        raise NotebookError(
            f"{path} needs `repository.url` and `repository.branch` (e.g. url: "
            "https://github.com/OWNER/REPO, branch: main): add them, then run this again."
        )
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", url.strip())
    if not match:
        raise NotebookError(
            f"{path}: repository.url {url!r} is not a GitHub address https://github.com/OWNER/REPO; "
            "Colab opens notebooks from GitHub only: set it to the repository's GitHub address."
        )
    owner, name = match.groups()
    return Repository(f"https://github.com/{owner}/{name}", branch.strip(), owner, name)


# ---------------------------------------------------------------- exercise cells


@dataclass(frozen=True)
class Block:
    """One solution block: lines todo_start..end (0-based, inclusive) of the cell, `# TODO:` to END."""

    todo_start: int
    begin: int
    end: int
    indent: str
    todo: str


def _python(source: str) -> str:
    """The cell's source as plain Python (IPython magics turned into calls, line numbers kept)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with the kernel
        return source
    return TransformerManager().transform_cell(source)


def find_blocks(source: str, where: str) -> list[Block]:
    """The solution blocks of an exercise cell, checking the markers; `where` names the cell in errors."""
    lines = source.split("\n")
    blocks: list[Block] = []
    open_at = None
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped not in (BEGIN, END):
            if MARKER_LIKE.match(line):
                raise NotebookError(
                    f"{where}: line {number + 1} {stripped!r} looks like a marker but is not one: "
                    f"write exactly {BEGIN!r} or {END!r} on a line of its own."
                )
            continue
        indent = line[: len(line) - len(line.lstrip())]
        if stripped == BEGIN:
            if open_at is not None:
                raise NotebookError(
                    f"{where}: line {number + 1} opens {BEGIN!r} again before the block opened at line "
                    f"{open_at + 1} is closed: add {END!r} after that block's solution code."
                )
            todo_start, todo = _todo_before(lines, number, indent, where)
            open_at = number
        else:
            if open_at is None:
                raise NotebookError(
                    f"{where}: line {number + 1} has {END!r} without a {BEGIN!r} before it: "
                    f"add the {BEGIN!r} line (after a {TODO!r} line) where the solution starts."
                )
            begin_indent = lines[open_at][: len(lines[open_at]) - len(lines[open_at].lstrip())]
            if indent != begin_indent:
                raise NotebookError(
                    f"{where}: {END!r} at line {number + 1} is indented differently from its {BEGIN!r} "
                    f"at line {open_at + 1}: indent both like the solution code between them."
                )
            body = lines[open_at + 1 : number]
            if not any(line.strip() for line in body):
                raise NotebookError(
                    f"{where}: the block at lines {open_at + 1}-{number + 1} has no solution code: "
                    "put the solution between the markers."
                )
            for offset, code in enumerate(body):
                if code.strip() and not code.startswith(begin_indent):
                    raise NotebookError(
                        f"{where}: line {open_at + 2 + offset} is indented less than the {BEGIN!r} "
                        "marker above it: the markers sit at the indentation of the code they enclose."
                    )
            blocks.append(Block(todo_start, open_at, number, begin_indent, todo))
            open_at = None
    if open_at is not None:
        raise NotebookError(
            f"{where}: the block opened by {BEGIN!r} at line {open_at + 1} has no {END!r}: "
            "add it after the block's solution code."
        )
    if not blocks:
        raise NotebookError(
            f"{where}: an exercise cell needs at least one block ({TODO!r} line, {BEGIN!r}, solution, "
            f"{END!r}) inside the function or class it defines: add one, or drop the cell's "
            "`exercise` tag and metadata."
        )
    return blocks


def _todo_before(lines: list[str], begin: int, indent: str, where: str) -> tuple[int, str]:
    """The `# TODO:` sentence right before line `begin`; continuation lines start with '#' and 2+ spaces."""
    parts = []
    number = begin - 1
    while number >= 0:
        line = lines[number]
        if line.startswith(indent + TODO):
            parts.insert(0, line[len(indent + TODO) :].strip())
            break
        if line.startswith(indent + "#  ") and line.strip() not in (BEGIN, END):
            parts.insert(0, line.strip()[1:].strip())
            number -= 1
            continue
        number = -1
    if number < 0 or not parts[0]:
        raise NotebookError(
            f"{where}: {BEGIN!r} at line {begin + 1} needs a {TODO!r} line right before it, at the same "
            "indentation, with one sentence telling the student what to fill in "
            f"(e.g. `{indent.strip()}# TODO: smooth each tuning curve, then take its argmax`)."
        )
    return number, " ".join(part for part in parts if part)


def _quote(text: str) -> str:
    """A Python string literal for `text`, in double quotes when it can be."""
    return f'"{text}"' if '"' not in text and "\\" not in text and text.isprintable() else repr(text)


def _raise_lines(indent: str, message: str) -> list[str]:
    """`raise NotImplementedError(message)`, wrapped so that it stays within LINE_LENGTH."""
    single = f"{indent}raise NotImplementedError({_quote(message)})"
    if len(single) <= LINE_LENGTH:
        return [single]
    inner = indent + "    "
    width = LINE_LENGTH - len(inner) - 3  # quotes and a trailing space inside the string
    pieces = textwrap.wrap(message, width=width, break_long_words=False, break_on_hyphens=False)
    pieces = [piece + " " for piece in pieces[:-1]] + pieces[-1:]
    return [f"{indent}raise NotImplementedError("] + [inner + _quote(p) for p in pieces] + [f"{indent})"]


def stub_source(source: str, exercise: str, blocks: list[Block]) -> tuple[str, list[int]]:
    """The cell with each block (markers included) replaced by a raise, and the raises' first lines."""
    lines = source.split("\n")
    out: list[str] = []
    raise_lines = []
    position = 0
    for block in blocks:
        out.extend(lines[position : block.begin])
        raise_lines.append(len(out) + 1)
        out.extend(_raise_lines(block.indent, f"Exercise '{exercise}': {block.todo}"))
        position = block.end + 1
    out.extend(lines[position:])
    return "\n".join(out), raise_lines


class _Names(ast.NodeVisitor):
    """Names a module-level statement reads and binds (not looking into function or class bodies)."""

    def __init__(self):
        self.loads: set[str] = set()
        self.stores: list[str] = []

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self.loads.add(node.id)
        elif isinstance(node.ctx, ast.Store) and node.id not in self.stores:
            self.stores.append(node.id)

    def visit_AugAssign(self, node):  # `x += 1` reads x first
        if isinstance(node.target, ast.Name):
            self.loads.add(node.target.id)
        self.generic_visit(node)

    def visit_Lambda(self, node):  # its body runs later, in its own scope
        self.generic_visit(node.args)

    def _comprehension(self, node):  # own scope: only the first iterable is read here
        self.visit(node.generators[0].iter)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


def _units(body):
    """Module-level simple statements and compound-statement headers, in execution order."""
    skip = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Global)
    for statement in body:
        if isinstance(statement, skip):
            continue
        if isinstance(statement, (ast.If, ast.While)):
            yield statement.test
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            yield ast.Tuple(elts=[statement.iter, statement.target], ctx=ast.Load())
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            yield from statement.items
        elif isinstance(statement, ast.Match):
            yield statement.subject
            for case in statement.cases:
                yield from _units(case.body)
        elif not hasattr(statement, "body"):
            yield statement
            continue
        for handler in getattr(statement, "handlers", []):
            yield from _units(handler.body)
        for field in ("body", "orelse", "finalbody"):
            yield from _units(getattr(statement, field, []))


def assigned_names(tree: ast.Module) -> list[str]:
    """Module-level names the cell binds by assignment, in order, except those it reads before binding.

    A name the cell reads before it binds it (`resp = resp[:, :10]`) refers to an earlier cell's value,
    so it gets no placeholder (the placeholder would break the cell itself).
    """
    bound: list[str] = []
    read_first: set[str] = set()
    for unit in _units(tree.body):
        names = _Names()
        names.visit(unit)
        read_first |= {name for name in names.loads if name not in bound}
        bound += [name for name in names.stores if name not in bound]
    return [name for name in bound if name not in read_first and name != "_"]


def placeholder_lines(exercise: str, names: list[str]) -> list[str]:
    """The block that binds `names` to placeholders at the top of a student exercise cell."""
    if not names:
        return []
    binds = [f'{name} = helpers.placeholders.not_done("{exercise}", "{name}")' for name in names]
    return [PLACEHOLDER_COMMENT, PLACEHOLDER_IMPORT, "", *binds, ""]


@dataclass(frozen=True)
class Exercise:
    name: str
    stub: str  # the cell with its blocks replaced, without placeholders (shown on the book page)
    student: str  # what the student notebook's cell holds: placeholders, then the stub


def make_exercise(source: str, exercise: str, where: str) -> Exercise:
    """Check an exercise cell's markers and Python, and make its student version."""
    try:
        tree = ast.parse(_python(source))
    except SyntaxError as error:
        raise NotebookError(
            f"{where}: the cell is not valid Python (line {error.lineno}: {error.msg}): fix the solution."
        ) from None
    blocks = find_blocks(source, where)
    stub, raise_lines = stub_source(source, exercise, blocks)
    try:
        stub_tree = ast.parse(_python(stub))
    except SyntaxError as error:  # pragma: no cover - a block inside a body always leaves valid Python
        raise NotebookError(
            f"{where}: replacing the solution blocks leaves invalid Python (line {error.lineno}: "
            f"{error.msg}): each block must hold whole statements of one function or method body."
        ) from None
    in_function = _raises_in_functions(stub_tree)
    for block, line in zip(blocks, raise_lines, strict=True):
        if line not in in_function:
            raise NotebookError(
                f"{where}: the block at line {block.begin + 1} is not inside a function or method body: "
                "every exercise is a function or a class; put the block inside the body it completes."
            )
    student = "\n".join(placeholder_lines(exercise, assigned_names(tree)) + [stub])
    return Exercise(exercise, stub, student)


def _raises_in_functions(tree: ast.Module) -> set[int]:
    """Line numbers of `raise` statements that sit directly in some function's body (not a nested class)."""
    found = set()

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Raise) and in_function:
                found.add(child.lineno)
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                walk(child, True)
            elif isinstance(child, ast.ClassDef):
                walk(child, False)
            else:
                walk(child, in_function)

    walk(tree, False)
    return found


# ---------------------------------------------------------------- notebooks


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


@dataclass
class Solution:
    """A checked solution notebook."""

    stem: str
    path: Path
    nb: nbformat.NotebookNode
    exercises: dict[int, Exercise]  # cell index -> exercise
    setup_index: int


def read_solution(path: Path, root: Path) -> Solution:
    """Read and check one solution notebook against docs/notebooks.md."""
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
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
    stem = path.stem
    cells = nb.cells
    if not cells or cells[0].cell_type != "markdown" or not cells[0].source.lstrip().startswith("# "):
        raise NotebookError(
            f"{rel}, cell 0: the first cell must be the title, a markdown cell starting with '# ': "
            "the badge and the student-notebook links go right after it."
        )
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

    exercises = {}
    for index, cell in enumerate(cells):
        name = cell.get("metadata", {}).get("exercise")
        tagged = "exercise" in _tags(cell)
        where = f"{rel}, cell {index}" + (f" (exercise {name!r})" if name else "")
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
            continue
        if cell.cell_type != "code" or not tagged or not isinstance(name, str):
            raise NotebookError(
                f"{where}: an exercise cell is a code cell with both the tag `exercise` and the cell "
                'metadata `"exercise": "<stable name>"`: add the missing one.'
            )
        if name not in EXERCISES:
            raise NotebookError(
                f"{where}: unknown exercise name {name!r}; the known ones are {sorted(EXERCISES)}: use "
                "one of them, or add the new one to docs/notebooks.md and to EXERCISES in "
                "scripts/make_notebooks.py."
            )
        if EXERCISES[name] != stem:
            raise NotebookError(
                f"{where}: exercise {name!r} belongs to {EXERCISES[name]}, not {stem}: "
                "fix the name, or move the exercise."
            )
        for other, seen in exercises.items():
            if seen.name == name:
                raise NotebookError(
                    f"{where}: exercise name {name!r} is already used by cell {other}: "
                    "every exercise has its own name."
                )
        exercises[index] = make_exercise(cell.source, name, where)
    return Solution(stem, path, nb, exercises, setup[0])


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
    """The student notebook: stubs and placeholders, no answers, a Colab badge after the title."""
    cells = []
    for index, cell in enumerate(solution.nb.cells):
        if "answer" in _tags(cell):
            continue
        if index == solution.setup_index:
            cells.append(_setup_cell(cell, repo))
            continue
        cell = _clean_cell(cell)
        if index in solution.exercises:
            cell.source = solution.exercises[index].student
        cells.append(cell)
        if index == 0:
            badge = f"[![Open In Colab]({COLAB_BADGE_IMAGE})]({repo.colab_url(student_path(solution.stem))})"
            cells.append(nbformat.v4.new_markdown_cell(badge, id=BADGE_CELL_ID))
    return _new_notebook(cells)


def make_book_page(solution: Solution, repo: Repository) -> nbformat.NotebookNode:
    """The web page: the solution with exercises shown as starting code, then the hidden solution."""
    cells = []
    for index, cell in enumerate(solution.nb.cells):
        if index == solution.setup_index:
            cell = _setup_cell(cell, repo)
            _add_tag(cell, "remove-cell")
            cells.append(cell)
            continue
        cell = _clean_cell(cell)
        if "answer" in _tags(cell):
            cell.source = _fence(cell.source, "{dropdown} Model answer")
        if index in solution.exercises:
            exercise = solution.exercises[index]
            text = (
                "Starting code, as in the student notebook (the solution follows: click to show it):\n\n"
                + _fence(exercise.stub, "python")
            )
            stub = nbformat.v4.new_markdown_cell(text, id=cell.id[: 64 - len(STUB_SUFFIX)] + STUB_SUFFIX)
            stub.metadata["exercise_stub"] = exercise.name
            cells.append(stub)
            _add_tag(cell, "hide-input")
        cells.append(cell)
        if index == 0:
            student = student_path(solution.stem)
            links = (
                f"[![Open in Colab](../_static/colab-badge.svg)]({repo.colab_url(student)}) "
                "Do the exercises yourself: open this page's student notebook in Colab, or download the "
                f"{{download}}`student notebook <../student/{solution.stem}.ipynb>` and run it in Jupyter."
            )
            cells.append(nbformat.v4.new_markdown_cell(links, id=LINKS_CELL_ID))
    return _new_notebook(cells)


def dumps(nb: nbformat.NotebookNode) -> bytes:
    """The notebook as stable JSON (sorted keys, indent 1, one trailing newline)."""
    problems = {}
    text = nbformat.writes(nb, version=nbformat.NO_CONVERT, capture_validation_error=problems)
    if problems:
        error = problems["ValidationError"].message
        raise NotebookError(f"generated notebook is invalid ({error}): please report this bug.")
    return (text.rstrip("\n") + "\n").encode("utf-8")


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


def generate(root: Path = ROOT) -> dict[Path, bytes]:
    """Every generated file (path -> content), from the solution notebooks under `root`."""
    repo = read_repository(root)
    files = {root / LOCAL_BADGE: BADGE_SVG.encode("utf-8")}
    for path in solution_paths(root):
        # Each exercise name belongs to one notebook (EXERCISES), so names are unique across notebooks too.
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


def write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 listing generated files that differ from a fresh generation",
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="project root (default: this repository)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        files = generate(root)
    except NotebookError as error:
        print(f"make_notebooks: {error}", file=sys.stderr)
        return 2
    stale = stale_files(root, files)
    differ = [path for path, content in files.items() if not path.is_file() or path.read_bytes() != content]
    if args.check:
        if not differ and not stale:
            print(f"make_notebooks: {len(files)} generated files are up to date.")
            return 0
        for path in differ:
            state = "differs from a fresh generation" if path.is_file() else "is missing"
            print(f"{path.relative_to(root)} {state}", file=sys.stderr)
        for path in stale:
            print(f"{path.relative_to(root)} has no solution notebook any more", file=sys.stderr)
        print(
            "make_notebooks: run `python scripts/make_notebooks.py` (make notebooks) and commit the result.",
            file=sys.stderr,
        )
        return 1
    for path in differ:
        write_atomically(path, files[path])
        print(f"wrote {path.relative_to(root)}")
    for path in stale:
        path.unlink()
        print(f"removed {path.relative_to(root)} (its solution notebook is gone)")
    if not differ and not stale:
        print(f"make_notebooks: {len(files)} generated files already up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
