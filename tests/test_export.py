"""python -m helpers.export: the structure of the nbgrader and otter notebooks it writes, its errors.

These are quick tests of what the export writes (no grading tool runs here); tests/test_interop.py runs
the real nbgrader and otter-grader on it.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import yaml
from scipy.ndimage import gaussian_filter1d
from torch import nn

from helpers import checks, exercises, export
from helpers.files import python_source

ROOT = Path(__file__).resolve().parents[1]
STEMS = sorted({exercise.notebook for exercise in exercises.EXERCISES})
NEEDS_MAKE_INPUTS = pytest.mark.skipif(
    not hasattr(checks, "make_inputs"), reason="needs checks.make_inputs (the helpers/checks/ package)"
)


@pytest.fixture(scope="module")
def course():
    return {notebook.stem: notebook for notebook in export.read_course(ROOT)}


@pytest.fixture(scope="module")
def nbgrader_notebooks(course):
    return {stem: export.nbgrader_notebook(notebook) for stem, notebook in course.items()}


@pytest.fixture(scope="module")
def otter_masters(course):
    return {stem: export.otter_master(notebook) for stem, notebook in course.items()}


def copy_course(destination: Path) -> Path:
    """The parts of the repository the export reads, copied so that a test can break them."""
    for part in ("solutions", "scripts"):
        shutil.copytree(ROOT / part, destination / part)
    shutil.copy(ROOT / "_config.yml", destination / "_config.yml")
    return destination


def solution_cells(stem: str) -> dict[str, str]:
    """Each exercise's cell source in the solution notebook."""
    nb = nbformat.read(ROOT / "solutions" / f"{stem}.ipynb", as_version=4)
    return {cell.metadata["exercise"]: cell.source for cell in nb.cells if cell.metadata.get("exercise")}


def between(source: str, begin: str, end: str) -> list[str]:
    """The texts between each pair of marker lines (stripped lines equal to begin / end)."""
    found, start = [], None
    for number, line in enumerate(lines := source.split("\n")):
        if line.strip() == begin:
            start = number + 1
        elif line.strip() == end and start is not None:
            found.append("\n".join(lines[start:number]))
            start = None
    return found


# ---------------------------------------------------------------- nbgrader


@pytest.mark.parametrize("stem", STEMS)
def test_nbgrader_each_exercise_is_an_answer_cell_followed_by_its_locked_tests(stem, nbgrader_notebooks):
    cells = nbgrader_notebooks[stem].cells
    answers = [i for i, cell in enumerate(cells) if cell.metadata["nbgrader"]["solution"]]
    assert [cells[i].metadata["nbgrader"]["grade_id"] for i in answers] == [
        exercise.name for exercise in exercises.in_notebook(stem)
    ]
    for index in answers:
        exercise = exercises.get(cells[index].metadata["nbgrader"]["grade_id"])
        answer, tests = cells[index].metadata["nbgrader"], cells[index + 1].metadata["nbgrader"]
        assert (answer["grade"], answer["locked"]) == (False, False)
        assert tests == {
            "grade": True,
            "grade_id": f"{exercise.name}-tests",
            "locked": True,
            "points": exercise.points,
            "schema_version": 3,
            "solution": False,
        }
        hidden = between(cells[index + 1].source, export.HIDDEN_BEGIN, export.HIDDEN_END)
        assert len(hidden) == 1
        assert f'checks.make_inputs("{exercise.name}", np.random.default_rng())' in hidden[0]
        assert f'checks.check("{exercise.name}", {exercise.object_name},' in hidden[0]
        # what the release shows of the test cell: comments only
        visible = cells[index + 1].source.split(export.HIDDEN_BEGIN)[0]
        assert all(line.startswith("#") for line in visible.strip().split("\n"))


@pytest.mark.parametrize("stem", STEMS)
def test_nbgrader_every_other_cell_is_read_only_and_ids_are_unique(stem, nbgrader_notebooks):
    metas = [cell.metadata["nbgrader"] for cell in nbgrader_notebooks[stem].cells]
    others = [meta for meta in metas if not meta["solution"] and not meta["grade"]]
    assert others and all(meta["locked"] for meta in others)
    ids = [meta["grade_id"] for meta in metas]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", grade_id) for grade_id in ids)
    assert all(meta["schema_version"] == 3 for meta in metas)


@pytest.mark.parametrize("stem", STEMS)
def test_nbgrader_answer_cells_keep_the_solution_between_nbgraders_delimiters(stem, nbgrader_notebooks):
    cells = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in nbgrader_notebooks[stem].cells
        if cell.metadata["nbgrader"]["solution"]
    }
    for name, source in solution_cells(stem).items():
        original = between(source, "# BEGIN SOLUTION", "# END SOLUTION")
        assert original and between(cells[name], export.NBGRADER_BEGIN, export.NBGRADER_END) == original
        assert "# BEGIN SOLUTION" not in cells[name].replace(export.NBGRADER_BEGIN, "")
        assert "not_done" not in cells[name]  # the answer cell only defines; use cells carry the guard
        ast.parse(python_source(cells[name]))
    sources = [cell.source for cell in nbgrader_notebooks[stem].cells]
    guarded = [source for source in sources if "require_done(" in source]
    assert len(guarded) >= len(cells), "every exercise's use cell starts with the student notebook's guard"


@pytest.mark.parametrize("stem", STEMS)
def test_nbgrader_leaves_out_the_model_answers_and_writes_the_install_address(stem, nbgrader_notebooks):
    nb = nbgrader_notebooks[stem]
    solution = nbformat.read(ROOT / "solutions" / f"{stem}.ipynb", as_version=4)
    answers = [cell.source for cell in solution.cells if "answer" in cell.metadata.get("tags", [])]
    sources = [cell.source for cell in nb.cells]
    assert answers and not any(answer in sources for answer in answers)
    assert not any("REPO_URL" in source for source in sources)
    assert all(not cell.get("outputs") for cell in nb.cells)
    nbformat.validate(nb)


def defined(source: str, name: str, namespace: dict):
    """Run only the def/class statements of an exercise cell (no data, no training) and return `name`."""
    tree = ast.parse(source)
    tree.body = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    exec(compile(tree, "<exercise>", "exec"), namespace)  # noqa: S102 - the course's own solution code
    return namespace[name]


@NEEDS_MAKE_INPUTS
@pytest.mark.parametrize(
    "name, wrong",
    [
        ("preferred_orientation", ('mode="wrap"', 'mode="reflect"')),
        ("regularized_loss", ("torch.square(weights)", "torch.abs(weights)")),
    ],
)
def test_nbgrader_hidden_test_passes_the_solution_and_fails_a_wrong_answer(name, wrong, nbgrader_notebooks):
    cells = nbgrader_notebooks[exercises.get(name).notebook].cells
    index = next(i for i, cell in enumerate(cells) if cell.metadata["nbgrader"]["grade_id"] == name)
    test_code = between(cells[index + 1].source, export.HIDDEN_BEGIN, export.HIDDEN_END)[0]
    test_code += "\nif not _grading_result:\n    raise AssertionError(_grading_result.reason)"
    for source, passes in ((cells[index].source, True), (cells[index].source.replace(*wrong), False)):
        namespace = {"np": np, "torch": torch, "nn": nn, "gaussian_filter1d": gaussian_filter1d}
        defined(source, exercises.get(name).object_name, namespace)
        if passes:
            exec(test_code, namespace)  # noqa: S102
        else:
            with pytest.raises(AssertionError):
                exec(test_code, namespace)  # noqa: S102


def test_both_exports_leave_out_the_books_own_checks_of_its_claims(tmp_path):
    root = copy_course(tmp_path / "repo")
    path = root / "solutions" / "01_decoding.ipynb"
    nb = nbformat.read(path, as_version=4)
    claim = nbformat.v4.new_code_cell("assert 0.9 < 1.0, 'the book claims a fraction correct above 0.9'")
    claim.metadata["tags"] = ["remove-cell"]
    nb.cells.insert(len(nb.cells) - 1, claim)
    nbformat.write(nb, path)
    (notebook,) = [n for n in export.read_course(root) if n.stem == "01_decoding"]
    for exported in (export.nbgrader_notebook(notebook), export.otter_master(notebook)):
        sources = [cell.source for cell in exported.cells]
        assert claim.source not in sources
        assert any("helpers" in source and "pip" in source for source in sources)  # the setup cell stays


def test_nbgrader_export_writes_the_course_folder_and_keeps_an_edited_config(tmp_path):
    out = tmp_path / "course"
    written = export.export_nbgrader(out, "week3")
    expected = {out / "nbgrader_config.py"} | {out / "source" / "week3" / f"{s}.ipynb" for s in STEMS}
    assert set(written) == expected
    config = (out / "nbgrader_config.py").read_text()
    compile(config, "nbgrader_config.py", "exec")
    assert f"c.Execute.timeout = {export.CELL_TIMEOUT_SECONDS}" in config
    (out / "nbgrader_config.py").write_text("c = get_config()  # the instructor's\n")
    assert out / "nbgrader_config.py" not in export.export_nbgrader(out, "week3")
    assert "the instructor's" in (out / "nbgrader_config.py").read_text()


def test_nbgrader_refuses_a_bad_assignment_name_and_writes_nothing(tmp_path):
    with pytest.raises(export.ExportError, match="letters, digits"):
        export.export_nbgrader(tmp_path / "course", "week 3/../x")
    assert not (tmp_path / "course").exists()


def test_a_stray_nbgrader_delimiter_stops_the_export_naming_the_cell(tmp_path):
    root = copy_course(tmp_path / "repo")
    path = root / "solutions" / "02_encoding.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source += "\n\nThe grader strips the text after BEGIN HIDDEN TESTS."
    nbformat.write(nb, path)
    out = tmp_path / "course"
    with pytest.raises(export.ExportError, match=r"02_encoding\.ipynb, cell id .*BEGIN HIDDEN TESTS.*reword"):
        export.export_nbgrader(out, root=root)
    assert not out.exists()  # not even the notebook of 01_decoding, which is fine


def test_a_broken_solution_notebook_stops_the_export_with_the_generators_message(tmp_path):
    root = copy_course(tmp_path / "repo")
    path = root / "solutions" / "01_decoding.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(cell for cell in nb.cells if cell.metadata.get("exercise") == "classifier")
    cell.source = cell.source.replace("# END SOLUTION", "")
    nbformat.write(nb, path)
    with pytest.raises(export.ExportError, match="has no '# END SOLUTION'"):
        export.export_otter(tmp_path / "out", root=root, assign=False)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- otter


def raw_config(cell, header: str) -> dict:
    assert cell.cell_type == "raw" and cell.source.split("\n")[0] == header
    return yaml.safe_load(cell.source)


@pytest.mark.parametrize("stem", STEMS)
def test_otter_master_starts_with_the_assignment_config(stem, otter_masters):
    config = raw_config(otter_masters[stem].cells[0], "# ASSIGNMENT CONFIG")
    assert config["name"] == stem
    assert config["tests"] == {"ok_format": False}
    assert "torch==2.13.0" in config["requirements"]
    assert any(requirement.startswith("git+https://github.com/") for requirement in config["requirements"])


@pytest.mark.parametrize("stem", STEMS)
def test_otter_master_has_one_question_per_exercise_in_v1_format(stem, otter_masters):
    cells = otter_masters[stem].cells
    starts = [i for i, cell in enumerate(cells) if cell.source.startswith("# BEGIN QUESTION")]
    assert len(starts) == len(exercises.in_notebook(stem))
    for start, exercise in zip(starts, exercises.in_notebook(stem), strict=True):
        question = raw_config(cells[start], "# BEGIN QUESTION")
        assert question == {"name": exercise.name, "points": exercise.points}
        boundaries = [cell.source for cell in cells[start + 1 : start + 9] if cell.cell_type == "raw"]
        assert boundaries == [
            "# BEGIN SOLUTION",
            "# END SOLUTION",
            "# BEGIN TESTS",
            "# END TESTS",
            "# END QUESTION",
        ]
        assert cells[start + 2].metadata["exercise"] == exercise.name
        configs = [otter_test_config(cells[start + 5]), otter_test_config(cells[start + 6])]
        assert configs == [{"hidden": False, "points": 0}, {"hidden": True, "points": exercise.points}]


def otter_test_config(cell) -> dict:
    """The YAML test config of an otter test cell; the code after it must be one function (otter's rule)."""
    source = cell.source
    config_text, code = source.split('""" # END TEST CONFIG\n')
    config = yaml.safe_load(config_text.replace('""" # BEGIN TEST CONFIG', ""))
    tree = ast.parse(code)
    assert len(tree.body) == 1 and isinstance(tree.body[0], ast.FunctionDef)
    assert [arg.arg for arg in tree.body[0].args.args] == ["env"]
    return config


def otter_student_version(source: str) -> str:
    """What otter's documented rules make of a solution cell: NO PROMPT blocks and prompt markers go."""
    kept, inside = [], False
    for line in source.split("\n"):
        stripped = line.rstrip()
        if stripped.endswith("# BEGIN SOLUTION NO PROMPT"):
            inside = True
        elif stripped.endswith("# END SOLUTION"):
            inside = False
        elif not inside and not stripped.endswith(("# BEGIN PROMPT", "# END PROMPT")):
            kept.append(line)
    return "\n".join(kept)


@pytest.mark.parametrize("stem", STEMS)
def test_otter_student_cells_are_the_book_student_cells(stem, otter_masters):
    """Under otter's rules, each solution cell becomes the student notebook's cell (same code)."""
    student = nbformat.read(ROOT / "book" / "student" / f"{stem}.ipynb", as_version=4)
    expected = {c.metadata["exercise"]: c.source for c in student.cells if c.metadata.get("exercise")}
    master = otter_masters[stem].cells
    masters = {c.metadata["exercise"]: c.source for c in master if c.metadata.get("exercise")}
    assert masters.keys() == expected.keys()
    for name, source in masters.items():
        ast.parse(python_source(source))  # the master itself runs
        mine = ast.dump(ast.parse(python_source(otter_student_version(source))))
        assert mine == ast.dump(ast.parse(python_source(expected[name]))), name


@pytest.mark.parametrize("stem", STEMS)
def test_otter_tests_call_the_checks_public_on_fixed_inputs_hidden_on_fresh_ones(stem, otter_masters):
    cells = otter_masters[stem].cells
    for exercise in exercises.in_notebook(stem):
        header = f"# BEGIN QUESTION\nname: {exercise.name}\npoints: {exercise.points}"
        start = next(i for i, cell in enumerate(cells) if cell.source == header)
        public, hidden = cells[start + 5].source, cells[start + 6].source
        assert f'checks.check("{exercise.name}", env["{exercise.object_name}"])' in public
        assert f'checks.make_inputs("{exercise.name}", np.random.default_rng())' in hidden
        assert "make_inputs" not in public


def test_otter_without_otter_says_how_to_install_it_and_writes_nothing(tmp_path):
    with pytest.raises(export.ExportError, match="requirements-graders.txt.*--no-assign"):
        export.export_otter(tmp_path / "out", otter=str(tmp_path / "no-such-otter"))
    assert not (tmp_path / "out").exists()


def test_command_line_writes_masters_and_reports_errors(tmp_path, capsys):
    assert export.main(["otter", str(tmp_path / "out"), "--no-assign"]) == 0
    for stem in STEMS:
        nb = json.loads((tmp_path / "out" / stem / f"{stem}.ipynb").read_text())
        assert "".join(nb["cells"][0]["source"]).startswith("# ASSIGNMENT CONFIG")
    assert export.main(["nbgrader", str(tmp_path / "c"), "--assignment", "a b"]) == 2
    assert "helpers.export: assignment name 'a b'" in capsys.readouterr().err
