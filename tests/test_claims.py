"""Claims checked by the run: the prose's statements about results are asserted by claim cells.

docs/notebooks.md, "Figures and claims": a claim cell (tags `claim`, `remove-cell`; metadata `claim`:
the id of the figure cell it checks, or "") asserts what the prose says about a result, so a run on
other data fails instead of publishing a false sentence. The solution notebooks run end to end in
`make test` (nbmake), which is where the assertions are evaluated; here: that the claims exist for every
figure the prose interprets, are well formed, can fail, and are hidden from the page and the students.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from notebook_gen import book_cells  # noqa: E402

from helpers.files import python_source  # noqa: E402

STEMS = ["01_decoding", "02_encoding"]
# Figures whose text describes what is drawn and interprets nothing, so no claim checks them.
NOT_INTERPRETED = {
    "01_decoding": {
        "py-with-torch-no-grad-2": "decoded against true orientation: the next section interprets the errors",
        "py-w-in-nll-net-nll-in-layer-weight-detach": "the classifier's weights are shown, not discussed",
    },
    "02_encoding": {
        "filters-figure": "the initial filter bank is described by how it was made",
        "filters-initial-again": "the same bank again, as the reference for the trained filters",
    },
}
# Fewest claim cells per notebook: a claim deleted without a replacement fails here.
MIN_CLAIMS = {"01_decoding": 16, "02_encoding": 8}


def read(stem: str, folder: str = "solutions") -> nbformat.NotebookNode:
    return nbformat.read(ROOT / folder / f"{stem}.ipynb", as_version=4)


def claim_cells(nb) -> list[tuple[int, nbformat.NotebookNode]]:
    return [(index, cell) for index, cell in enumerate(nb.cells) if book_cells.is_claim_cell(cell)]


@pytest.mark.parametrize("stem", STEMS)
def test_every_interpreted_figure_has_a_claim(stem):
    nb = read(stem)
    figures = {cell.id: index for index, cell in enumerate(nb.cells) if book_cells.is_figure_cell(cell)}
    claims = claim_cells(nb)
    checked = {cell.metadata["claim"] for _, cell in claims}
    exempt = NOT_INTERPRETED[stem]
    assert set(exempt) <= set(figures), f"NOT_INTERPRETED names non-figures: {set(exempt) - set(figures)}"
    missing = sorted(set(figures) - checked - set(exempt))
    assert not missing, f"{stem}: figures with no claim checking their interpretation: {missing}"
    assert len(claims) >= MIN_CLAIMS[stem], f"{stem}: {len(claims)} claims, fewer than {MIN_CLAIMS[stem]}"
    print(f"{stem}: {len(claims)} claims, {len(checked - {''})} of {len(figures)} figures checked")


@pytest.mark.parametrize("stem", STEMS)
def test_claim_cells_are_hidden_asserting_code_after_their_figure(stem):
    nb = read(stem)
    figures = {cell.id: index for index, cell in enumerate(nb.cells) if book_cells.is_figure_cell(cell)}
    for index, cell in claim_cells(nb):
        where = f"{stem}, cell {index} ({cell.id})"
        assert cell.cell_type == "code", where
        assert "remove-cell" in cell.metadata["tags"], f"{where}: a claim cell is hidden from the page"
        figure = cell.metadata.get("claim")
        assert figure == "" or figures.get(figure, len(nb.cells)) < index, f"{where}: checks {figure!r}"
        tree = ast.parse(python_source(cell.source))
        asserts = [node for node in ast.walk(tree) if isinstance(node, ast.Assert)]
        assert asserts, f"{where}: a claim cell asserts something"
        for node in asserts:
            assert node.msg is not None, f"{where}, line {node.lineno}: say which sentence to fix"
        assert cell.source.startswith("# Claim checked by the run"), f"{where}: say what is claimed"


@pytest.mark.parametrize("stem", STEMS)
def test_claims_stay_out_of_student_notebooks_and_are_hidden_on_the_page(stem):
    solution_ids = {cell.id for _, cell in claim_cells(read(stem))}
    student_ids = {cell.id for cell in read(stem, "book/student").cells}
    assert not solution_ids & student_ids
    page = {cell.id: cell for cell in read(stem, "book/tutorials").cells}
    for cell_id in solution_ids:
        assert "remove-cell" in page[cell_id].metadata["tags"]


def _claim_source(stem: str, name: str) -> str:
    return next(cell.source for _, cell in claim_cells(read(stem)) if cell.id == f"claim-{name}")


def test_a_claim_fails_on_data_that_contradict_the_prose():
    """The wrap-around claim of Tutorial 1 passes on errors within 180 degrees and fails on a 200."""
    source = _claim_source("01_decoding", "no-wrap-needed")
    errors = np.array([10.0, -150.0, 3.0])
    exec(compile(source, "claim", "exec"), {"np": np, "raw_error": errors, "circ_error_mse": errors.copy()})
    wrapped = np.array([10.0, 200.0 - 360.0, 3.0])
    with pytest.raises(AssertionError, match="fix the prose"):
        exec(compile(source, "claim", "exec"), {"np": np, "raw_error": np.array([10.0, 200.0, 3.0]),
                                                "circ_error_mse": wrapped})


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")
def test_the_two_peaks_claim_fails_on_single_peaked_tuning():
    """Tutorial 2's two-peak claim: double-peaked curves with unequal peaks pass, single peaks fail."""
    import torch

    source = _claim_source("02_encoding", "two-peaks")
    angles = np.deg2rad(np.arange(0, 360, 6))[:, None]
    preferred = np.deg2rad(np.linspace(0, 360, 200, endpoint=False))[None, :]
    double = np.exp(2 * (np.cos(2 * (angles - preferred)) - 1)) * (1 + 0.4 * np.cos(angles - preferred))
    single = np.exp(2 * (np.cos(angles - preferred) - 1))
    for curves, passes in [(double, True), (single, False)]:
        resp = torch.tensor(curves, dtype=torch.float32)
        namespace = {"np": np, "resp_train": resp, "resp_test": resp}
        if passes:
            exec(compile(source, "claim", "exec"), namespace)
        else:
            with pytest.raises(AssertionError, match="second peak"):
                exec(compile(source, "claim", "exec"), namespace)
