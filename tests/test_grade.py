"""python -m helpers.grade on submissions made here from the real student notebooks (book/student/):
filled in with the solution code of solutions/ between the markers, or with deliberately wrong code,
or attacking the grader. One batch is graded once (module fixture, in parallel, in the sandbox) and
every test reads its table and CSV; the rest are quick tests of the parts (filter, usage, report).
"""

from __future__ import annotations

import ast
import csv
import importlib.util
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import nbformat
import pytest

from helpers import exercises
from helpers.grade import cli, confine, grading, plan, sandbox

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = exercises.names()
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"


# ---------------------------------------------------------------- making submissions


def student_notebook(stem: str):
    """The committed student notebook; generated from the solution when it is not there (yet)."""
    path = ROOT / "book" / "student" / f"{stem}.ipynb"
    if path.is_file():
        return nbformat.read(path, as_version=4)
    spec = importlib.util.spec_from_file_location(
        "make_notebooks_for_grading", ROOT / "scripts" / "make_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return nbformat.reads(module.generate(ROOT)[path].decode("utf-8"), as_version=4)


def solution_blocks(stem: str) -> dict[str, list[str]]:
    """Each exercise's solution blocks (the code between the markers, dedented), in order."""
    blocks: dict[str, list[str]] = {}
    for cell in nbformat.read(ROOT / "solutions" / f"{stem}.ipynb", as_version=4).cells:
        name = cell.metadata.get("exercise")
        if not name:
            continue
        lines, inside = cell.source.split("\n"), None
        for number, line in enumerate(lines):
            if line.strip() == BEGIN:
                inside = number + 1
            elif line.strip() == END:
                blocks.setdefault(name, []).append(textwrap.dedent("\n".join(lines[inside:number])))
    return blocks


def _stub_raises(source: str) -> list[ast.Raise]:
    """The `raise NotImplementedError("Exercise '...': ...")` statements of a student cell, in order."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            message = node.exc.args[0]
            if isinstance(message, ast.Constant) and str(message.value).startswith("Exercise '"):
                found.append(node)
    return sorted(found, key=lambda node: node.lineno)


def fill(stem: str, code: dict[str, list[str | None]] | None = None, extra_cells=(), broken=None):
    """The student notebook with its stubs replaced: by the solution, or by `code[exercise][block]`.

    `code[exercise]` = None leaves that exercise untouched; a block of None takes the solution's.
    `extra_cells` are appended after the exercise cells; `broken` = (exercise, text) appends text
    to that exercise's cell.
    """
    code = code or {}
    solutions = solution_blocks(stem)
    nb = student_notebook(stem)
    for cell in nb.cells:
        name = cell.metadata.get("exercise")
        if not name or (name in code and code[name] is None):
            continue
        wanted = code.get(name) or [None] * len(solutions[name])
        lines = cell.source.split("\n")
        raises = _stub_raises(cell.source)
        assert len(raises) == len(solutions[name]) == len(wanted), f"{stem}: {name} has other blocks now"
        for node, block, solution in reversed(list(zip(raises, wanted, solutions[name], strict=True))):
            body = textwrap.indent(block if block is not None else solution, " " * node.col_offset)
            lines[node.lineno - 1 : node.end_lineno] = body.split("\n")
        cell.source = "\n".join(lines)
        if broken and broken[0] == name:
            cell.source += "\n" + broken[1]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in extra_cells]
    return nb


WRONG = {
    "preferred_orientation": [
        "from scipy.ndimage import gaussian_filter1d\n"
        "smoothed = gaussian_filter1d(np.asarray(resp, dtype=float), sigma_bins, axis=0)\n"
        "return np.asarray(stimuli_deg).reshape(-1)[smoothed.argmax(axis=0)]"
    ],
    "classifier": [
        "net = DeepNetSoftmax(n_inputs, n_hidden, n_classes)\n"
        "loss_fn = nn.CrossEntropyLoss()\n"
        "return net, loss_fn"
    ],
    "regularized_loss": [
        "L2 = L2_penalty * torch.square(weights).sum()\n"
        "L1 = L1_penalty * torch.square(weights).sum()\n"
        "return nll + L2 + L1"
    ],
    "conv_fc_encoder": ["self.out_layer = nn.Linear(image_shape[0] * image_shape[1], n_neurons)", None],
}
WRONG_REASON = {
    "preferred_orientation": "without wrapping around",
    "classifier": "own log-softmax",
    "regularized_loss": "L1 term squares the weights",
    "conv_fc_encoder": "maps 192 inputs to 11 outputs",
}

CHEAT_CELLS = [
    # Redefine the checks and print a fake verdict, at module level (the grader leaves such lines out) ...
    "from helpers import checks\n"
    "checks.conv_fc_encoder = lambda *args, **kwargs: print('✓ conv_fc_encoder looks right') or True\n"
    "print('✓ conv_fc_encoder looks right')",
    # ... and where the grader runs code (a class body runs when it is defined): patch the checks module,
    # write fake results where the grader might look, and keep overwriting any results it writes.
    textwrap.dedent(
        """\
        class _Cheat:
            import json, pathlib, sys, threading, time, types
            import helpers.checks as _checks
            import helpers.checks.common as _common
            _checks.conv_fc_encoder = lambda *args, **kwargs: True
            _checks.observe = lambda *args, **kwargs: ("ok", "", {})
            _checks.judge = lambda *args, **kwargs: _common.CheckResult(True, "✓")
            _common.observe_exercise = lambda *args, **kwargs: ("ok", "", {})
            sys.modules["helpers.checks.conv_fc_encoder"] = types.ModuleType("fake")
            sys.modules["helpers.grade.transport"] = types.ModuleType("fake")
            for _folder in (pathlib.Path(".grading-0000/out"), pathlib.Path("out")):
                _folder.mkdir(parents=True, exist_ok=True)
                (_folder / "status.json").write_text(json.dumps({"status": "ok", "message": ""}))

            def _forge(pathlib=pathlib, json=json, time=time):
                while True:
                    for folder in pathlib.Path(".").glob(".grading-*/out"):
                        try:
                            (folder / "status.json").write_text(json.dumps({"status": "ok", "message": ""}))
                        except OSError:
                            pass
                    time.sleep(0.001)

            threading.Thread(target=_forge, daemon=True).start()
            print("✓ conv_fc_encoder looks right")
        """
    ),
]


def escape_cell(target: Path, port: int) -> str:
    return textwrap.dedent(
        f"""\
        class _Escape:
            import os, socket
            try:
                with open({str(target)!r}, "w") as _stream:
                    _stream.write("overwritten by a submission")
                _wrote = "yes"
            except OSError as _error:
                _wrote = "refused"
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
                _network = "reached"
            except OSError:
                _network = "unreachable"
            _child = os.fork()
            if _child == 0:  # a child touching up to 3 GiB, 64 MiB at a time (the batch's --memory is 2)
                try:
                    _blocks = [bytearray(64 * 2**20) for _ in range(48)]
                    os._exit(0)
                except MemoryError:
                    os._exit(3)
            _status = os.waitpid(_child, 0)[1]
            _memory = "unlimited" if os.waitstatus_to_exitcode(_status) == 0 else "limited"
            _secret = "seen" if "NMA_GRADE_TEST_SECRET" in os.environ else "hidden"
            raise RuntimeError(
                f"escape attempt: write={{_wrote}} network={{_network}} memory={{_memory}} secret={{_secret}}"
            )
        """
    )


# ---------------------------------------------------------------- the batch, graded once


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    outside = tmp_path_factory.mktemp("outside") / "precious.txt"
    outside.write_text("original", encoding="utf-8")
    server = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=lambda: [server.accept() for _ in range(10)], daemon=True).start()

    notebooks = {
        "correct_01": fill("01_decoding"),
        "correct_02": fill("02_encoding"),
        "untouched_01": student_notebook("01_decoding"),
        "untouched_02": student_notebook("02_encoding"),
        "wrong_preferred": fill("01_decoding", {"preferred_orientation": WRONG["preferred_orientation"]}),
        "wrong_classifier": fill("01_decoding", {"classifier": WRONG["classifier"]}),
        "wrong_regularized": fill("01_decoding", {"regularized_loss": WRONG["regularized_loss"]}),
        "wrong_encoder": fill("02_encoding", {"conv_fc_encoder": WRONG["conv_fc_encoder"]}),
        "syntax_error": fill("01_decoding", broken=("classifier", "net = (")),
        "loop_and_crash": fill(
            "01_decoding",
            {"preferred_orientation": ["while True:\n    pass"], "classifier": ["import os\nos._exit(3)"]},
        ),
        "cheat": fill("02_encoding", {"conv_fc_encoder": None}, extra_cells=CHEAT_CELLS),
        "escape": fill("02_encoding", extra_cells=[escape_cell(outside, server.getsockname()[1])]),
    }
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "not_json.ipynb").write_text("this is not a notebook\n", encoding="utf-8")
    (folder / "not_a_notebook.ipynb").write_text('{"hello": "world"}', encoding="utf-8")

    out = tmp_path_factory.mktemp("report") / "grades.csv"
    command = [sys.executable, "-m", "helpers.grade", str(folder), "--out", str(out), "--jobs", "2"]
    command += ["--timeout", "240", "--exercise-timeout", "15", "--memory", "2"]
    env = {**os.environ, "NMA_GRADE_TEST_SECRET": "a token the notebooks must not see"}
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=1200)
    server.close()
    with open(out, newline="", encoding="utf-8") as stream:
        rows = {Path(row["file"]).stem: row for row in csv.DictReader(stream)}
    return {
        "done": done,
        "rows": rows,
        "out": out,
        "outside": outside,
        "sandboxed": confine.bwrap_problem("bwrap") is None,
    }


def results(row) -> dict[str, str]:
    return {name: row[name] for name in EXERCISES if row[name]}


def test_grading_completes_with_exit_code_0_and_a_row_per_notebook(batch):
    done = batch["done"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(batch["rows"]) == 14
    assert "report written to" in done.stdout


def test_a_fully_correct_submission_passes_every_exercise(batch):
    rows = batch["rows"]
    assert results(rows["correct_01"]) == dict.fromkeys(EXERCISES[:3], "pass")
    assert results(rows["correct_02"]) == {"conv_fc_encoder": "pass"}
    assert (rows["correct_01"]["total"], rows["correct_01"]["graded"]) == ("3", "3")
    assert rows["correct_01"]["notes"] == ""


def test_untouched_student_notebooks_are_not_done(batch):
    rows = batch["rows"]
    assert results(rows["untouched_01"]) == dict.fromkeys(EXERCISES[:3], "not done")
    assert results(rows["untouched_02"]) == {"conv_fc_encoder": "not done"}
    assert rows["untouched_01"]["total"] == "0"


@pytest.mark.parametrize(
    ("submission", "exercise"),
    [
        ("wrong_preferred", "preferred_orientation"),
        ("wrong_classifier", "classifier"),
        ("wrong_regularized", "regularized_loss"),
        ("wrong_encoder", "conv_fc_encoder"),
    ],
)
def test_one_wrong_exercise_fails_alone_with_its_reason(batch, submission, exercise):
    row = batch["rows"][submission]
    for name, value in results(row).items():
        assert value == ("FAIL" if name == exercise else "pass"), (name, row[f"{name}_reason"])
    assert WRONG_REASON[exercise] in row[f"{exercise}_reason"]


def test_a_syntax_error_fails_its_exercise_and_the_rest_is_graded(batch):
    row = batch["rows"]["syntax_error"]
    assert results(row) == {"preferred_orientation": "pass", "classifier": "FAIL", "regularized_loss": "pass"}
    assert "syntax error" in row["classifier_reason"] and "syntax error" in row["notes"]


def test_an_endless_loop_hits_the_time_limit_and_a_dead_kernel_is_restarted(batch):
    row = batch["rows"]["loop_and_crash"]
    assert results(row) == {"preferred_orientation": "FAIL", "classifier": "FAIL", "regularized_loss": "pass"}
    assert "time limit" in row["preferred_orientation_reason"]
    assert "kernel died" in row["classifier_reason"]


def test_redefined_checks_fake_verdicts_and_forged_files_do_not_pass(batch):
    row = batch["rows"]["cheat"]
    assert row["conv_fc_encoder"] in ("not done", "FAIL") and row["total"] == "0"


def test_a_submission_cannot_write_outside_its_folder_or_reach_the_network(batch):
    if not batch["sandboxed"]:
        pytest.skip("bubblewrap does not work here: the grader ran without a sandbox")
    row = batch["rows"]["escape"]
    assert batch["outside"].read_text(encoding="utf-8") == "original"
    assert "escape attempt: write=refused network=unreachable" in row["notes"]
    assert row["conv_fc_encoder"] == "pass" and row["sandbox"].startswith("bubblewrap")


def test_a_notebook_sees_neither_the_graders_environment_nor_unlimited_memory(batch):
    assert "memory=limited secret=hidden" in batch["rows"]["escape"]["notes"]


def test_files_that_are_not_notebooks_are_reported_as_such(batch):
    rows = batch["rows"]
    assert "not valid JSON" in rows["not_json"]["notes"]
    assert "not a Jupyter notebook" in rows["not_a_notebook"]["notes"]
    for name in ("not_json", "not_a_notebook"):
        assert rows[name]["total"] == "0" and set(results(rows[name]).values()) == {"FAIL"}


def test_the_csv_has_one_column_pair_per_exercise_and_no_temporary_files(batch):
    out = batch["out"]
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    expected = ["file"] + [c for name in EXERCISES for c in (name, f"{name}_reason", f"{name}_points")]
    assert header == expected + ["total", "graded", "points", "max_points", "notes", "sandbox", "seconds"]
    assert [p.name for p in out.parent.iterdir()] == ["grades.csv"]
    row = batch["rows"]["correct_02"]
    assert row["preferred_orientation"] == "" and row["graded"] == "1"  # not in that notebook


def test_the_table_shows_every_notebook_and_why_one_failed(batch):
    stdout = batch["done"].stdout
    header = next(line for line in stdout.splitlines() if line.startswith("file"))
    assert header.split() == ["file", *EXERCISES, "total", "points"]
    assert "wrong_classifier.ipynb" in stdout and "3/3" in stdout and "0/1" in stdout
    assert "wrong_classifier.ipynb  classifier: loss_fn applies its own log-softmax" in stdout
    assert ("sandbox: bubblewrap" in stdout) == batch["sandboxed"]


# ---------------------------------------------------------------- quick tests of the parts


def plan_of(*sources, metadata=None):
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    if metadata:
        cells[metadata[0]].metadata["exercise"] = metadata[1]
    return plan.make_plan(nbformat.v4.new_notebook(cells=cells), "submission.ipynb")


def test_only_imports_definitions_and_constants_run():
    kept = plan_of(
        "import numpy as np\nN = 20\nM = N * 2 + 1\nresp = np.zeros(N)\ntrain(net)\n%matplotlib inline",
        "@staticmethod\ndef f(x):\n    return x\n\nf(3)\nfor i in range(3):\n    pass",
        "checks.classifier(make_classifier)",
    )
    (first, code), (second, code2) = kept.cells
    assert (first, second) == (0, 1)
    assert code.split("\n") == ["import numpy as np", "N = 20", "M = N * 2 + 1"]
    assert code2.split("\n")[:3] == ["@staticmethod", "def f(x):", "    return x"] and "f(3)" not in code2


def test_exercises_come_from_metadata_definitions_or_the_file_name():
    assert plan_of("x = 1", metadata=(0, "classifier")).exercises == ["classifier"]
    assert plan_of("class ConvFC:\n    pass").exercises == ["conv_fc_encoder"]
    named = plan.make_plan(nbformat.v4.new_notebook(), "alice_02_encoding.ipynb")
    assert named.exercises == ["conv_fc_encoder"]
    assert plan.make_plan(nbformat.v4.new_notebook(), "alice.ipynb").exercises == EXERCISES


def test_a_name_the_filter_left_out_is_explained(tmp_path):
    source = "import numpy as np\nSCALE = np.float64(2)\n\ndef regularized_loss(output, target, weights):\n"
    source += "    return SCALE\n"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), tmp_path / "n.ipynb")
    options = grading.Options(timeout=120, exercise_timeout=30, bwrap=None)
    row = grading.grade_notebook(str(tmp_path / "n.ipynb"), options)
    reason = row.results["regularized_loss"].reason
    assert "NameError" in reason and "imports, definitions and constant assignments" in reason


def test_a_kernel_that_cannot_start_is_reported_on_its_row(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "KERNEL_LAUNCHER", "raise SystemExit('no kernel today')")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), tmp_path / "n.ipynb")
    row = grading.grade_notebook(str(tmp_path / "n.ipynb"), grading.Options(timeout=60, bwrap=None))
    reasons = {result.reason for result in row.results.values()}
    assert len(reasons) == 1 and "not graded: the kernel could not start" in reasons.pop()
    assert "no kernel today" in row.notes[0]


def test_a_cell_with_a_syntax_error_is_left_out_and_named():
    kept = plan_of("def ok():\n    return 1", "def broken(:\n    pass", metadata=(1, "classifier"))
    assert [index for index, _ in kept.cells] == [0]
    assert kept.syntax_errors[1].startswith("syntax error at line 1")
    assert kept.exercise_cells == {"classifier": 1}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["does/not/exist.ipynb"], "does not exist"),
        (["--jobs", "0", "x.ipynb"], "--jobs must be at least 1"),
        (["--timeout", "-1", "x.ipynb"], "must be positive"),
        ([], "required"),
    ],
)
def test_bad_usage_exits_2_with_the_fix(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.ipynb").write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        sys.exit(cli.main(argv))
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_an_out_folder_that_does_not_exist_is_bad_usage(tmp_path, capsys):
    (tmp_path / "x.ipynb").write_text("{}", encoding="utf-8")
    code = cli.main([str(tmp_path / "x.ipynb"), "--out", str(tmp_path / "missing" / "g.csv")])
    assert code == 2 and "does not exist" in capsys.readouterr().err


def test_without_bubblewrap_it_warns_and_grades_unsandboxed(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "BWRAP", str(tmp_path / "no-bwrap"))
    (tmp_path / "x.ipynb").write_text("not json", encoding="utf-8")
    out = tmp_path / "g.csv"
    assert cli.main([str(tmp_path / "x.ipynb"), "--out", str(out), "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "WARNING: no sandbox: bubblewrap" in printed and "is not installed" in printed
    assert list(csv.DictReader(out.open(encoding="utf-8")))[0]["sandbox"] == "not graded"  # not JSON
    assert "is not installed" in confine.bwrap_problem(str(tmp_path / "no-bwrap"))
    assert cli.main([str(tmp_path / "x.ipynb"), "--out", str(out), "--sandbox", "bwrap"]) == 2
    error = capsys.readouterr().err
    assert "--sandbox bwrap, but cannot grade confined here: isolation: bubblewrap" in error
    assert "is not installed" in error


def test_sandbox_keeps_an_interpreter_and_checkout_under_tmp_visible(tmp_path):
    # A clone or venv under /tmp (as CI's may be) would vanish behind the sandbox's private /tmp.
    checkout = tmp_path / "ci"
    checkout.mkdir()
    argv = confine.bwrap_arguments("bwrap", hidden=[], tmp_bytes=2**20, privileged=True, readable=(checkout,))
    private_tmp = argv.index("/tmp")
    at = argv.index(str(checkout))
    assert argv[at - 1] == "--ro-bind" and argv[at + 1] == str(checkout) and at > private_tmp


def test_the_csv_and_the_table_take_the_total_from_the_row(tmp_path):
    from helpers.checks import CheckResult
    from helpers.grade import report

    results = {
        "preferred_orientation": CheckResult.success("preferred_orientation"),
        "classifier": CheckResult.failure("classifier", "loss_fn sums over stimuli"),
        "regularized_loss": CheckResult.undone("regularized_loss"),
    }
    row = report.Row(file="a/alice.ipynb", exercises=list(results), results=results, sandbox="none")
    assert row.total == 1 and [row.mark(name) for name in results] == ["pass", "FAIL", "not done"]
    report.write_csv([row], tmp_path / "g.csv")
    (line,) = csv.DictReader((tmp_path / "g.csv").open(encoding="utf-8"))
    assert (line["total"], line["graded"], line["conv_fc_encoder"]) == ("1", "3", "")
    assert line["classifier_reason"] == "loss_fn sums over stimuli"
    table = report.format_table([row])
    assert "1/3" in table and "alice.ipynb  classifier: loss_fn sums over stimuli" in table
    assert [p.name for p in tmp_path.iterdir()] == ["g.csv"]
