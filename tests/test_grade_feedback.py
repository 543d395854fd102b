"""Points in helpers.grade's table and CSV, and the students' feedback files (--feedback DIR)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from helpers import exercises
from helpers.checks import CheckResult
from helpers.grade import feedback, report

ROOT = Path(__file__).resolve().parents[1]
DECODING = [exercise.name for exercise in exercises.in_notebook("01_decoding")]


def decoding_row(file: str = "alice/01_decoding.ipynb") -> report.Row:
    results = {
        "preferred_orientation": CheckResult.success("preferred_orientation"),
        "classifier": CheckResult.failure("classifier", "loss_fn applies its own log-softmax <b>[x](y)</b>"),
        "regularized_loss": CheckResult.undone("regularized_loss"),
    }
    return report.Row(file=file, exercises=list(results), results=results, sandbox="none")


def test_points_come_from_the_registry_all_or_nothing_per_exercise():
    row = decoding_row()
    points = {name: exercises.get(name).points for name in DECODING}
    assert [row.points(name) for name in DECODING] == [points["preferred_orientation"], 0, 0]
    assert row.points("conv_fc_encoder") is None  # not in that notebook
    assert (row.total_points, row.max_points) == (points["preferred_orientation"], sum(points.values()))


def test_the_csv_has_points_per_exercise_and_in_total(tmp_path):
    report.write_csv([decoding_row()], tmp_path / "g.csv")
    (line,) = csv.DictReader((tmp_path / "g.csv").open(encoding="utf-8"))
    po = exercises.get("preferred_orientation").points
    assert (line["preferred_orientation_points"], line["classifier_points"]) == (str(po), "0")
    assert line["conv_fc_encoder_points"] == ""
    worth = sum(exercises.get(name).points for name in DECODING)
    assert (line["points"], line["max_points"]) == (str(po), str(worth))


def test_the_table_shows_each_exercises_points_and_the_total():
    table = report.format_table([decoding_row()])
    header, _, line = table.splitlines()[:3]
    assert header.split()[-2:] == ["total", "points"]
    po, cl = exercises.get("preferred_orientation").points, exercises.get("classifier").points
    assert f"pass {po}/{po}" in line and f"FAIL 0/{cl}" in line
    assert line.split()[-2:] == ["1/3", f"{po}/{decoding_row().max_points}"]


def test_feedback_gives_each_verdict_its_reason_and_points_with_the_students_text_escaped():
    text = feedback.render(decoding_row())
    assert text.startswith("# Feedback on 01\\_decoding.ipynb")
    assert f"**Points: {decoding_row().total_points} of {decoding_row().max_points}**" in text
    lines = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert "| passed |" in lines["preferred_orientation"]
    assert "| wrong | 0 of 3 |" in lines["classifier"] and "log-softmax" in lines["classifier"]
    assert "| not done yet | 0 of 2 |" in lines["regularized_loss"]
    assert "<b>" not in text and "&lt;b>" in text and "\\[x\\]" in text  # shown, not run as markup


def test_a_notebook_that_could_not_be_graded_gets_a_file_saying_why():
    reason = "not a notebook: the file is not valid JSON"
    results = {"conv_fc_encoder": CheckResult.failure("conv_fc_encoder", reason)}
    row = report.Row("b/02_encoding.ipynb", ["conv_fc_encoder"], results, notes=[reason])
    assert feedback.could_not_be_graded(row) and not feedback.could_not_be_graded(decoding_row())
    text = feedback.render(row)
    assert feedback.NOT_GRADED in text and reason in text and "0 of 3" in text


def test_notebooks_of_the_same_name_in_two_folders_get_two_files(tmp_path):
    rows = [decoding_row(str(tmp_path / "alice" / "01_decoding.ipynb")),
            decoding_row(str(tmp_path / "bob" / "01_decoding.ipynb"))]  # fmt: skip
    written = feedback.write_feedback(rows, tmp_path / "fb")
    assert written == [tmp_path / "fb" / student / "01_decoding.md" for student in ("alice", "bob")]
    assert all(path.read_text(encoding="utf-8") == feedback.render(rows[0]) for path in written)
    assert sorted(p.name for p in (tmp_path / "fb" / "alice").iterdir()) == ["01_decoding.md"]  # no temp file


def test_the_command_writes_feedback_for_a_broken_notebook_and_refuses_a_file_as_folder(tmp_path):
    broken = tmp_path / "carol_02_encoding.ipynb"
    broken.write_text("{ not json", encoding="utf-8")
    command = [sys.executable, "-m", "helpers.grade", str(broken), "--out", str(tmp_path / "g.csv")]
    folder = tmp_path / "fb"
    done = subprocess.run([*command, "--feedback", str(folder)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    text = (folder / "carol_02_encoding.md").read_text(encoding="utf-8")
    assert feedback.NOT_GRADED in text and "not valid JSON" in text
    refused = subprocess.run([*command, "--feedback", str(broken)], capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode == 2 and "is a file" in refused.stderr
