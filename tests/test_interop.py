"""The exports of helpers.export graded by the real nbgrader and otter-grader (no mocks), and helpers.grade.

The two tools live in a virtual environment of their own (their pins clash with the book's, see
requirements-graders.txt): ``NMA_GRADERS_VENV`` when set, else ``.venv-graders/<hash of the file>`` in
the repository, built when it is missing and reused by every later run (tests/_graders_venv.py).

Each tool executes whole notebooks, so the set is the smallest that shows the claims: per tutorial the
solution, the untouched student release, and one notebook with a wrong answer in the exercises of
:data:`WRONG` (the other exercises right, so a grader must take points from those alone). The
notebooks train for ``QUICK_ITERATIONS`` iterations only (``NMA_DECODING_QUICK``): the verdicts depend
on the exercise code, not on how long the networks trained. nbgrader and otter run once per module,
side by side (fixture ``tool_runs``); the tests read what they wrote, and the last one prints the three
graders' verdicts side by side.
"""

from __future__ import annotations

import csv
import html
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from _graders_venv import graders_venv

from helpers import checks, exercises, settings

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "decoding_encoding"
STEMS = sorted({exercise.notebook for exercise in exercises.EXERCISES})
KINDS = ("solution", "untouched", "wrong")
QUICK_ITERATIONS = 3
#: Exercise -> text replacements in its cell making a wrong answer that still runs.
WRONG = {
    "preferred_orientation": [('mode="wrap"', 'mode="reflect"')],  # smoothing without wrap
    "regularized_loss": [  # the penalties swapped
        ("L2_penalty * torch.square", "L1_penalty * torch.square"),
        ("L1_penalty * torch.abs", "L2_penalty * torch.abs"),
    ],
    "conv_fc_encoder": [("a = a.flatten(start_dim=1)", "a = a.transpose(2, 3).flatten(start_dim=1)")],
}
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


def expected(kind: str, name: str) -> str:
    """The verdict every grader must give exercise ``name`` in a submission of ``kind``."""
    return "pass" if kind == "solution" or (kind == "wrong" and name not in WRONG) else "fail"


def make_wrong(nb: nbformat.NotebookNode, stem: str) -> nbformat.NotebookNode:
    """A copy of the notebook ``stem`` (a solution) with the wrong answers of :data:`WRONG` in it."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for name, replacements in WRONG.items():
        if exercises.get(name).notebook != stem:
            continue
        obj = exercises.get(name).object_name
        cells = [
            cell
            for cell in nb.cells
            if cell.cell_type == "code"
            and any(f"{word} {obj}" in cell.source for word in ("def", "class"))
            and all(old in cell.source for old, _ in replacements)
        ]
        assert len(cells) == 1, f"{stem}: {len(cells)} cells define {obj} with the text to replace"
        for old, new in replacements:
            cells[0].source = cells[0].source.replace(old, new)
    return nb


def write_submission(source: Path, kind: str, destination: Path) -> None:
    """``source`` as it is, or for ``kind == "wrong"`` with the wrong answers, at ``destination``."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if kind == "wrong":
        nbformat.write(make_wrong(nbformat.read(source, as_version=4), destination.stem), destination)
    else:
        shutil.copy(source, destination)


@pytest.fixture(scope="module")
def graders_env(tmp_path_factory) -> dict:
    """The environment to run the tools in: their venv's bin first on PATH (nbgrader calls `alembic`)."""
    venv = graders_venv()
    env = dict(os.environ)
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT),  # this checkout's helpers, in the tools' kernels too
        NMA_DECODING_DATA="synthetic",
        NMA_DECODING_PROGRESS="0",
        NMA_DECODING_CACHE=env.get(settings.ENV_CACHE) or str(tmp_path_factory.mktemp("data-cache")),
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="1",
    )
    env[settings.ENV_QUICK] = str(QUICK_ITERATIONS)
    return env


def run(command: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


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


@pytest.fixture(scope="module")
def tool_runs(graders_env, tmp_path_factory):
    """nbgrader's and otter's runs, started together (each mostly waits on its notebooks' kernels)."""
    folders = {tool: tmp_path_factory.mktemp(tool) for tool in ("nbgrader", "otter")}
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield {
            "nbgrader": pool.submit(grade_with_nbgrader, graders_env, folders["nbgrader"]),
            "otter": pool.submit(grade_with_otter, graders_env, folders["otter"]),
        }


@pytest.fixture(scope="module")
def nbgrader_course(tool_runs) -> Path:
    return tool_runs["nbgrader"].result()


@pytest.fixture(scope="module")
def otter_graded(tool_runs) -> dict:
    return tool_runs["otter"].result()


# ---------------------------------------------------------------- helpers.grade


@pytest.fixture(scope="module")
def helpers_grade(nbgrader_course, tmp_path_factory) -> dict:
    """helpers.grade, with --feedback, on the very notebooks nbgrader collected (as the README advises)."""
    folder = tmp_path_factory.mktemp("helpers-grade")
    submitted = [nbgrader_course / "submitted" / kind / ASSIGNMENT for kind in KINDS]
    command = [sys.executable, "-m", "helpers.grade", *map(str, submitted)]
    command += ["--out", str(folder / "grades.csv"), "--feedback", str(folder / "feedback")]
    run(command, {**os.environ, "PYTHONPATH": str(ROOT)}, ROOT)
    rows = list(csv.DictReader((folder / "grades.csv").open(encoding="utf-8")))
    by_kind = {(Path(row["file"]).parents[1].name, Path(row["file"]).stem): row for row in rows}
    assert len(by_kind) == len(KINDS) * len(STEMS)
    return {"folder": folder, "rows": by_kind}


def test_helpers_grade_writes_each_student_feedback_with_points_and_no_solutions(helpers_grade):
    folder, lines = helpers_grade["folder"], solution_lines()
    for kind in KINDS:
        for stem in STEMS:
            text = (folder / "feedback" / kind / ASSIGNMENT / f"{stem}.md").read_text(encoding="utf-8")
            row = helpers_grade["rows"][kind, stem]
            assert f"**Points: {row['points']} of {row['max_points']}**" in text
            assert not [line for line in lines if line in text]
            for name in WRONG if kind == "wrong" else []:
                if exercises.get(name).notebook == stem:
                    assert f"| {name} | wrong | 0 of {exercises.get(name).points} |" in text


# ---------------------------------------------------------------- nbgrader


def grade_with_nbgrader(graders_env: dict, folder: Path) -> Path:
    """Exported, released, the three kinds of submission autograded, grades exported, feedback made."""
    course = folder / "course"
    export = [sys.executable, "-m", "helpers.export", "nbgrader", str(course), "--assignment", ASSIGNMENT]
    run(export, {**os.environ, "PYTHONPATH": str(ROOT)}, ROOT)
    run(["nbgrader", "generate_assignment", ASSIGNMENT], graders_env, course)
    for stem in STEMS:
        for kind, folder in (("solution", "source"), ("untouched", "release"), ("wrong", "source")):
            source = course / folder / ASSIGNMENT / f"{stem}.ipynb"
            write_submission(source, kind, course / "submitted" / kind / ASSIGNMENT / f"{stem}.ipynb")
    run(["nbgrader", "autograde", ASSIGNMENT], graders_env, course)
    run(["nbgrader", "export", "--to", "grades.csv"], graders_env, course)
    run(["nbgrader", "generate_feedback", ASSIGNMENT], graders_env, course)
    return course


def nbgrader_scores(course: Path, env: dict) -> dict:
    """student -> grade cell name -> [score, max score], read from nbgrader's sqlite gradebook."""
    done = run(["python", "-c", GRADEBOOK_SCORES, ASSIGNMENT], env, course)
    return json.loads(done.stdout)


def test_nbgrader_release_has_no_solutions_and_no_hidden_tests(nbgrader_course):
    for stem in STEMS:
        release = (nbgrader_course / "release" / ASSIGNMENT / f"{stem}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in release and "BEGIN HIDDEN TESTS" not in release
        assert "checks.make_inputs" not in release
        assert "raise NotImplementedError()" in release


def test_nbgrader_autograde_takes_points_only_where_an_answer_is_wrong(nbgrader_course, graders_env):
    scores = nbgrader_scores(nbgrader_course, graders_env)
    for exercise in exercises.EXERCISES:
        for kind in KINDS:
            earned = exercise.points if expected(kind, exercise.name) == "pass" else 0
            assert scores[kind][f"{exercise.name}-tests"] == [earned, exercise.points], (kind, exercise.name)


def test_nbgrader_export_writes_the_grades_csv(nbgrader_course):
    rows = list(csv.DictReader((nbgrader_course / "grades.csv").open(encoding="utf-8")))
    by_student = {row["student_id"]: row for row in rows}
    total = sum(exercise.points for exercise in exercises.EXERCISES)
    right_in_wrong = sum(e.points for e in exercises.EXERCISES if e.name not in WRONG)
    assert {kind: float(by_student[kind]["score"]) for kind in KINDS} == {
        "solution": total,
        "untouched": 0,
        "wrong": right_in_wrong,
    }
    assert {float(row["max_score"]) for row in rows} == {total}


def test_nbgrader_feedback_shows_the_verdicts_without_the_solutions(nbgrader_course):
    lines = solution_lines()
    for kind in ("untouched", "wrong"):
        for stem in STEMS:
            page_path = nbgrader_course / "feedback" / kind / ASSIGNMENT / f"{stem}.html"
            page = html.unescape(page_path.read_text())
            assert not [line for line in lines if line in page], (kind, stem)
            if kind == "untouched":
                assert "not done yet" in page
    wrong = html.unescape(
        (nbgrader_course / "feedback" / "wrong" / ASSIGNMENT / "01_decoding.html").read_text()
    )
    assert "AssertionError" in wrong and "regularized_loss" in wrong


# ---------------------------------------------------------------- otter


def grade_with_otter(graders_env: dict, folder: Path) -> dict:
    """Master notebooks, `otter assign --no-run-tests`, then `otter run -a <zip>` on the three kinds.

    The six runs go two at a time (each spends seconds importing otter and starting its kernel)."""
    out = folder / "export"
    command = ["python", "-m", "helpers.export", "otter", str(out), "--no-run-tests"]
    run(command, graders_env, ROOT)

    def grade(stem: str, kind: str) -> dict:
        dist = out / stem / "dist"
        (zip_path,) = (dist / "autograder").glob("*.zip")
        source = dist / ("student" if kind == "untouched" else "autograder") / f"{stem}.ipynb"
        graded = out / "graded" / kind / stem
        write_submission(source, kind, graded / f"{stem}.ipynb")
        run(["otter", "run", "-a", str(zip_path), "-o", str(graded), f"{stem}.ipynb"], graders_env, graded)
        return json.loads((graded / "results.json").read_text())

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {(kind, stem): pool.submit(grade, stem, kind) for stem in STEMS for kind in KINDS}
        return {"out": out, "results": {key: future.result() for key, future in futures.items()}}


def otter_scores(results: dict) -> dict:
    """exercise -> (score, max score) from one results.json (the entries that carry a score)."""
    return {test["name"]: (test["score"], test["max_score"]) for test in results["tests"] if "score" in test}


def test_otter_results_are_in_gradescopes_format_with_the_points(otter_graded):
    for (_, stem), results in otter_graded["results"].items():
        assert isinstance(results["tests"], list)
        for test in results["tests"]:
            assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published"), test
            if "score" in test:
                assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        points = {name: maximum for name, (_, maximum) in otter_scores(results).items()}
        assert points == {e.name: e.points for e in exercises.in_notebook(stem)}


def test_otter_student_notebooks_hold_no_hidden_tests_and_no_solutions(otter_graded):
    for stem in STEMS:
        text = (otter_graded["out"] / stem / "dist" / "student" / f"{stem}.ipynb").read_text()
        assert "make_inputs" not in text and "BEGIN SOLUTION" not in text
        assert not [line for line in solution_lines() if json.dumps(line)[1:-1] in text]


# ---------------------------------------------------------------- the three together


def test_the_three_graders_agree_exercise_by_exercise(
    helpers_grade, nbgrader_course, otter_graded, graders_env, capsys
):
    nbgrader = nbgrader_scores(nbgrader_course, graders_env)
    table = [("exercise", "submission", "helpers.grade", "nbgrader", "otter", "expected")]
    for exercise in exercises.EXERCISES:
        name, stem = exercise.name, exercise.notebook
        for kind in KINDS:
            ours = helpers_grade["rows"][kind, stem][name]
            score, maximum = nbgrader[kind][f"{name}-tests"]
            otter_score, otter_maximum = otter_scores(otter_graded["results"][kind, stem])[name]
            verdicts = (
                "pass" if ours == "pass" else "fail",
                "pass" if score == maximum else "fail" if score == 0 else f"{score}/{maximum}",
                "pass" if otter_score == otter_maximum else "fail" if otter_score == 0 else "partial",
            )
            table.append((name, kind, *verdicts, expected(kind, name)))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    text = "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in table)
    with capsys.disabled():  # the table goes to the test log, pass or fail
        print(f"\nThe three graders, exercise by exercise:\n{text}\n", flush=True)
    disagree = [line for line in table[1:] if len(set(line[2:])) != 1]
    assert not disagree, f"the graders disagree:\n{text}"
