"""Adding an exercise takes exactly the README's three steps, and everything else follows.

In a temporary copy of the repository the test adds a toy exercise, `double(x)`, by those steps only:
a solution cell with its markers (with its hint before it and its check cell after it) in a solution
notebook, one registry entry in
helpers/exercises.py, one check module in helpers/checks/. Then, with nothing else edited, the
generator makes its student stub, its self-check tells a right answer from a wrong one, and the
grader grades it in a notebook beside the course's own exercises.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "01_decoding"

SOLUTION_CELL = '''def double(x):
    """Twice ``x``: an array of any shape, returned with the same shape."""
    # TODO: return twice x
    # BEGIN SOLUTION
    return 2 * x
    # END SOLUTION'''

REGISTRY_ENTRY = '''    Exercise(
        name="double",
        notebook="01_decoding",
        object_name="double",
        kind="function",
        points=1,
        check_module="double",
        seed=105,
        summary="`double(x)`: twice `x`",
    ),
'''

CHECK_MODULE = '''"""Exercise ``double(x)``: return twice ``x`` (an array), with the same shape."""

import numpy as np

from .common import as_array, call, close


def make_inputs(rng):
    return {"x": rng.normal(0, 1, (4, 3))}


def observe(fn, inputs):
    return {"y": as_array(call("double(x)", fn, inputs["x"].copy()), "double(x)")}


def judge(inputs, observed):
    y = np.asarray(observed["y"])
    if y.shape != inputs["x"].shape:
        return f"returns shape {y.shape}; it should keep the shape of x, {inputs['x'].shape}"
    return None if close(y, 2 * inputs["x"]) else "does not return twice x"
'''


def _copy_repository(target: Path) -> Path:
    """The repository's tracked files as they are in the work tree (uncommitted edits included)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in listed.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def _add_solution_cells(path: Path) -> None:
    """Step 1: a hint, the exercise cell (tag and metadata) and its check cell, at the end of the notebook."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    notebook["cells"] += [
        {"cell_type": "markdown", "id": "toy-double-hint", "metadata": {},
         "source": "<details>\n<summary>Hint 1</summary>\n\nMultiplying an array by a number scales every "
                   "element.\n\n</details>"},
        {"cell_type": "code", "id": "toy-double", "execution_count": None, "outputs": [],
         "metadata": {"exercise": "double", "tags": ["exercise"]}, "source": SOLUTION_CELL},
        {"cell_type": "code", "id": "toy-double-check", "execution_count": None, "outputs": [],
         "metadata": {}, "source": "checks.double(double)"},
    ]
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _add_registry_entry(path: Path) -> None:
    """Step 2: one entry at the end of EXERCISES."""
    text = path.read_text(encoding="utf-8")
    start = text.index("EXERCISES: tuple")
    end = text.index("\n)\n", start)
    path.write_text(text[: end + 1] + REGISTRY_ENTRY + text[end + 1 :], encoding="utf-8")


def _run(copy: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(copy), "NMA_DECODING_DATA": "synthetic",
           "NMA_DECODING_PROGRESS": "0"}
    return subprocess.run([sys.executable, *args], cwd=copy, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    copy = _copy_repository(tmp_path_factory.mktemp("toy") / "repo")
    _add_solution_cells(copy / "solutions" / f"{NOTEBOOK}.ipynb")
    _add_registry_entry(copy / "helpers" / "exercises.py")
    (copy / "helpers" / "checks" / "double.py").write_text(CHECK_MODULE, encoding="utf-8")
    generated = _run(copy, "scripts/make_notebooks.py")
    assert generated.returncode == 0, generated.stdout + generated.stderr
    return copy


def _cell_sources(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]


def test_the_student_notebook_gets_a_stub(repository):
    sources = _cell_sources(repository / "book" / "student" / f"{NOTEBOOK}.ipynb")
    stub = next(s for s in sources if s.startswith("def double(x):"))
    assert "raise NotImplementedError(\"Exercise 'double': return twice x\")" in stub
    assert "return 2 * x" not in stub and "BEGIN SOLUTION" not in stub
    assert "checks.double(double)" in sources


def test_its_self_check_tells_right_from_wrong(repository):
    script = (
        "from helpers import checks\n"
        "right = checks.double(lambda x: 2 * x)\n"
        "wrong = checks.double(lambda x: x + 2)\n"
        "assert right and not wrong, (right, wrong)\n"
        "print('REASON', wrong.reason)\n"
    )
    result = _run(repository, "-c", script)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ double looks right" in result.stdout
    assert "REASON does not return twice x" in result.stdout


def test_the_grader_grades_it_beside_the_course_exercises(repository, tmp_path):
    right = repository / "solutions" / f"{NOTEBOOK}.ipynb"
    wrong = tmp_path / "wrong_double.ipynb"
    notebook = json.loads(right.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["metadata"].get("exercise") == "double":
            cell["source"] = "def double(x):\n    return x + x + 1\n"
    wrong.write_text(json.dumps(notebook), encoding="utf-8")
    out = tmp_path / "grades.csv"
    graded = _run(repository, "-m", "helpers.grade", str(right), str(wrong), "--out", str(out), "--jobs", "1")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    rows = {Path(row["file"]).stem: row for row in csv.DictReader(out.open(encoding="utf-8"))}
    assert rows[NOTEBOOK]["double"] == "pass", rows[NOTEBOOK]
    assert rows["wrong_double"]["double"] == "FAIL", rows["wrong_double"]
    assert rows["wrong_double"]["double_reason"] == "does not return twice x"
    for name in ("preferred_orientation", "classifier", "regularized_loss"):
        assert rows[NOTEBOOK][name] == rows["wrong_double"][name] == "pass"
