"""Architecture rules, checked on the code itself rather than trusted to review.

* Sizes: no function (``def``, ``async def``, methods and nested functions included) in
  ``helpers/`` or ``scripts/`` over 80 lines, no module there over 600 lines.
* Dependencies: the module table in ``docs/architecture.md`` lists every module of ``helpers/``
  (sub-packages included) with the ``helpers`` modules it imports, and those are exactly the imports
  ``ast`` finds in the file (anywhere in it, inside functions too; relative imports resolved).
* No import cycles between ``helpers`` modules.

A function's size is counted from its first decorator (or its ``def``) to its last line, docstring
and comments included; a module's size is its number of lines.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "helpers"
SIZE_CHECKED = ("helpers", "scripts")
CHECKED_FOLDERS = " and ".join(f"{folder}/" for folder in SIZE_CHECKED)
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 600
DOC = ROOT / "docs" / "architecture.md"
TABLE_HEADER = ("module", "its one job", "imports (helpers modules)")
NO_IMPORTS = {"—", "none"}
TO_FILL_IN = "TODO"


# --------------------------------------------------------------------------------------------
# Sizes
# --------------------------------------------------------------------------------------------


def checked_python_files(root: Path = ROOT) -> list[Path]:
    return sorted(path for folder in SIZE_CHECKED for path in (root / folder).rglob("*.py"))


def function_sizes(source: str) -> list[tuple[str, int, int]]:
    """``(qualified name, first line, number of lines)`` of every function in ``source``."""
    sizes = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                sizes.append((prefix + child.name, first, child.end_lineno - first + 1))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return sizes


def oversized_functions(paths: list[Path], root: Path = ROOT) -> list[str]:
    return [
        f"{path.relative_to(root)}:{line} {name}: {lines} lines"
        for path in paths
        for name, line, lines in function_sizes(path.read_text(encoding="utf-8"))
        if lines > MAX_FUNCTION_LINES
    ]


def oversized_modules(paths: list[Path], root: Path = ROOT) -> list[str]:
    counts = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in paths}
    return [f"{path.relative_to(root)}: {n} lines" for path, n in counts.items() if n > MAX_MODULE_LINES]


def test_no_function_over_the_size_limit():
    offenders = oversized_functions(checked_python_files())
    assert not offenders, (
        f"{len(offenders)} function(s) in {CHECKED_FOLDERS} over the limit of "
        f"{MAX_FUNCTION_LINES} lines (decorators, docstring and comments included). Split each into "
        "named steps:\n  " + "\n  ".join(offenders)
    )


def test_no_module_over_the_size_limit():
    offenders = oversized_modules(checked_python_files())
    assert not offenders, (
        f"{len(offenders)} module(s) in {CHECKED_FOLDERS} over the limit of "
        f"{MAX_MODULE_LINES} lines. Split each by job into modules (or a package):\n  "
        + "\n  ".join(offenders)
    )


def test_size_checks_find_long_functions_methods_and_modules(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    source = (
        f"def short():\n    return 1\n\n\nasync def long_async():\n{body}\n\n\n"
        f"class Box:\n    @staticmethod\n    def method():\n{textwrap.indent(body, '    ')}\n"
    )
    module = tmp_path / "helpers" / "big.py"
    module.parent.mkdir()
    module.write_text(source + "\n" * MAX_MODULE_LINES)
    sizes = {name: lines for name, _, lines in function_sizes(source)}
    assert sizes == {"short": 2, "long_async": MAX_FUNCTION_LINES + 1, "Box.method": MAX_FUNCTION_LINES + 2}
    assert oversized_functions([module], tmp_path) == [
        f"helpers/big.py:5 long_async: {MAX_FUNCTION_LINES + 1} lines",
        f"helpers/big.py:89 Box.method: {MAX_FUNCTION_LINES + 2} lines",
    ]
    n_lines = len(source.splitlines()) + MAX_MODULE_LINES
    assert oversized_modules([module], tmp_path) == [f"helpers/big.py: {n_lines} lines"]


# --------------------------------------------------------------------------------------------
# Dependencies: real imports
# --------------------------------------------------------------------------------------------


def package_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted name -> file of every module in the package: ``helpers``, ``helpers.data``,
    ``helpers.checks`` (its ``__init__.py``), ``helpers.checks.common``, ..."""
    modules: dict[str, Path] = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name in modules:
            raise AssertionError(
                f"{modules[name].relative_to(root)} and {path.relative_to(root)} are both {name}; "
                "Python imports only the package, so delete the module file."
            )
        modules[name] = path
    return modules


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name that ``from <level dots><target> import ...`` refers to inside ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules that the file of module ``name`` imports, wherever in the file.

    ``from X import y`` counts as importing ``X.y`` if that is a module, else ``X``; literal
    ``importlib.import_module("helpers.x")`` calls count too, so a dependency cannot hide in a string.
    """
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(name, is_package, node.level, node.module)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in modules else source)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return {target for target in found if target in modules and target != name}


def real_dependencies(root: Path = ROOT) -> dict[str, set[str]]:
    modules = package_modules(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_import_finder_resolves_relative_nested_and_hidden_imports(tmp_path):
    files = {
        "helpers/__init__.py": "",
        "helpers/settings.py": "",
        "helpers/data.py": (
            "import importlib\nimport os\nfrom helpers import settings\n\n"
            "def load():\n    return importlib.import_module('helpers.synthetic')\n"
        ),
        "helpers/synthetic.py": "from .settings import N_NEURONS\n",
        "helpers/checks/__init__.py": "from . import common\nfrom .classifier import judge\n",
        "helpers/checks/common.py": "def f():\n    from ..data import load\n    import helpers.settings\n",
        "helpers/checks/classifier.py": (
            "from helpers.checks import common\nfrom helpers.checks.common import f\n"
        ),
    }
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    assert real_dependencies(tmp_path) == {
        "helpers": set(),
        "helpers.settings": set(),
        "helpers.data": {"helpers.settings", "helpers.synthetic"},
        "helpers.synthetic": {"helpers.settings"},
        "helpers.checks": {"helpers.checks.common", "helpers.checks.classifier"},
        "helpers.checks.common": {"helpers.data", "helpers.settings"},
        "helpers.checks.classifier": {"helpers.checks.common"},
    }


# --------------------------------------------------------------------------------------------
# Dependencies: the documented table
# --------------------------------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def documented_dependencies(text: str) -> dict[str, set[str] | None]:
    """Module -> its documented imports (``None`` where the cell still says TODO), from the table
    whose header is ``| module | its one job | imports (helpers modules) |``."""
    lines = text.splitlines()
    headers = [i for i, line in enumerate(lines) if tuple(_cells(line)) == TABLE_HEADER]
    if len(headers) != 1:
        raise ValueError(
            "docs/architecture.md must have exactly one table with the header "
            f"| {' | '.join(TABLE_HEADER)} | (found {len(headers)})."
        )
    table = {}
    for number, line in enumerate(lines[headers[0] + 2 :], start=headers[0] + 3):
        if not line.startswith("|"):
            break
        cells = _cells(line)
        module = cells[0].strip("`")
        if len(cells) != 3 or not re.fullmatch(r"helpers(\.\w+)*", module) or not cells[1]:
            raise ValueError(
                f"docs/architecture.md line {number}: expected | `helpers.module` | its one job | "
                f"`helpers.a`, `helpers.b` (or — for none) |, got: {line}"
            )
        if module in table:
            raise ValueError(f"docs/architecture.md line {number}: {module} is listed twice.")
        imports = cells[2]
        if TO_FILL_IN in imports:
            table[module] = None
        elif imports in NO_IMPORTS:
            table[module] = set()
        else:
            table[module] = {item.strip().strip("`") for item in imports.split(",")}
    return table


def dependency_differences(documented: dict, real: dict[str, set[str]]) -> list[str]:
    """One line per disagreement between the table and the code, each saying how to fix the doc."""
    problems = []
    for module in sorted(real.keys() - documented.keys()):
        imports = ", ".join(f"`{m}`" for m in sorted(real[module])) or "—"
        problems.append(f"{module}: not in the table; add the row | `{module}` | its one job | {imports} |")
    for module in sorted(documented.keys() - real.keys()):
        problems.append(f"{module}: in the table but there is no such module; remove its row or create it")
    for module in sorted(documented.keys() & real.keys()):
        listed, actual = documented[module], real[module]
        if listed is None:
            imports = ", ".join(f"`{m}`" for m in sorted(actual)) or "—"
            problems.append(f"{module}: imports cell still says {TO_FILL_IN}; the code imports: {imports}")
            continue
        if actual - listed:
            missing = ", ".join(f"{module} -> {m}" for m in sorted(actual - listed))
            problems.append(f"{module}: arrows missing from the table (real imports): {missing}; add them")
        if listed - actual:
            extra = ", ".join(f"{module} -> {m}" for m in sorted(listed - actual))
            problems.append(f"{module}: arrows in the table that are not imports: {extra}; remove them")
    return problems


def test_architecture_doc_lists_every_module_with_its_real_imports():
    documented = documented_dependencies(DOC.read_text(encoding="utf-8"))
    problems = dependency_differences(documented, real_dependencies())
    assert not problems, (
        "docs/architecture.md (the module table) disagrees with the imports in helpers/. Each row is "
        "| `helpers.module` | its one job | the helpers modules its file imports, comma-separated, "
        "or — |:\n  " + "\n  ".join(problems)
    )


def test_dependency_comparison_reports_both_directions_and_unfilled_cells():
    doc = textwrap.dedent(
        """
        | module | its one job | imports (helpers modules) |
        | --- | --- | --- |
        | `helpers.data` | load | `helpers.settings`, `helpers.plotting` |
        | `helpers.settings` | names | — |
        | `helpers.gone` | nothing | — |
        | `helpers.grade` | grading | TODO(lead) |

        | `helpers.after_the_table` | ignored | — |
        """
    )
    documented = documented_dependencies(doc)
    assert documented == {
        "helpers.data": {"helpers.settings", "helpers.plotting"},
        "helpers.settings": set(),
        "helpers.gone": set(),
        "helpers.grade": None,
    }
    real = {
        "helpers.data": {"helpers.settings", "helpers.synthetic"},
        "helpers.settings": set(),
        "helpers.synthetic": {"helpers.settings"},
        "helpers.grade": {"helpers.checks"},
    }
    assert dependency_differences(documented, real) == [
        "helpers.synthetic: not in the table; add the row | `helpers.synthetic` | its one job | "
        "`helpers.settings` |",
        "helpers.gone: in the table but there is no such module; remove its row or create it",
        "helpers.data: arrows missing from the table (real imports): "
        "helpers.data -> helpers.synthetic; add them",
        "helpers.data: arrows in the table that are not imports: "
        "helpers.data -> helpers.plotting; remove them",
        "helpers.grade: imports cell still says TODO; the code imports: `helpers.checks`",
    ]
    with pytest.raises(ValueError, match="exactly one table"):
        documented_dependencies("no table here")
    with pytest.raises(ValueError, match="line 4"):
        documented_dependencies("\n".join(doc.splitlines()[:3] + ["| data | load |"]))


# --------------------------------------------------------------------------------------------
# No cycles
# --------------------------------------------------------------------------------------------


def import_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle ``[a, b, ..., a]`` in ``graph`` (module -> modules it imports), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_helpers_imports_have_no_cycles():
    assert import_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert import_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    cycle = import_cycle(real_dependencies())
    assert cycle is None, (
        f"helpers modules import each other in a cycle: {' -> '.join(cycle)}. Move what both need "
        "into a lower module (see the layers in docs/architecture.md) so the arrows point one way."
    )
