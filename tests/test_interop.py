"""The exports of helpers.export, graded by the real nbgrader and otter-grader (no mocks).

The two tools live in a virtual environment of their own (their pins clash with the book's, see
requirements-graders.txt): ``NMA_GRADERS_VENV`` when set, else ``.venv-graders`` in the repository,
created from requirements-graders.txt when it is missing (about 2-3 minutes, from the package index).

Each tool executes whole notebooks, training included, so the set of submissions is small and every
tool runs once per module (fixtures); the tests read what it wrote.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from filelock import FileLock

from helpers import checks, exercises

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "decoding_encoding"
STEMS = sorted({exercise.notebook for exercise in exercises.EXERCISES})
pytestmark = [
    pytest.mark.timeout(3600),
    pytest.mark.skipif(
        not hasattr(checks, "make_inputs"), reason="needs checks.make_inputs (the helpers/checks/ package)"
    ),
]

GRADEBOOK_SCORES = """
import json, sys
from nbgrader.api import Gradebook
scores = {}
with Gradebook("sqlite:///gradebook.db") as gradebook:
    for submission in gradebook.assignment_submissions(sys.argv[1]):
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                scores.setdefault(submission.student.id, {})[grade.name] = [grade.score, grade.max_score]
print(json.dumps(scores))
"""


def graders_venv() -> Path:
    """``NMA_GRADERS_VENV`` as it is, else one built from requirements-graders.txt, named after its hash."""
    given = os.environ.get("NMA_GRADERS_VENV")
    if given:
        missing = [tool for tool in ("nbgrader", "otter") if not (Path(given) / "bin" / tool).is_file()]
        fix = "pip install -r requirements-graders.txt into it"
        assert not missing, f"NMA_GRADERS_VENV={given} has no {missing}: {fix}"
        return Path(given)
    digest = hashlib.sha256((ROOT / "requirements-graders.txt").read_bytes()).hexdigest()[:12]
    venv = Path(tempfile.gettempdir()) / f"nma-decoding-graders-{digest}"
    with FileLock(f"{venv}.lock"):  # two test runs at once build it once
        if not (venv / ".complete").is_file():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
            subprocess.run([*pip, "-r", str(ROOT / "requirements-graders.txt")], check=True)
            subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
            (venv / ".complete").touch()
    return venv


@pytest.fixture(scope="module")
def graders_env(tmp_path_factory) -> dict:
    """The environment to run the tools in: their venv's bin first on PATH (nbgrader calls `alembic`)."""
    venv = graders_venv()
    env = dict(os.environ)
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        NMA_DECODING_DATA="synthetic",
        NMA_DECODING_PROGRESS="0",
        NMA_DECODING_CACHE=str(tmp_path_factory.mktemp("data-cache")),
        MPLBACKEND="Agg",
    )
    return env


def run(command: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


# ---------------------------------------------------------------- nbgrader


@pytest.fixture(scope="module")
def nbgrader_course(graders_env, tmp_path_factory) -> Path:
    """Exported, released, two submissions (the solution, the untouched release) autograded."""
    course = tmp_path_factory.mktemp("nbgrader") / "course"
    export = ["python", "-m", "helpers.export", "nbgrader", str(course), "--assignment", ASSIGNMENT]
    run(export, graders_env, ROOT)
    run(["nbgrader", "generate_assignment", ASSIGNMENT], graders_env, course)
    for student, folder in (("solution", "source"), ("untouched", "release")):
        shutil.copytree(course / folder / ASSIGNMENT, course / "submitted" / student / ASSIGNMENT)
    run(["nbgrader", "autograde", ASSIGNMENT], graders_env, course)
    return course


def gradebook_scores(course: Path, env: dict) -> dict:
    """student -> grade cell name -> (score, max score), read from nbgrader's sqlite gradebook."""
    done = run(["python", "-c", GRADEBOOK_SCORES, ASSIGNMENT], env, course)
    return json.loads(done.stdout)


def test_nbgrader_release_has_no_solutions_and_no_hidden_tests(nbgrader_course):
    for stem in STEMS:
        release = (nbgrader_course / "release" / ASSIGNMENT / f"{stem}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in release and "BEGIN HIDDEN TESTS" not in release
        assert "checks.make_inputs" not in release
        assert "raise NotImplementedError()" in release


def test_nbgrader_autograde_gives_the_solution_all_points_and_the_release_none(nbgrader_course, graders_env):
    scores = gradebook_scores(nbgrader_course, graders_env)
    for exercise in exercises.EXERCISES:
        test = f"{exercise.name}-tests"
        assert scores["solution"][test] == [exercise.points, exercise.points], exercise.name
        assert scores["untouched"][test] == [0, exercise.points], exercise.name


def test_nbgrader_export_writes_the_grades_csv(nbgrader_course, graders_env):
    run(["nbgrader", "export", "--to", "grades.csv"], graders_env, nbgrader_course)
    rows = (nbgrader_course / "grades.csv").read_text().strip().split("\n")
    total = sum(exercise.points for exercise in exercises.EXERCISES)
    header = rows[0].split(",")
    by_student = {row.split(",")[header.index("student_id")]: row.split(",") for row in rows[1:]}
    assert float(by_student["solution"][header.index("score")]) == total
    assert float(by_student["untouched"][header.index("score")]) == 0
    assert float(by_student["solution"][header.index("max_score")]) == total


def solution_lines() -> set[str]:
    """The solution code's lines (between the markers) long enough not to occur by chance."""
    found = set()
    for stem in STEMS:
        for cell in nbformat.read(ROOT / "solutions" / f"{stem}.ipynb", as_version=4).cells:
            inside = False
            for line in cell.source.split("\n") if cell.metadata.get("exercise") else []:
                if line.strip() in ("# BEGIN SOLUTION", "# END SOLUTION"):
                    inside = line.strip() == "# BEGIN SOLUTION"
                elif inside and len(line.strip()) > 20:
                    found.add(line.strip())
    return found


def test_nbgrader_feedback_shows_the_verdicts_without_the_solutions(nbgrader_course, graders_env):
    run(["nbgrader", "generate_feedback", ASSIGNMENT], graders_env, nbgrader_course)
    for stem in STEMS:
        page_path = nbgrader_course / "feedback" / "untouched" / ASSIGNMENT / f"{stem}.html"
        page = html.unescape(page_path.read_text())
        assert "not done yet" in page
        assert not [line for line in solution_lines() if line in page]


# ---------------------------------------------------------------- otter


@pytest.fixture(scope="module")
def otter_export(graders_env, tmp_path_factory) -> Path:
    """Master notebooks, `otter assign` on each (which also grades its solution notebook: all points)."""
    out = tmp_path_factory.mktemp("otter") / "export"
    run(["python", "-m", "helpers.export", "otter", str(out)], graders_env, ROOT)
    return out


def otter_results(otter_export: Path, stem: str, notebook: Path, env: dict, tmp_path: Path) -> dict:
    """exercise -> (score, max score) from `otter run -a <autograder zip>` on ``notebook``."""
    (zip_path,) = (otter_export / stem / "dist" / "autograder").glob("*.zip")
    folder = tmp_path / f"{stem}-{notebook.parent.name}"
    folder.mkdir()
    shutil.copy(notebook, folder / f"{stem}.ipynb")
    run(["otter", "run", "-a", str(zip_path), "-o", str(folder), f"{stem}.ipynb"], env, folder)
    results = json.loads((folder / "results.json").read_text())
    return {test["name"]: (test["score"], test["max_score"]) for test in results["tests"] if "score" in test}


@pytest.mark.parametrize("stem", STEMS)
def test_otter_run_gives_the_untouched_student_notebook_no_points(stem, otter_export, graders_env, tmp_path):
    student = otter_export / stem / "dist" / "student" / f"{stem}.ipynb"
    scores = otter_results(otter_export, stem, student, graders_env, tmp_path)
    assert scores == {e.name: (0, e.points) for e in exercises.in_notebook(stem)}


def test_otter_student_notebooks_hold_no_hidden_tests_and_no_solutions(otter_export):
    for stem in STEMS:
        text = (otter_export / stem / "dist" / "student" / f"{stem}.ipynb").read_text()
        assert "make_inputs" not in text and "BEGIN SOLUTION" not in text
        assert not [line for line in solution_lines() if json.dumps(line)[1:-1] in text]
