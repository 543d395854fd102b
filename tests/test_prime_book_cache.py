"""scripts/prime_book_cache.py: a page gets its solution's outputs only from a run of this checkout's code.

The executed notebooks here are the committed solutions with an output and an execution count written
into each code cell (what a run leaves, without the minutes of training); the cache is the real
jupyter-cache the book build reads, and the match is the one myst-nb asks it for.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import prime_book_cache  # noqa: E402

STEM = "01_decoding"


def fake_run(tmp_path: Path, edit=None) -> Path:
    """solutions/01_decoding.ipynb as a run leaves it: each code cell numbered, with one output."""
    nb = nbformat.read(ROOT / "solutions" / f"{STEM}.ipynb", as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code, start=1):
        cell.execution_count = number
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"ran {cell.id}\n")]
    if edit:
        edit(nb, code)
    folder = tmp_path / "executed"
    folder.mkdir()
    nbformat.write(nb, folder / f"{STEM}.ipynb")
    return folder


def test_the_page_gets_each_cells_outputs_and_myst_nb_finds_it_in_the_cache(tmp_path):
    stored = prime_book_cache.prime(fake_run(tmp_path), tmp_path / "cache")
    assert stored == [STEM]
    page = nbformat.read(ROOT / "book" / "tutorials" / f"{STEM}.ipynb", as_version=4)
    cache = get_cache(str(tmp_path / "cache"))
    assert cache.match_cache_notebook(page) is not None  # what myst-nb's cache mode looks up
    _, merged = cache.merge_match_into_notebook(page)
    code = [cell for cell in merged.cells if cell.cell_type == "code"]
    assert [cell.outputs[0].text for cell in code] == [f"ran {cell.id}\n" for cell in code]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))


def _change_code(nb, code):
    code[3].source += "\nx = 1"


def _skip_a_cell(nb, code):
    code[5].execution_count = None


def _error_output(nb, code):
    code[7].outputs.append(nbformat.v4.new_output("error", ename="ValueError", evalue="no", traceback=[]))


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (_change_code, "code differs from solutions/"),
        (_skip_a_cell, "did not run as the 6th cell"),
        (_error_output, "has an error output"),
    ],
)
def test_a_run_of_other_code_or_an_unfinished_run_is_refused_and_nothing_is_stored(tmp_path, edit, reason):
    with pytest.raises(prime_book_cache.StaleRun, match=reason):
        prime_book_cache.prime(fake_run(tmp_path, edit), tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_a_page_out_of_date_with_its_solution_is_refused(tmp_path):
    root = tmp_path / "checkout"
    for part in ("solutions", "book", "_config.yml", "helpers"):
        source = ROOT / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / part)
    page = root / "book" / "tutorials" / f"{STEM}.ipynb"
    nb = nbformat.read(page, as_version=4)
    nb.cells[0].source += "\n\nAn edit by hand."
    nbformat.write(nb, page)
    with pytest.raises(prime_book_cache.StaleRun, match="out of date: run `make notebooks`"):
        prime_book_cache.prime(fake_run(tmp_path), tmp_path / "cache", root)


def test_the_command_says_it_was_not_used_and_exits_non_zero(tmp_path, capsys):
    assert prime_book_cache.main([str(fake_run(tmp_path, _skip_a_cell)), "--cache", str(tmp_path / "c")]) == 1
    assert "the book build runs the pages itself" in capsys.readouterr().err
