"""A wrong answer meets its check before anything trains on it, in a real kernel from .venv.

For every exercise the test opens the student notebook, types into the exercise cell the solution with
one typical mistake, and runs the notebook in order up to the exercise's check cell. The exercise
cell must only define (no training runs while it or its check runs: the test counts the calls of
`helpers.training`'s training loops in the kernel) and the check must print its ✗ verdict.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from helpers import exercises

ROOT = Path(__file__).resolve().parents[2]
CELL_TIMEOUT = 300

# exercise -> (a line of its solution, the same line with a typical mistake, words the ✗ verdict has)
MISTAKES = {
    "preferred_orientation": ('mode="wrap"', 'mode="reflect"', "wrapping around the circle"),
    "classifier": (
        "DeepNetSoftmax(n_inputs, n_hidden, n_classes)",
        "DeepNetSoftmax(n_inputs, n_classes, n_hidden)",
        "hidden layer",
    ),
    "regularized_loss": ("return nll + L2 + L1", "return nll + L2", "L1 penalty"),
    "conv_fc_encoder": ("a.flatten(start_dim=1)", "a.flatten()", "flatten"),
}

# Runs in the kernel before the exercise cell: every training loop of helpers.training is counted.
COUNT_TRAINING = """\
import helpers.training as _training
_training_calls = []
for _name in ("train", "train_encoding_model"):
    def _counted(*args, _loop=getattr(_training, _name), _name=_name, **kwargs):
        _training_calls.append(_name)
        return _loop(*args, **kwargs)
    setattr(_training, _name, _counted)
"""


def _wrong_solution(exercise: str) -> str:
    """The solution cell of `exercise` without its markers, with MISTAKES' mistake in it."""
    path = ROOT / "solutions" / f"{exercises.get(exercise).notebook}.ipynb"
    cell = next(c for c in nbformat.read(path, as_version=4).cells if c.metadata.get("exercise") == exercise)
    right, wrong, _ = MISTAKES[exercise]
    assert right in cell.source, f"the solution of {exercise!r} no longer has {right!r}: update MISTAKES"
    markers = ("# BEGIN SOLUTION", "# END SOLUTION")
    lines = [line for line in cell.source.split("\n") if line.strip() not in markers]
    return "\n".join(lines).replace(right, wrong)


def _outputs_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.fixture
def kernel_env(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("NMA_DECODING_DATA", "synthetic")
    monkeypatch.setenv("NMA_DECODING_PROGRESS", "0")
    monkeypatch.setenv("MPLBACKEND", "agg")
    if not os.environ.get("NMA_DECODING_CACHE"):
        cache = tmp_path_factory.getbasetemp() / "nma-decoding-cache"
        cache.mkdir(exist_ok=True)
        monkeypatch.setenv("NMA_DECODING_CACHE", str(cache))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def test_every_exercise_has_a_mistake_here():
    assert sorted(MISTAKES) == sorted(exercises.names())


@pytest.mark.parametrize("exercise", exercises.names())
def test_a_wrong_answer_is_reported_by_its_check_before_any_training(exercise, kernel_env, tmp_path):
    nb = nbformat.read(ROOT / "book/student" / f"{exercises.get(exercise).notebook}.ipynb", as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("exercise") == exercise)
    nb.cells[index].source = _wrong_solution(exercise)
    client = NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT,
                            resources={"metadata": {"path": str(tmp_path)}})
    counter = nbformat.v4.new_code_cell(COUNT_TRAINING)
    report = nbformat.v4.new_code_cell("print(len(_training_calls))")
    with client.setup_kernel():
        for position, cell in enumerate(nb.cells[: index + 2]):
            if cell.cell_type != "code":
                continue
            if position == index:
                client.execute_cell(counter, position)
            try:
                client.execute_cell(cell, position)
            except CellExecutionError as error:  # an earlier exercise left undone stops its use cell
                assert position < index and error.ename == "NotImplementedError", error
        client.execute_cell(report, index + 2)
    check = nb.cells[index + 1]
    assert f"checks.{exercise}(" in check.source
    verdict = _outputs_text(check)
    assert verdict.startswith(f"✗ {exercise}:") and MISTAKES[exercise][2] in verdict, verdict
    assert not [o for o in nb.cells[index].outputs if o.output_type == "error"], "the exercise cell failed"
    assert _outputs_text(report).strip() == "0", (
        f"training ran {_outputs_text(report).strip()} time(s) in the exercise cell or its check"
    )
