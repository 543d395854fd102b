"""Give the book build the outputs of solution notebooks that were just run, so it does not run them again.

    python scripts/prime_book_cache.py EXECUTED_DIR [--cache _build/.jupyter_cache]

`make test` runs every solution notebook end to end (nbmake, on copies in a temporary folder, with
`--overwrite` so the copies keep their outputs), then builds the book. A book page is its
solution notebook with the same code cells: only the exercises' solution markers and the setup
cell's install address differ, and both are comments or a line that never runs where helpers is
installed. So each page's outputs are those of its solution's run, and this script stores them in
the book's jupyter-cache (`execute_notebooks: cache` in _config.yml), where the build finds them
instead of executing the page again. `make book` alone does not use it: it runs every page.

For each executed notebook, before anything is stored, it checks that:
- its code is exactly the committed solution's (the run is of this checkout, not a stale copy);
- the committed book page is the one generated from that solution (else: `make notebooks`);
- every code cell ran, in order, without an error output.
A check that fails stops the script with the notebook and the reason before anything is stored;
the book build then simply runs the pages itself.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from notebook_gen import notebooks  # noqa: E402  (the generator lives next to this script)
from notebook_gen.repository import read_repository  # noqa: E402


class StaleRun(Exception):
    """The executed notebook does not belong to this checkout's solution and page."""


def _code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def page_with_outputs(executed_path: Path, root: Path = ROOT) -> nbformat.NotebookNode:
    """The committed book page of `executed_path`'s solution, with the executed cells' outputs."""
    stem = executed_path.stem
    solution_path = root / "solutions" / executed_path.name
    page_path = root / "book" / "tutorials" / executed_path.name
    if not solution_path.is_file() or not page_path.is_file():
        raise StaleRun(f"{executed_path.name}: no solutions/{executed_path.name} or book page of that name")
    executed = nbformat.read(executed_path, as_version=4)
    solution = notebooks.read_solution(solution_path, root)
    if [c.source for c in _code_cells(executed)] != [c.source for c in _code_cells(solution.nb)]:
        raise StaleRun(f"{stem}: the executed copy's code differs from solutions/{executed_path.name}")
    expected_page = notebooks.make_book_page(solution, read_repository(root))
    page = nbformat.read(page_path, as_version=4)
    if notebooks.dumps(expected_page) != notebooks.dumps(page):
        raise StaleRun(f"{stem}: book/tutorials/{executed_path.name} is out of date: run `make notebooks`")
    runs = {cell.id: cell for cell in _code_cells(executed)}
    primed = copy.deepcopy(page)
    for number, cell in enumerate(_code_cells(primed), start=1):
        run = runs.get(cell.id)
        if run is None or run.execution_count != number:
            raise StaleRun(f"{stem}: code cell {cell.id} did not run as the {number}th cell")
        if any(output.output_type == "error" for output in run.outputs):
            raise StaleRun(f"{stem}: code cell {cell.id} has an error output")
        cell.outputs, cell.execution_count = copy.deepcopy(run.outputs), run.execution_count
    if len(runs) != len(_code_cells(primed)):
        raise StaleRun(f"{stem}: the page and the solution have different code cells")
    return primed


def prime(executed_dir: Path, cache_dir: Path, root: Path = ROOT) -> list[str]:
    """Store each executed notebook's page in the cache; the pages stored (by stem)."""
    executed_paths = sorted(executed_dir.glob("*.ipynb"))
    primed = [page_with_outputs(path, root) for path in executed_paths]  # every check before any write
    cache = get_cache(str(cache_dir))
    for path, page in zip(executed_paths, primed, strict=True):
        page_path = root / "book" / "tutorials" / path.name
        bundle = CacheBundleIn(page, str(page_path), data={"primed_from": str(path)})
        cache.cache_notebook_bundle(bundle, check_validity=True, overwrite=True)
    return [path.stem for path in executed_paths]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("executed_dir", type=Path, help="folder of executed solution notebooks")
    parser.add_argument("--cache", type=Path, default=ROOT / "_build" / ".jupyter_cache")
    args = parser.parse_args(argv)
    if not args.executed_dir.is_dir():
        parser.error(f"{args.executed_dir} is not a folder of executed notebooks")
    try:
        stored = prime(args.executed_dir, args.cache)
    except StaleRun as problem:
        print(f"prime_book_cache: not used ({problem}); the book build runs the pages itself",
              file=sys.stderr)
        return 1
    print(f"== book pages given their solutions' outputs (not run again): {', '.join(stored)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
