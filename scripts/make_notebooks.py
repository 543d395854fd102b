"""Generate the student notebooks and the book pages from the solution notebooks.

    python scripts/make_notebooks.py           # (re)write every generated file that differs
    python scripts/make_notebooks.py --check   # write nothing; exit 1 listing the files that differ

`solutions/NN_name.ipynb` are the only notebooks edited by hand (rules: docs/notebooks.md). From each
one this script makes:

- `book/student/NN_name.ipynb`, what students open (locally, or through the "Open in Colab" link):
  every solution block of an exercise cell (`# BEGIN SOLUTION` ... `# END SOLUTION`) becomes
  `raise NotImplementedError("Exercise '<name>': <the TODO sentence>")` at the block's indentation;
  each later cell that uses what an exercise cell defines starts with placeholders for the names it
  assigns and `helpers.placeholders.require_done(...)`, which stops it, with a two-line message naming
  the exercise, until the exercise is done; answer cells are dropped; a plain-text "Open in Colab" link
  (no image from the internet) follows the title.
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
solution notebook (an exercise cell that does more than define, a missing check right after it, 1-3
hints, MyST-only markdown, ...) stops the run before anything is written, with the notebook, the cell
index, the exercise and the fix. Every exercise cell names an exercise of the registry, `helpers/exercises.py`
(which also says the notebook it belongs to); nothing here lists the exercises.

The work is done by the package next to this script, `scripts/notebook_gen/` (its `__init__` says
which module does what); this file is the command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
# This repository's own helpers (the exercise registry) and generator package come first, ahead of any
# installed copy of helpers, so the notebooks are generated from the registry they are committed with.
for _folder in (SCRIPTS, ROOT):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from notebook_gen.notebooks import generate, stale_files  # noqa: E402
from notebook_gen.rules import NotebookError  # noqa: E402

from helpers.files import atomic_write  # noqa: E402

__all__ = ["generate", "main", "NotebookError"]


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or with --check, compare) every generated file; exit 0 done, 1 out of date, 2 bad input."""
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
        return _report_differences(root, len(files), differ, stale)
    for path in differ:
        atomic_write(path, files[path])
        print(f"wrote {path.relative_to(root)}")
    for path in stale:
        path.unlink()
        print(f"removed {path.relative_to(root)} (its solution notebook is gone)")
    if not differ and not stale:
        print(f"make_notebooks: {len(files)} generated files already up to date.")
    return 0


def _report_differences(root: Path, n_files: int, differ: list[Path], stale: list[Path]) -> int:
    """--check: print which generated files are out of date (none: say so); 1 if any are, else 0."""
    if not differ and not stale:
        print(f"make_notebooks: {n_files} generated files are up to date.")
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


if __name__ == "__main__":
    sys.exit(main())
