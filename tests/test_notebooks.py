"""The notebook generator (scripts/make_notebooks.py and scripts/notebook_gen/) and the notebooks it makes.

Two halves: the generator on small fixture notebooks written here (markers, errors, --check, a new
exercise needing no change to the generator), and the real notebooks in solutions/, book/student/ and
book/tutorials/ (up to date, clean, stubs that fail the right way in a real kernel, stubs that give
back the solution, the docs' exercise table equal to the registry).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_notebooks.py"
_spec = importlib.util.spec_from_file_location("make_notebooks", SCRIPT)
mk = importlib.util.module_from_spec(_spec)
sys.modules["make_notebooks"] = mk
_spec.loader.exec_module(mk)  # the command line; it puts its package, scripts/notebook_gen, on sys.path

from notebook_gen import book_cells, rules  # noqa: E402
from notebook_gen.notebooks import LOCAL_BADGE  # noqa: E402

from helpers import exercises  # noqa: E402
from helpers.files import python_source  # noqa: E402

CELL_TIMEOUT = 300  # seconds a single cell may take in the kernel before the test fails on it
KERNEL_ENV = {"NMA_DECODING_DATA": "synthetic", "NMA_DECODING_PROGRESS": "0", "MPLBACKEND": "agg"}
URL = "https://github.com/example-org/example-module"
SETUP = (
    "# Installs the helpers package when it is missing (Colab)\n"
    "try:\n"
    "    import helpers  # noqa: F401\n"
    "except ImportError:\n"
    '    %pip install --quiet "git+REPO_URL@BRANCH"'
)


# ---------------------------------------------------------------- fixture notebooks


def md(source, tags=(), cell_id=None):
    cell = nbformat.v4.new_markdown_cell(source, id=cell_id)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def code(source, tags=(), exercise=None, cell_id=None):
    cell = nbformat.v4.new_code_cell(source, id=cell_id)
    if tags:
        cell.metadata["tags"] = list(tags)
    if exercise:
        cell.metadata["exercise"] = exercise
    return cell


PREFERRED = '''\
def preferred_orientation(resp, stimuli_deg, sigma_bins=5):
    """Each neuron's preferred orientation (degrees)."""
    # TODO: find, for each neuron, the index of the stimulus with the largest response
    # BEGIN SOLUTION
    best = np.argmax(resp, axis=0)
    return stimuli_deg[best]
    # END SOLUTION'''

PREFERRED_STUB = '''\
def preferred_orientation(resp, stimuli_deg, sigma_bins=5):
    """Each neuron's preferred orientation (degrees)."""
    # TODO: find, for each neuron, the index of the stimulus with the largest response
    raise NotImplementedError(
        "Exercise 'preferred_orientation': find, for each neuron, the index of the stimulus with the largest "
        "response"
    )'''

USE_PREFERRED = """\
preferred = preferred_orientation(resp, stimuli)
resp = resp - resp.mean()
n_preferred, spread = len(preferred), preferred.std()"""

USE_PREFERRED_STUDENT = f"""\
# Until Exercise 'preferred_orientation' is done, this cell stops here and its results are placeholders.
{rules.GUARD_IMPORT}

preferred = not_done("preferred_orientation", "preferred")
n_preferred = not_done("preferred_orientation", "n_preferred")
spread = not_done("preferred_orientation", "spread")
require_done("preferred_orientation", preferred_orientation)

{USE_PREFERRED}"""

CLASSIFIER = """\
class Classifier:
    def __init__(self, n_classes):
        # TODO: keep the number of classes in self.n_classes
        # BEGIN SOLUTION
        self.n_classes = n_classes
        # END SOLUTION

    def predict(self, x):
        # TODO: return the class of each input,
        #       x modulo the number of classes
        # BEGIN SOLUTION
        return x % self.n_classes
        # END SOLUTION


def make_classifier(n_inputs, n_classes, n_hidden=20):
    return Classifier(n_classes)"""

CLASSIFIER_STUB = """\
class Classifier:
    def __init__(self, n_classes):
        # TODO: keep the number of classes in self.n_classes
        raise NotImplementedError("Exercise 'classifier': keep the number of classes in self.n_classes")

    def predict(self, x):
        # TODO: return the class of each input,
        #       x modulo the number of classes
        raise NotImplementedError(
            "Exercise 'classifier': return the class of each input, x modulo the number of classes"
        )
"""

USE_CLASSIFIER = "net = make_classifier(4, 3)\nfor x in range(2):\n    last = net.predict(x)"


def hint(number, text="Look at the docstring."):
    return f"<details>\n<summary>Hint {number}</summary>\n\n{text}\n\n</details>"


def decoding_cells():
    return [
        md("# Tutorial 1: decoding", cell_id="title"),
        code(SETUP, tags=["setup"], cell_id="setup"),
        code(
            "import numpy as np\n\nfrom helpers import checks\n\nresp = np.arange(12.0).reshape(4, 3)\n"
            "stimuli = np.array([0.0, 90, 180, 270])",
            cell_id="data",
        ),
        md("## Exercise 1\nFind each neuron's preferred orientation.", cell_id="task-1"),
        md(hint(1, "Which axis holds the stimuli?"), cell_id="hint-1-1"),
        code(PREFERRED, tags=["exercise"], exercise="preferred_orientation", cell_id="ex-preferred"),
        code("checks.preferred_orientation(preferred_orientation)", cell_id="check-1"),
        code(USE_PREFERRED, cell_id="use-preferred"),
        md("## Think! 1\nWhy?", cell_id="think-1"),
        md("Because ```code``` and\n\n```python\nx = 1\n```", tags=["answer"], cell_id="answer-1"),
        code("print(preferred.mean())", cell_id="uses-preferred"),
        code("print(resp.shape)", cell_id="independent"),
        md("## Exercise 2", cell_id="task-2"),
        md(hint(1), cell_id="hint-2-1"),
        md(hint(2, "The shape: `self.something = ...`."), cell_id="hint-2-2"),
        code(CLASSIFIER, tags=["exercise"], exercise="classifier", cell_id="ex-classifier"),
        code("checks.classifier(make_classifier)", cell_id="check-2"),
        code(USE_CLASSIFIER, cell_id="use-classifier"),
        code("print(net.predict(5), last)", cell_id="uses-net"),
    ]


def encoding_cells(exercise="conv_fc_encoder"):
    source = (
        "class ConvFC:\n"
        "    def forward(self, s):\n"
        "        # TODO: return s doubled\n"
        "        # BEGIN SOLUTION\n"
        "        return 2 * s\n"
        "        # END SOLUTION"
    )
    return [
        md("# Tutorial 2: encoding", cell_id="title"),
        code(SETUP, tags=["setup"], cell_id="setup"),
        code("from helpers import checks", cell_id="imports"),
        md(hint(1), cell_id="hint-conv-1"),
        code(source, tags=["exercise"], exercise=exercise, cell_id="ex-conv"),
        code("checks.conv_fc_encoder(ConvFC)", cell_id="check-conv"),
        code("model = ConvFC()\nout = model.forward(1)", cell_id="use-conv"),
    ]


def write_notebook(path: Path, cells) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    nb.cells = cells
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def make_project(tmp_path: Path, notebooks=None, config=True) -> Path:
    """A project root with _config.yml and solution notebooks (name -> cells)."""
    if config:
        (tmp_path / "_config.yml").write_text(
            f"title: Fixture\nrepository:\n  url: {URL}\n  branch: dev\n  path_to_book: book\n"
        )
    if notebooks is None:
        notebooks = {"01_decoding": decoding_cells(), "02_encoding": encoding_cells()}
    for name, cells in notebooks.items():
        write_notebook(tmp_path / "solutions" / f"{name}.ipynb", cells)
    return tmp_path


def generate_error(root: Path) -> str:
    with pytest.raises(rules.NotebookError) as caught:
        mk.generate(root)
    return str(caught.value)


def read(path: Path):
    return nbformat.read(path, as_version=4)


def cell_by_id(nb, cell_id):
    return next(cell for cell in nb.cells if cell.id == cell_id)


@pytest.fixture
def project(tmp_path):
    root = make_project(tmp_path)
    assert mk.main(["--root", str(root)]) == 0
    return root


# ---------------------------------------------------------------- the generator on fixtures


def test_student_exercise_cell_is_the_stub_and_the_cell_using_it_starts_with_the_guard(project):
    student = read(project / "book/student/01_decoding.ipynb")
    assert cell_by_id(student, "ex-preferred").source == PREFERRED_STUB
    assert cell_by_id(student, "check-1").source == "checks.preferred_orientation(preferred_orientation)"
    # `resp` is read before the cell rebinds it, so it keeps its earlier value: no placeholder for it.
    assert cell_by_id(student, "use-preferred").source == USE_PREFERRED_STUDENT
    # A later cell that only reads a result gets no guard: the placeholder speaks for it.
    assert cell_by_id(student, "uses-preferred").source == "print(preferred.mean())"


def test_blocks_inside_methods_become_raises_and_a_method_body_may_be_only_the_raise(project):
    student = read(project / "book/student/01_decoding.ipynb")
    source = cell_by_id(student, "ex-classifier").source
    assert CLASSIFIER_STUB in source
    assert "BEGIN SOLUTION" not in source and "self.n_classes = n_classes" not in source
    assert "not_done" not in source and "require_done" not in source
    namespace = {}
    exec(compile(source, "cell", "exec"), namespace)  # an exercise cell only defines: nothing raises
    with pytest.raises(NotImplementedError, match="Exercise 'classifier': keep the number"):
        namespace["Classifier"](3)
    # `x` is the module-level loop variable: bound by the cell, so it gets a placeholder too.
    use = cell_by_id(student, "use-classifier").source
    assert placeholder_names(use) == ["net", "x", "last"]
    assert 'require_done("classifier", Classifier)\n\n' + USE_CLASSIFIER in use


def test_student_notebook_drops_answers_adds_a_badge_and_fills_the_setup_address(project):
    student = read(project / "book/student/01_decoding.ipynb")
    ids = [cell.id for cell in student.cells]
    assert ids[:3] == ["title", rules.BADGE_CELL_ID, "setup"]
    assert "answer-1" not in ids and "think-1" in ids
    colab = "https://colab.research.google.com/github/example-org/example-module/blob/dev/book/student/01_decoding.ipynb"
    assert student.cells[1].source == f"[Open in Colab]({colab})"  # text: no image fetched from the internet
    setup = cell_by_id(student, "setup").source
    assert f'"git+{URL}@dev"' in setup and "REPO_URL" not in setup and "BRANCH" not in setup
    assert cell_by_id(student, "uses-preferred").source == "print(preferred.mean())"


def test_book_page_shows_starting_code_then_the_hidden_solution(project):
    page = read(project / "book/tutorials/01_decoding.ipynb")
    ids = [cell.id for cell in page.cells]
    assert ids[:3] == ["title", rules.LINKS_CELL_ID, "setup"]
    assert "remove-cell" in page.cells[2].metadata["tags"] and "git+REPO_URL" not in page.cells[2].source
    links = page.cells[1].source
    assert "](../_static/colab-badge.svg)" in links
    assert "/example-org/example-module/blob/dev/book/student/01_decoding.ipynb" in links
    assert "{download}`student notebook <../student/01_decoding.ipynb>`" in links

    position = ids.index("ex-preferred")
    stub, solution = page.cells[position - 1], page.cells[position]
    assert stub.cell_type == "markdown" and stub.id == "ex-preferred" + rules.STUB_SUFFIX
    assert f"```python\n{PREFERRED_STUB}\n```" in stub.source
    revealed = "\n".join(
        line for line in PREFERRED.split("\n") if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION")
    )
    assert solution.source == revealed.replace("# TODO: ", "# ") and "hide-input" in solution.metadata["tags"]
    assert solution.metadata["mystnb"]["code_prompt_show"] == "Show solution"

    answer = cell_by_id(page, "answer-1").source
    # the answer holds a triple-backtick fence, so the dropdown's fence is longer
    assert answer.startswith("````{dropdown} Model answer\nBecause") and answer.endswith("\n````")


def test_generated_notebooks_are_clean_and_deterministic(project):
    files = mk.generate(project)
    assert files == mk.generate(project)
    for path, content in files.items():
        assert path.read_bytes() == content
        if path.suffix != ".ipynb":
            continue
        nb = nbformat.reads(content.decode(), as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"
        for cell in nb.cells:
            assert cell.cell_type != "code" or (cell.outputs == [] and cell.execution_count is None)
    svg = (project / LOCAL_BADGE).read_text()
    assert (
        svg.startswith("<svg") and "Open in Colab" in svg and "href" not in svg and "http://" not in svg[60:]
    )


def write_raw(path: Path, cells, edit_cell) -> None:
    """Write a notebook as plain JSON after `edit_cell(index, cell_dict)`, bypassing nbformat's repairs."""
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    raw = json.loads(nbformat.writes(nb))
    for index, cell in enumerate(raw["cells"]):
        edit_cell(index, cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(raw))


def test_generated_notebooks_pass_ruff_with_the_project_settings(project):
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--config", str(ROOT / "pyproject.toml")]
    done = subprocess.run([*command, str(project / "book")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_cells_without_ids_get_ids_from_their_position(tmp_path):
    root = make_project(tmp_path, notebooks={})
    write_raw(root / "solutions/02_encoding.ipynb", encoding_cells(), lambda index, cell: cell.pop("id"))
    first = mk.generate(root)
    assert first == mk.generate(root)
    student = nbformat.reads(first[root / "book/student/02_encoding.ipynb"].decode(), as_version=4)
    expected = ["cell-0", rules.BADGE_CELL_ID, *(f"cell-{index}" for index in range(1, 7))]
    assert [cell.id for cell in student.cells] == expected


def test_duplicate_cell_ids_are_refused_not_silently_renamed(tmp_path):
    root = make_project(tmp_path, notebooks={})
    write_raw(
        root / "solutions/02_encoding.ipynb", encoding_cells(), lambda index, cell: cell.update(id="same")
    )
    message = generate_error(root)
    assert "solutions/02_encoding.ipynb, cell 1: cell id 'same' is used twice" in message


def test_check_lists_files_that_differ_and_writes_nothing(project, capsys):
    assert mk.main(["--root", str(project), "--check"]) == 0
    student = project / "book/student/01_decoding.ipynb"
    edited = student.read_bytes().replace(b"Tutorial 1", b"Tutorial one")
    student.write_bytes(edited)
    (project / "book/tutorials/02_encoding.ipynb").unlink()
    (project / "book/tutorials/03_old.ipynb").write_text("{}")
    capsys.readouterr()
    assert mk.main(["--root", str(project), "--check"]) == 1
    err = capsys.readouterr().err
    assert "book/student/01_decoding.ipynb differs from a fresh generation" in err
    assert "book/tutorials/02_encoding.ipynb is missing" in err
    assert "book/tutorials/03_old.ipynb has no solution notebook" in err
    assert student.read_bytes() == edited and not (project / "book/tutorials/02_encoding.ipynb").exists()
    assert mk.main(["--root", str(project)]) == 0
    assert not (project / "book/tutorials/03_old.ipynb").exists()
    assert mk.main(["--root", str(project), "--check"]) == 0


def test_the_command_line_check_exits_non_zero(project):
    (project / "book/student/02_encoding.ipynb").write_text("{}")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(project), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "02_encoding.ipynb differs" in done.stderr


def _break(cells, cell_id, old, new):
    cell = next(cell for cell in cells if cell.id == cell_id)
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    return cells


def assert_generation_refused(tmp_path, edit, expected: list[str]) -> None:
    """The generator, on the solution notebook changed by ``edit``, stops with a message naming the
    notebook and holding every part of ``expected``, and writes nothing."""
    root = make_project(tmp_path, {"01_decoding": edit(decoding_cells())})
    message = generate_error(root)
    assert "solutions/01_decoding.ipynb" in message
    for part in expected:
        assert part in message
    assert not (root / "book").exists()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            lambda c: _break(
                c,
                "ex-classifier",
                "        return x % self.n_classes\n        # END SOLUTION",
                "        return x % self.n_classes",
            ),
            ["cell 15", "'classifier'", "has no '# END SOLUTION'", "line 11"],
            id="missing END",
        ),
        pytest.param(
            lambda c: _break(c, "ex-preferred", "    # BEGIN SOLUTION\n", ""),
            ["cell 5", "'preferred_orientation'", "without a '# BEGIN SOLUTION'"],
            id="missing BEGIN",
        ),
        pytest.param(
            lambda c: _break(
                c,
                "ex-preferred",
                "    # TODO: find, for each neuron, the index of the stimulus with the largest response\n",
                "",
            ),
            ["cell 5", "needs a '# TODO:' line right before it"],
            id="missing TODO",
        ),
        pytest.param(
            lambda c: _break(
                c,
                "ex-preferred",
                "# END SOLUTION",
                "# END SOLUTION  \n    # BEGIN SOLUTION\n    # END SOLUTION",
            ),
            ["cell 5", "needs a '# TODO:' line"],
            id="second BEGIN without TODO",
        ),
        pytest.param(
            lambda c: _break(c, "ex-preferred", "# END SOLUTION", "# end solution"),
            ["cell 5", "looks like a marker but is not one"],
            id="misspelt marker",
        ),
        pytest.param(
            lambda c: _break(c, "ex-preferred", "    # END SOLUTION", "  # END SOLUTION"),
            ["cell 5", "indented differently"],
            id="END indented differently",
        ),
        pytest.param(
            lambda c: _break(
                c,
                "data",
                "import numpy as np",
                "import numpy as np\n# TODO: x\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION",
            ),
            ["cell 2", "not an exercise", "would reach the student notebook"],
            id="markers outside exercise",
        ),
        pytest.param(
            lambda c: _break(
                c,
                "ex-preferred",
                "    # END SOLUTION",
                "    # END SOLUTION\n\n\n# TODO: call it\n# BEGIN SOLUTION\npreferred = 1\n# END SOLUTION",
            ),
            ["cell 5", "line 12 (`preferred = 1`) does more than define `preferred_orientation`"],
            id="block at module level",
        ),
        pytest.param(
            lambda c: [
                *c[:5],
                code(
                    CLASSIFIER.replace(
                        "    def predict",
                        "    class Inner:\n        # TODO: a\n        # BEGIN SOLUTION\n"
                        "        y = 1\n        # END SOLUTION\n\n"
                        "    def predict",
                    ),
                    tags=["exercise"],
                    exercise="classifier",
                    cell_id="x",
                ),
                *c[16:],
            ],
            ["cell 5", "not inside a function or method body"],
            id="block in a class body",
        ),
        pytest.param(
            lambda c: _break(c, "ex-preferred", "return stimuli_deg[best]", "return stimuli_deg[best"),
            ["cell 5", "not valid Python"],
            id="syntax error",
        ),
    ],
)
def test_broken_markers_stop_the_generator_naming_notebook_cell_and_exercise(tmp_path, edit, expected):
    assert_generation_refused(tmp_path, edit, expected)


def test_unknown_exercise_name_is_refused(tmp_path):
    cells = decoding_cells()
    cells[5].metadata["exercise"] = "preferred_orientations"
    message = generate_error(make_project(tmp_path, {"01_decoding": cells}))
    assert (
        "solutions/01_decoding.ipynb, cell 5" in message
        and "unknown exercise name 'preferred_orientations'" in message
    )
    # It names the notebook's registered exercises and where a new one is added.
    assert "['preferred_orientation', 'classifier', 'regularized_loss']" in message
    assert "add the new exercise to EXERCISES in helpers/exercises.py" in message


TOY = exercises.Exercise(
    name="double",
    notebook="03_toy",
    object_name="double",
    kind="function",
    points=1,
    check_module="double",
    seed=1,
    summary="`double(x)`: twice `x`",
)
TOY_SOLUTION = """\
def double(x):
    # TODO: return twice x
    # BEGIN SOLUTION
    return 2 * x
    # END SOLUTION"""
TOY_STUDENT = """\
def double(x):
    # TODO: return twice x
    raise NotImplementedError("Exercise 'double': return twice x")"""


def toy_project(tmp_path: Path) -> Path:
    cells = [
        md("# Tutorial 3: a toy", cell_id="title"),
        code(SETUP, tags=["setup"], cell_id="setup"),
        md(hint(1, "Multiply."), cell_id="hint-double-1"),
        code(TOY_SOLUTION, tags=["exercise"], exercise="double", cell_id="ex-double"),
        code("checks.double(double)", cell_id="check-double"),
        code("doubled = double(21)", cell_id="use-double"),
    ]
    return make_project(tmp_path, {"03_toy": cells})


def test_a_new_exercise_needs_a_registry_entry_and_no_change_to_the_generator(tmp_path, monkeypatch):
    root = toy_project(tmp_path)
    assert "unknown exercise name 'double'" in generate_error(root)
    # Registered, as a new entry in helpers/exercises.py would be (the generator asks the registry only).
    registry = {exercise.name: exercise for exercise in (*exercises.EXERCISES, TOY)}
    monkeypatch.setattr(exercises, "get", registry.__getitem__)
    monkeypatch.setattr(
        exercises, "in_notebook", lambda stem: [e for e in registry.values() if e.notebook == stem]
    )
    files = mk.generate(root)
    student = nbformat.reads(files[root / "book/student/03_toy.ipynb"].decode(), as_version=4)
    source = cell_by_id(student, "ex-double").source
    assert source == TOY_STUDENT
    namespace = {}
    exec(compile(source, "cell", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="Exercise 'double': return twice x"):
        namespace["double"](1)
    use = cell_by_id(student, "use-double").source
    assert placeholder_names(use) == ["doubled"] and 'require_done("double", double)' in use
    page = nbformat.reads(files[root / "book/tutorials/03_toy.ipynb"].decode(), as_version=4)
    revealed = [line for line in TOY_SOLUTION.split("\n") if line.strip() not in (rules.BEGIN, rules.END)]
    assert cell_by_id(page, "ex-double").source == "\n".join(revealed).replace("# TODO: ", "# ")
    # In another notebook than its registry entry says, it is refused.
    registry["double"] = dataclasses.replace(TOY, notebook="01_decoding")
    assert "exercise 'double' belongs to 01_decoding, not 03_toy" in generate_error(root)


def test_duplicate_exercise_name_in_one_notebook_is_refused(tmp_path):
    cells = decoding_cells()
    cells[15].metadata["exercise"] = "preferred_orientation"
    message = generate_error(make_project(tmp_path, {"01_decoding": cells}))
    assert "cell 15 (exercise 'preferred_orientation')" in message and "already used by cell 5" in message


def test_exercise_in_the_wrong_notebook_is_refused(tmp_path):
    # Each name belongs to one notebook, so this also refuses one name used in two notebooks.
    root = make_project(
        tmp_path, {"01_decoding": decoding_cells(), "02_encoding": encoding_cells("classifier")}
    )
    message = generate_error(root)
    assert (
        "solutions/02_encoding.ipynb, cell 4 (exercise 'classifier')" in message
        and "belongs to 01_decoding" in message
    )


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            lambda c: [c[0], code("x = 1", tags=["setup"], cell_id="setup")] + c[2:],
            "must install 'git+REPO_URL@BRANCH' literally",
            id="setup without placeholder",
        ),
        pytest.param(
            lambda c: [c[0], code("import os", cell_id="s0")] + c[1:],
            "the first code cell, and only it, must have the tag `setup`",
            id="setup not first",
        ),
        pytest.param(
            lambda c: [md("Intro", cell_id="intro")] + c, "the first cell must be the title", id="no title"
        ),
        pytest.param(
            lambda c: c + [code("x = 2", tags=["answer"], cell_id="a2")],
            "tagged `answer` must be a markdown cell",
            id="code answer",
        ),
        pytest.param(
            lambda c: c + [code("x = 2", tags=["exercise"], cell_id="e2")],
            "both the tag `exercise` and the cell metadata",
            id="tag without name",
        ),
    ],
)
def test_broken_notebook_conventions_are_refused(tmp_path, edit, expected):
    message = generate_error(make_project(tmp_path, {"01_decoding": edit(decoding_cells())}))
    assert "solutions/01_decoding.ipynb" in message and expected in message


def test_missing_or_non_github_config_is_refused(tmp_path):
    root = make_project(tmp_path, config=False)
    assert "no _config.yml" in generate_error(root)
    (root / "_config.yml").write_text("repository:\n  url: https://gitlab.com/a/b\n  branch: main\n")
    assert "not a GitHub address" in generate_error(root)
    (root / "_config.yml").write_text("title: x\n")
    assert "needs `repository.url` and `repository.branch`" in generate_error(root)


def test_errors_reach_the_command_line_with_exit_status_2(tmp_path, capsys):
    cells = decoding_cells()
    cells[5].metadata["exercise"] = "nope"
    root = make_project(tmp_path, {"01_decoding": cells})
    assert mk.main(["--root", str(root)]) == 2
    assert "unknown exercise name 'nope'" in capsys.readouterr().err
    assert not (root / "book").exists()


EXERCISE_TABLE_HEADER = "| exercise (stable name) | notebook | what the student completes |"


def exercise_table_mismatch(docs: str) -> str | None:
    """How the exercise table in the text of docs/notebooks.md differs from the registry, or None.

    The table's rows must be the registry's exercises in course order, one per exercise: the name,
    the notebook and `Exercise.summary`, exactly as `helpers/exercises.py` has them.
    """
    expected = [f"| `{e.name}` | {e.notebook} | {e.summary} |" for e in exercises.EXERCISES]
    lines = [line.strip() for line in docs.split("\n")]
    if EXERCISE_TABLE_HEADER not in lines:
        found = None
    else:
        start = lines.index(EXERCISE_TABLE_HEADER) + 2  # after the header and its `| --- |` line
        end = next((n for n in range(start, len(lines)) if not lines[n].startswith("|")), len(lines))
        found = lines[start:end]
        if found == expected:
            return None
    state = "has no exercise table" if found is None else "has an exercise table that differs from"
    return (
        f"docs/notebooks.md {state} the registry helpers/exercises.py, the one list of exercises. If "
        "the registry is right, make the table's rows, under the header "
        f"{EXERCISE_TABLE_HEADER!r} and its `| --- |` line, exactly these (name, notebook, "
        "Exercise.summary, in course order); otherwise fix the registry:\n" + "\n".join(expected)
    )


def test_the_exercise_table_in_docs_is_the_registry():
    problem = exercise_table_mismatch((ROOT / "docs/notebooks.md").read_text(encoding="utf-8"))
    assert problem is None, problem


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda rows: rows[:-1], id="a row missing"),
        pytest.param(lambda rows: [rows[1], rows[0], *rows[2:]], id="rows out of order"),
        pytest.param(lambda rows: [rows[0].replace("argmax", "max"), *rows[1:]], id="summary edited"),
        pytest.param(lambda rows: [rows[0].replace("01_decoding", "02_encoding"), *rows[1:]], id="notebook"),
        pytest.param(lambda rows: [*rows, "| `toy` | 01_decoding | a toy |"], id="a row too many"),
    ],
)
def test_a_docs_table_unlike_the_registry_is_reported_with_the_rows_to_write(edit):
    docs = (ROOT / "docs/notebooks.md").read_text(encoding="utf-8")
    lines = docs.split("\n")
    start = [line.strip() for line in lines].index(EXERCISE_TABLE_HEADER) + 2
    rows = lines[start : start + len(exercises.EXERCISES)]
    edited = "\n".join([*lines[:start], *edit(rows), *lines[start + len(rows) :]])
    problem = exercise_table_mismatch(edited)
    assert problem is not None and "exercise table that differs from" in problem
    assert problem.endswith(
        "\n".join(f"| `{e.name}` | {e.notebook} | {e.summary} |" for e in exercises.EXERCISES)
    )
    assert "has no exercise table" in exercise_table_mismatch(docs.replace(EXERCISE_TABLE_HEADER, "| x |"))


# ---------------------------------------------------------------- running student notebooks in a kernel


MAX_TRACEBACK_LINES = 15  # what a student meets when a cell needs an unfinished exercise


@dataclasses.dataclass
class Ran:
    """One executed code cell: its index, the exception's name and message (None), what it showed."""

    index: int
    ename: str | None
    evalue: str | None
    traceback: list[str]  # the error output's lines, ANSI colours removed ([] when it did not fail)
    text: str  # everything it printed


def run_cells(path: Path, cwd: Path, sources: dict[str, str] | None = None) -> list[Ran]:
    """Run every code cell in order in a python3 kernel (cell id -> replacement source in `sources`)."""
    nb = read(path)
    for cell in nb.cells:
        cell.source = (sources or {}).get(cell.id, cell.source)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(cwd)}}
    )
    results = []
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
                ename = evalue = None
            except CellExecutionError as error:
                ename, evalue = error.ename, error.evalue
            errors = [o for o in cell.outputs if o.output_type == "error"]
            lines = "\n".join(errors[0].traceback).split("\n") if errors else []
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            results.append(Ran(index, ename, evalue, [re.sub(r"\x1b\[[0-9;]*m", "", x) for x in lines], text))
    return results


def exercise_cells(nb) -> dict[int, str]:
    return {i: cell.metadata["exercise"] for i, cell in enumerate(nb.cells) if "exercise" in cell.metadata}


def placeholder_names(source: str) -> list[str]:
    return re.findall(r'^(\w+) = not_done\("\w+", "\w+"\)$', source, flags=re.MULTILINE)


def assert_student_run_fails_the_right_way(nb, results: list[Ran]):
    """An untouched student notebook: each exercise cell defines, its check says "not done yet", the next
    cell stops with a short NotImplementedError naming the exercise; nothing else fails except cells
    using a placeholder, each with a short error naming its exercise."""
    exercises = exercise_cells(nb)
    assert exercises, "the notebook has no exercise cells"
    reached: list[str] = []
    failures = {}
    for ran in results:
        index, ename, evalue = ran.index, ran.ename, ran.evalue
        where = f"cell {index}:\n{nb.cells[index].source[:300]}\n-> {ename}: {evalue}"
        if index in exercises:
            reached.append(exercises[index])
            assert ename is None, f"an exercise cell only defines, so it runs without error, {where}"
        elif index - 1 in exercises:
            name = exercises[index - 1]
            assert ename is None and f"{name}: not done yet" in ran.text, (
                f"the check of {name!r} must say kindly that it is not done yet, {where}\n{ran.text}"
            )
        elif index - 2 in exercises:
            name = exercises[index - 2]
            assert ename == "NotImplementedError" and f"Exercise '{name}' is not done yet" in evalue, (
                f"the cell after the check of {name!r} must stop naming the exercise, {where}"
            )
        if ename is None:
            continue
        assert reached, f"a cell before the first exercise failed, {where}"
        assert ename == "NotImplementedError" and any(f"Exercise '{n}'" in evalue for n in reached), (
            f"after the first exercise, a cell may only fail with NotImplementedError naming an exercise "
            f"above, {where}"
        )
        assert len(ran.traceback) <= MAX_TRACEBACK_LINES and any(
            f"Exercise '{n}'" in ran.traceback[-1] for n in reached
        ), f"{where}: a long traceback, or its last line does not name the exercise:\n" + "\n".join(
            ran.traceback
        )
        failures[index] = evalue
    # Each guarded cell's placeholders work: a later cell that uses them fails pointing at the exercise.
    for ran in results:
        names = placeholder_names(nb.cells[ran.index].source)
        users = [
            later.index
            for later in results
            if later.index > ran.index
            and set(names)
            & {
                n.id
                for n in ast.walk(ast.parse(python_source(nb.cells[later.index].source)))
                if isinstance(n, ast.Name)
            }
        ]
        if names and users:
            assert any("comes from Exercise '" in failures.get(later, "") for later in users), (
                f"cells {users} use {names} from cell {ran.index}, but none failed with its placeholder"
            )


@pytest.fixture
def kernel_env(monkeypatch, tmp_path_factory):
    """The kernel inherits these: stand-in data, no progress bars, and a data cache (NMA_DECODING_CACHE
    if set, else one for this test session, so the stand-in is generated once per session)."""
    for key, value in KERNEL_ENV.items():
        monkeypatch.setenv(key, value)
    if not os.environ.get("NMA_DECODING_CACHE"):
        cache = tmp_path_factory.getbasetemp() / "nma-decoding-cache"
        cache.mkdir(exist_ok=True)
        monkeypatch.setenv("NMA_DECODING_CACHE", str(cache))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def test_fixture_student_notebook_fails_the_right_way_in_a_kernel(project, kernel_env, tmp_path):
    path = project / "book/student/01_decoding.ipynb"
    nb = read(path)
    results = run_cells(path, tmp_path)
    assert_student_run_fails_the_right_way(nb, results)
    outcome = {nb.cells[ran.index].id: (ran.ename, ran.evalue) for ran in results}
    assert outcome["ex-preferred"] == outcome["check-1"] == (None, None)
    assert outcome["use-preferred"] == (
        "NotImplementedError",
        "Exercise 'preferred_orientation' is not done yet: complete `preferred_orientation` in its "
        "exercise cell above, run that cell and its check, then run this cell again.",
    )
    assert outcome["uses-preferred"] == (
        "NotImplementedError",
        mk_message("preferred", "preferred_orientation"),
    )
    assert outcome["independent"] == (None, None)
    assert outcome["uses-net"] == ("NotImplementedError", mk_message("net", "classifier"))
    shown = next(ran.traceback for ran in results if nb.cells[ran.index].id == "uses-preferred")
    assert shown == [
        "---> line 1 of this cell: print(preferred.mean())",
        f"NotImplementedError: {mk_message('preferred', 'preferred_orientation')}",
    ]


def test_a_finished_exercise_passes_the_guard_and_its_use_cell_runs(project, kernel_env, tmp_path):
    solved = {"ex-preferred": PREFERRED, "ex-classifier": CLASSIFIER}
    results = run_cells(project / "book/student/01_decoding.ipynb", tmp_path, solved)
    failed = [(ran.index, ran.ename, ran.evalue) for ran in results if ran.ename]
    assert not failed, failed
    assert results[-1].text.strip() == "2 1"


def mk_message(name, exercise):
    return (
        f"`{name}` comes from Exercise '{exercise}', which is not done yet: "
        "complete it above, then run this cell again."
    )


# ---------------------------------------------------------------- the real notebooks

SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
NO_SOLUTIONS = pytest.mark.skip(
    reason="solutions/ has no notebooks yet, so there is nothing generated to test"
)
STEMS = [path.stem for path in SOLUTIONS] or [pytest.param(None, marks=NO_SOLUTIONS)]
GENERATED = [
    ROOT / folder / f"{stem}.ipynb"
    for stem in [p.stem for p in SOLUTIONS]
    for folder in ("book/student", "book/tutorials")
]
ALL_NOTEBOOKS = [pytest.param(p, id=p.relative_to(ROOT).as_posix()) for p in SOLUTIONS + GENERATED] or [
    pytest.param(None, marks=NO_SOLUTIONS)
]


def config_repository() -> tuple[str, str]:
    """repository.url and .branch, read from _config.yml here independently of the generator."""
    path = ROOT / "_config.yml" if (ROOT / "_config.yml").is_file() else ROOT / "book/_config.yml"
    repo = yaml.safe_load(path.read_text())["repository"]
    return repo["url"].rstrip("/").removesuffix(".git"), repo["branch"]


@pytest.mark.skipif(
    not SOLUTIONS, reason="solutions/ has no notebooks yet, so there is nothing generated to test"
)
def test_committed_generated_files_equal_a_fresh_generation():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS)
def test_notebook_has_no_outputs_and_a_python3_kernel(path):
    nb = read(path)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{path}: kernelspec must be python3"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path}, cell {index}: outputs are committed: clear them"
            assert cell.execution_count is None, (
                f"{path}, cell {index}: execution count is committed: clear it"
            )


@pytest.mark.parametrize("path", ALL_NOTEBOOKS)
def test_every_repository_address_is_the_one_in_config(path):
    url, branch = config_repository()
    owner_repo = url.removeprefix("https://github.com/")
    nb = read(path)
    setup = next(cell for cell in nb.cells if "setup" in cell.metadata.get("tags", []))
    generated = path.parent.name != "solutions"
    if generated:
        assert f'"git+{url}@{branch}"' in setup.source
    else:  # solutions keep the placeholders; the generator fills them in from _config.yml
        assert '"git+REPO_URL@BRANCH"' in setup.source
    text = "\n".join(cell.source for cell in nb.cells)
    for address in re.findall(r"git\+[^\s\"']+", text):
        assert address == (f"git+{url}@{branch}" if generated else "git+REPO_URL@BRANCH"), (
            f"{path}: {address}"
        )
    for found in re.findall(r"colab\.research\.google\.com/github/([^)\s]+)", text):
        assert found == f"{owner_repo}/blob/{branch}/book/student/{path.name}", f"{path}: Colab link {found}"
    for found in re.findall(r"github\.com/([\w.-]+/[\w.-]+)", text):
        assert found == owner_repo, f"{path}: a GitHub address other than _config.yml's: {found}"
    if generated:
        assert "colab.research.google.com/github/" in text, f"{path}: no Colab link"


def solution_blocks(source: str) -> list[list[str]]:
    """The lines from each '# BEGIN SOLUTION' to its '# END SOLUTION', markers included."""
    lines, blocks, start = source.split("\n"), [], None
    for number, line in enumerate(lines):
        if line.strip() == "# BEGIN SOLUTION":
            start = number
        elif line.strip() == "# END SOLUTION":
            blocks.append(lines[start : number + 1])
    return blocks


def strip_guard(student: str) -> str:
    """A student cell without the guard block the generator puts at the top of a use cell (if any)."""
    lines = student.split("\n")
    guard = r"# Until Exercise '\w+' is done, this cell stops here and its results are placeholders\."
    if not re.fullmatch(guard, lines[0]):
        return student
    assert lines[1:3] == [rules.GUARD_IMPORT, ""], lines[:3]
    end = 3
    while re.match(r'\w+ = not_done\("\w+", "\w+"\)$', lines[end]):
        end += 1
    assert re.fullmatch(r'require_done\("\w+", \w+\)', lines[end]) and lines[end + 1] == "", lines[: end + 2]
    return "\n".join(lines[end + 2 :])


def restore(student: str, solution: str) -> str:
    """The student cell with placeholders removed and each raise replaced by the solution's block."""
    lines = student.split("\n")
    blocks = iter(solution_blocks(solution))
    out, number = [], 0
    while number < len(lines):
        line = lines[number]
        if re.match(r"\s*raise NotImplementedError\(", line):
            if not line.rstrip().endswith(")"):  # wrapped over several lines
                while lines[number].strip() != ")":
                    number += 1
            out += next(blocks)
        else:
            out.append(line)
        number += 1
    assert next(blocks, None) is None, "fewer stubs than solution blocks"
    return "\n".join(out)


@pytest.mark.parametrize("stem", STEMS)
def test_restoring_stubs_gives_back_the_solution_cell_for_cell(stem):
    solution = read(ROOT / f"solutions/{stem}.ipynb")
    student = read(ROOT / f"book/student/{stem}.ipynb")
    dropped = ("answer", "claim")
    kept = [cell for cell in solution.cells if not set(dropped) & set(cell.metadata.get("tags", []))]
    got = [cell for cell in student.cells if cell.id != rules.BADGE_CELL_ID]
    assert [cell.id for cell in got] == [cell.id for cell in kept]
    for mine, theirs in zip(got, kept, strict=True):
        assert mine.cell_type == theirs.cell_type
        if "setup" in theirs.metadata.get("tags", []):
            url, branch = config_repository()
            assert mine.source == theirs.source.replace("git+REPO_URL@BRANCH", f"git+{url}@{branch}")
        elif "exercise" in theirs.metadata:
            assert "# BEGIN SOLUTION" not in mine.source and "# END SOLUTION" not in mine.source
            assert restore(mine.source, theirs.source) == theirs.source
        else:
            assert strip_guard(mine.source) == theirs.source


@pytest.mark.parametrize("stem", STEMS)
def test_book_page_hides_solutions_and_answers_behind_a_click(stem):
    solution = read(ROOT / f"solutions/{stem}.ipynb")
    student = read(ROOT / f"book/student/{stem}.ipynb")
    page = read(ROOT / f"book/tutorials/{stem}.ipynb")
    by_id = {cell.id: position for position, cell in enumerate(page.cells)}
    captions = book_cells.figure_captions(solution.cells, stem)
    moved = {caption.markdown_index: caption for caption in captions.values()}
    assert page.cells[1].id == rules.LINKS_CELL_ID
    assert f"{{download}}`student notebook <../student/{stem}.ipynb>`" in page.cells[1].source
    assert "](../_static/colab-badge.svg)" in page.cells[1].source
    for index, cell in enumerate(solution.cells):
        if index in moved and not moved[index].rest:
            assert cell.id not in by_id  # a caption alone in its cell moves into the figure's metadata
            continue
        mine = page.cells[by_id[cell.id]]
        tags = mine.metadata.get("tags", [])
        if index in captions:
            assert mine.metadata["mystnb"]["figure"]["caption"] == captions[index].text
        if index in moved:
            assert mine.source == moved[index].rest
        elif "setup" in cell.metadata.get("tags", []):
            assert "remove-cell" in tags
        elif "answer" in cell.metadata.get("tags", []):
            assert re.fullmatch(r"(`{3,})\{dropdown\} Model answer\n.*\n\1", mine.source, flags=re.DOTALL)
            assert cell.source.strip() in mine.source
        elif "claim" in cell.metadata.get("tags", []):
            assert mine.source == cell.source and "remove-cell" in tags
        elif "exercise" in cell.metadata:
            assert "hide-input" in tags and mine.metadata["mystnb"]["code_prompt_show"] == "Show solution"
            assert "# BEGIN SOLUTION" not in mine.source and "# END SOLUTION" not in mine.source
            assert "# TODO:" not in mine.source
            stub = page.cells[by_id[cell.id] - 1]
            student_source = next(c.source for c in student.cells if c.id == cell.id)
            assert stub.cell_type == "markdown"
            assert f"```python\n{student_source.rstrip()}\n```" in stub.source
        else:
            assert mine.source == cell.source


@pytest.mark.parametrize("stem", STEMS)
def test_each_notebook_has_its_exercises_each_followed_by_its_check(stem):
    solution = read(ROOT / f"solutions/{stem}.ipynb")
    found = exercise_cells(solution)
    assert sorted(found.values()) == sorted(exercise.name for exercise in exercises.in_notebook(stem))
    for index, name in found.items():
        following = solution.cells[index + 1] if index + 1 < len(solution.cells) else None
        assert (
            following is not None and following.cell_type == "code" and f"checks.{name}(" in following.source
        ), f"solutions/{stem}.ipynb: the cell after exercise {name!r} must call checks.{name}(...)"


@pytest.mark.parametrize("stem", STEMS)
def test_student_notebook_fails_only_at_exercises_in_a_kernel(stem, kernel_env, tmp_path):
    path = ROOT / f"book/student/{stem}.ipynb"
    started = time.perf_counter()
    results = run_cells(path, tmp_path)
    print(f"{path.name}: {len(results)} code cells in {time.perf_counter() - started:.1f} s")
    assert_student_run_fails_the_right_way(read(path), results)


# ---------------------------------------------------------------- define, check, use; hints; plain markdown


def _insert_before(cells, cell_id, new):
    index = next(i for i, cell in enumerate(cells) if cell.id == cell_id)
    return [*cells[:index], new, *cells[index:]]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            lambda c: _break(c, "ex-preferred", "    # END SOLUTION", "    # END SOLUTION\n\n\nx = 1"),
            ["cell 5", "line 10 (`x = 1`) does more than define `preferred_orientation`",
             "move this line and the ones that use the result into a code cell after the check cell"],
            id="exercise cell uses its result",
        ),
        pytest.param(
            lambda c: _break(c, "ex-preferred", "def preferred_orientation(", "def preferred("),
            ["cell 5", "must define `preferred_orientation`", "defines ['preferred']"],
            id="exercise cell defines another name",
        ),
        pytest.param(
            lambda c: [cell for cell in c if cell.id != "check-1"],
            ["cell 5", "the cell right after it must be its check",
             "`checks.preferred_orientation(preferred_orientation)`"],
            id="no check right after",
        ),
        pytest.param(
            lambda c: _break(
                c, "ex-classifier", "        return x % self.n_classes\n        # END SOLUTION",
                "        result = x % self.n_classes\n        # END SOLUTION\n        return result",
            ),
            ["cell 15", "in `Classifier.predict`", "uses `result`, which only the solution block assigns",
             "move that line inside the solution block"],
            id="solution name used after the raise",
        ),
        pytest.param(
            lambda c: [cell for cell in c if cell.id != "hint-1-1"],
            ["cell 4 (exercise 'preferred_orientation'): it has 0 hints; give it 1 to 3"],
            id="no hint",
        ),
        pytest.param(
            lambda c: _insert_before(
                _insert_before(c, "hint-2-1", md(hint(1), cell_id="h0")), "h0", md(hint(1), cell_id="h00")
            ),
            ["cell 17 (exercise 'classifier'): it has 4 hints; give it 1 to 3"],
            id="four hints",
        ),
        pytest.param(
            lambda c: _break(c, "hint-2-2", "Hint 2", "Hint 3"),
            ["(exercise 'classifier'): its hints (cells [13, 14]) are numbered [1, 3]"],
            id="hints out of order",
        ),
        pytest.param(
            lambda c: _break(c, "hint-1-1", "Which axis holds the stimuli?",
                             "Write `best = np.argmax(resp, axis = 0)`."),
            ["cell 4 (hint for 'preferred_orientation')",
             "contains the solution line `best=np.argmax(resp,axis=0)`"],
            id="hint gives the solution",
        ),
        pytest.param(
            lambda c: _insert_before(c, "think-1", md(hint(1), cell_id="stray")),
            ["cell 8: a hint cell must sit right before its exercise cell"],
            id="stray hint",
        ),
        pytest.param(
            lambda c: _break(c, "hint-1-1", "\n\n</details>", ""),
            ["cell 4 (hint): end the hint with a line `</details>`"],
            id="hint not closed",
        ),
    ],
)
def test_define_check_use_and_hint_rules_stop_the_generator(tmp_path, edit, expected):
    assert_generation_refused(tmp_path, edit, expected)


@pytest.mark.parametrize(
    ("markdown", "what"),
    [
        pytest.param(
            "Text\n\n```{admonition} Aside\n:class: note\nBody\n```", "a MyST directive", id="admonition"
        ),
        pytest.param(":::{note}\nBody\n:::", "a MyST colon fence", id="colon fence"),
        pytest.param("See {download}`the file <x.ipynb>`.", "a MyST role", id="role"),
        pytest.param("(my-label)=\n## Title", "a MyST target", id="target"),
    ],
)
def test_myst_only_markdown_is_refused_with_the_line_and_a_plain_alternative(tmp_path, markdown, what):
    cells = _insert_before(decoding_cells(), "think-1", md(markdown, cell_id="myst"))
    message = generate_error(make_project(tmp_path, {"01_decoding": cells}))
    line = next(n for n, text in enumerate(markdown.split("\n"), 1) if re.search(r"[{:(]", text))
    assert f"solutions/01_decoding.ipynb, cell 8: line {line} uses {what}" in message
    assert "blockquote" in message


def test_plain_markdown_that_looks_like_myst_is_accepted(tmp_path):
    plain = "Math $\\{x\\}$, a set `{1, 2}`, a fence:\n\n```python\nd = {'a': 1}\n```\n\n> **Aside** text"
    cells = _insert_before(decoding_cells(), "think-1", md(plain, cell_id="plain"))
    mk.generate(make_project(tmp_path, {"01_decoding": cells}))


# Independent of the generator: what Jupyter and Colab do not render.
MYST_MARKUP = re.compile(
    r"^\s*(`{3,}|~{3,})\s*\{|^\s*:::|\{[a-zA-Z][\w:-]*\}`|^\s*\([\w-]+\)=\s*$", flags=re.MULTILINE
)
STUDENT_FACING = [
    pytest.param(p, id=p.relative_to(ROOT).as_posix())
    for p in SOLUTIONS + [ROOT / "book/student" / p.name for p in SOLUTIONS]
] or [pytest.param(None, marks=NO_SOLUTIONS)]


@pytest.mark.parametrize("path", STUDENT_FACING)
def test_no_myst_only_markup_in_notebooks_students_open(path):
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type == "markdown":
            found = MYST_MARKUP.search(cell.source)
            assert found is None, f"{path.name}, cell {index}: MyST-only markup {found.group(0)!r}"


def _is_hint(cell) -> bool:
    return cell.cell_type == "markdown" and "<summary>Hint" in cell.source


def _hints_before(cells, index):
    found = []
    while index > 0 and _is_hint(cells[index - 1]):
        index -= 1
        found.insert(0, cells[index].source)
    return found


@pytest.mark.parametrize("path", STUDENT_FACING)
def test_each_exercise_has_one_to_three_folded_hints_without_solution_lines(path):
    solution = read(ROOT / "solutions" / path.name)
    answers = {
        cell.metadata["exercise"]: [
            "".join(line.split())
            for block in solution_blocks(cell.source)
            for line in block[1:-1]
            if len("".join(line.split())) >= 8 and not line.strip().startswith("#")
        ]
        for cell in solution.cells
        if "exercise" in cell.metadata
    }
    nb = read(path)
    for index, name in exercise_cells(nb).items():
        hints = _hints_before(nb.cells, index)
        assert 1 <= len(hints) <= 3, f"{path.name}: exercise {name!r} has {len(hints)} hints"
        for number, text in enumerate(hints, 1):
            assert re.fullmatch(
                rf"<details>\n<summary>Hint {number}</summary>\n\n.+\n\n</details>", text, flags=re.DOTALL
            ), f"{path.name}: hint {number} of {name!r} is not a folded <details> block:\n{text}"
            flat = "".join(text.split())
            leaked = [line for line in answers[name] if line in flat]
            assert not leaked, f"{path.name}: hint {number} of {name!r} gives away {leaked}"
    all_hints = sum("<summary>Hint" in cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert all_hints == sum(len(_hints_before(nb.cells, i)) for i in exercise_cells(nb))


@pytest.mark.parametrize("path", [p for p in STUDENT_FACING if "student" in str(p.values[0] or "")])
def test_student_notebooks_load_nothing_from_the_internet(path):
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type == "markdown":
            images = re.findall(r"!\[[^\]]*\]\((https?://[^)]+)\)|<img[^>]+src=.https?://", cell.source)
            assert not images, f"{path.name}, cell {index}: an image from the internet: {images}"
