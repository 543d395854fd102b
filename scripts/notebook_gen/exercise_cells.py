"""One exercise cell of a solution notebook -> its student version.

Each solution block (`# TODO:` sentence, `# BEGIN SOLUTION`, the solution, `# END SOLUTION`) becomes
`raise NotImplementedError("Exercise '<name>': <the TODO sentence>")` at the block's indentation; every
module-level name the cell assigns is first bound to a `helpers.placeholders.not_done` placeholder, so
a later cell that uses it says which exercise to do. The markers are checked on the way, and a broken
one stops the generator with the cell and the fix.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass

from helpers.files import python_source
from notebook_gen.rules import (
    BEGIN,
    END,
    LINE_LENGTH,
    MARKER_LIKE,
    PLACEHOLDER_COMMENT,
    PLACEHOLDER_IMPORT,
    TODO,
    NotebookError,
)


@dataclass(frozen=True)
class Block:
    """One solution block: lines todo_start..end (0-based, inclusive) of the cell, `# TODO:` to END."""

    todo_start: int
    begin: int
    end: int
    indent: str
    todo: str


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
class ExerciseCell:
    """An exercise cell's generated versions (the exercise itself is `helpers.exercises.get(name)`)."""

    name: str
    stub: str  # the cell with its blocks replaced, without placeholders (shown on the book page)
    student: str  # what the student notebook's cell holds: placeholders, then the stub


def make_exercise_cell(source: str, exercise: str, where: str) -> ExerciseCell:
    """Check an exercise cell's markers and Python, and make its student version."""
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError as error:
        raise NotebookError(
            f"{where}: the cell is not valid Python (line {error.lineno}: {error.msg}): fix the solution."
        ) from None
    blocks = find_blocks(source, where)
    stub, raise_lines = stub_source(source, exercise, blocks)
    try:
        stub_tree = ast.parse(python_source(stub))
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
    return ExerciseCell(exercise, stub, student)


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
