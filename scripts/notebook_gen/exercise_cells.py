"""One exercise cell of a solution notebook -> its student version, and the guard of the cells using it.

An exercise cell only defines its function or class (its check comes next; the cells that use the
result come after). Each solution block (`# TODO:` sentence, `# BEGIN SOLUTION`, the solution,
`# END SOLUTION`) becomes `raise NotImplementedError("Exercise '<name>': <the TODO sentence>")` at the
block's indentation, and nothing else: no line may be left after it that needs the solution's names.
A later cell that uses the exercise starts, in the student notebook, with `guard_lines`: placeholders
for the names it assigns, then `require_done`, which stops the cell while the stub is unfinished. The
markers are checked on the way, and a broken one stops the generator with the cell and the fix.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass

from helpers.files import python_source
from notebook_gen.rules import (
    BEGIN,
    END,
    GUARD_COMMENT,
    GUARD_IMPORT,
    LINE_LENGTH,
    MARKER_LIKE,
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


def guard_lines(exercise: str, stubs: tuple[str, ...], names: list[str]) -> list[str]:
    """The block a student notebook's "use" cell starts with: placeholders for `names`, then the guard.

    Until the exercise is done the guard stops the cell before anything runs on the stub, and the names
    the cell would assign stay placeholders that say which exercise to do when a later cell uses them.
    """
    binds = [f'{name} = not_done("{exercise}", "{name}")' for name in names]
    return [
        GUARD_COMMENT.format(exercise=exercise),
        GUARD_IMPORT,
        "",
        *binds,
        f'require_done("{exercise}", {", ".join(stubs)})',
        "",
    ]


def _parse(source: str, where: str, fix: str) -> ast.Module:
    """The cell's syntax tree (magics turned into calls); a NotebookError naming the line if invalid."""
    try:
        return ast.parse(python_source(source))
    except SyntaxError as error:
        raise NotebookError(
            f"{where}: the cell is not valid Python (line {error.lineno}: {error.msg}): {fix}."
        ) from None


def guarded_source(source: str, exercise_cell: ExerciseCell, where: str) -> str | None:
    """A later cell using what the exercise cell defines, as the student gets it: guard block, then the
    cell (None for a cell that uses none of it)."""
    tree = _parse(source, where, "fix it")
    defined = exercise_cell.defines
    if not any(isinstance(n, ast.Name) and n.id in defined for n in ast.walk(tree)):
        return None
    lines = guard_lines(exercise_cell.name, exercise_cell.stubs, assigned_names(tree))
    return "\n".join([*lines, source])


@dataclass(frozen=True)
class ExerciseCell:
    """An exercise cell's student version (the exercise itself is `helpers.exercises.get(name)`)."""

    name: str
    object_name: str  # the registry's name for what the cell defines, e.g. `make_classifier`
    stub: str  # the cell with its blocks replaced by raises: the student notebook's cell, the book's code
    defines: tuple[str, ...]  # every function and class the cell defines
    stubs: tuple[str, ...]  # those of them that hold a raise in the student notebook


def make_exercise_cell(source: str, exercise: str, object_name: str, where: str) -> ExerciseCell:
    """Check an exercise cell (markers, Python, definitions only) and make its student version."""
    tree = _parse(source, where, "fix the solution")
    _check_defines_only(tree, object_name, where)
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
    _check_no_solution_names_left(tree, stub_tree, where)
    definitions = [s for s in stub_tree.body if isinstance(s, (ast.FunctionDef, ast.ClassDef))]
    stubs = [d.name for d in definitions if any(n.lineno in in_function for n in ast.walk(d) if
                                               isinstance(n, ast.Raise))]
    return ExerciseCell(exercise, object_name, stub, tuple(d.name for d in definitions), tuple(stubs))


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def _check_defines_only(tree: ast.Module, object_name: str, where: str) -> None:
    """The cell only defines (functions, classes, imports), and it defines `object_name`."""
    for statement in tree.body:
        docstring = isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
        if not isinstance(statement, _DEFINITIONS) and not docstring:
            text = ast.unparse(statement).split("\n")[0]
            raise NotebookError(
                f"{where}: line {statement.lineno} (`{text}`) does more than define `{object_name}`. An "
                "exercise cell only defines its function or class, so that its check (the next cell) "
                "reports a wrong answer before anything runs on it: move this line and the ones that "
                "use the result into a code cell after the check cell (define, check, use)."
            )
    defined = [s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.ClassDef))]
    if object_name not in defined:
        raise NotebookError(
            f"{where}: the cell must define `{object_name}` (helpers/exercises.py, `object_name`), but it "
            f"defines {defined or 'nothing'}: define it here, or fix the registry entry."
        )


def _function_locals(tree: ast.AST) -> dict[str, tuple[ast.AST, set[str]]]:
    """Each function (by qualified name) -> (its node, the names its body binds, arguments included)."""
    found = {}

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    bound = {a.arg for a in ast.walk(child.args) if isinstance(a, ast.arg)}
                    stores = [n for n in ast.walk(child) if isinstance(n, ast.Name)]
                    bound |= {n.id for n in stores if isinstance(n.ctx, ast.Store)}
                    found[name] = (child, bound)
                walk(child, name + ".")

    walk(tree, "")
    return found


def _check_no_solution_names_left(tree: ast.Module, stub_tree: ast.Module, where: str) -> None:
    """No line left in a stub reads a local name that only the solution block assigns (dead, undefined)."""
    solution, stub = _function_locals(tree), _function_locals(stub_tree)
    for name, (node, bound) in stub.items():
        missing = solution.get(name, (None, set()))[1] - bound
        for used in ast.walk(node):
            if isinstance(used, ast.Name) and isinstance(used.ctx, ast.Load) and used.id in missing:
                raise NotebookError(
                    f"{where}: in `{name}`, line {used.lineno} of the student's version uses `{used.id}`, "
                    "which only the solution block assigns, so it would be an undefined name after the "
                    "stub's raise: move that line inside the solution block (e.g. the `return`)."
                )


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
