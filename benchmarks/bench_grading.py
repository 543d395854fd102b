"""Benchmark: grade a class of N students (each submits 01_decoding and 02_encoding) and time it.

Usage (from the repository root): .venv/bin/python benchmarks/bench_grading.py [N_STUDENTS] [JOBS]
(default 15 students = 30 notebooks, --jobs 2). The submissions are built the way tests/test_grade.py
builds its fixtures (a mix of correct, wrong and untouched notebooks) in a temporary folder.
Target: 30 submissions graded in under 10 minutes on a 2-core machine, and the hardened grader (each
kernel confined: bubblewrap, a dedicated uid, a cgroup and a tmpfs) at most 1.5x the seconds a
notebook of the unconfined one. The load average before the run is printed: on a shared machine
compare runs made back to back.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_grade as fixtures  # noqa: E402


def build_class(folder: Path, n_students: int) -> list[Path]:
    kinds_01 = [
        lambda: fixtures.fill("01_decoding"),
        lambda: fixtures.student_notebook("01_decoding"),
        lambda: fixtures.fill(
            "01_decoding", {"preferred_orientation": fixtures.WRONG["preferred_orientation"]}
        ),
        lambda: fixtures.fill("01_decoding", {"regularized_loss": fixtures.WRONG["regularized_loss"]}),
    ]
    kinds_02 = [
        lambda: fixtures.fill("02_encoding"),
        lambda: fixtures.student_notebook("02_encoding"),
        lambda: fixtures.fill("02_encoding", {"conv_fc_encoder": fixtures.WRONG["conv_fc_encoder"]}),
    ]
    students = []
    for i in range(n_students):
        student = folder / f"student{i:02d}"
        student.mkdir(parents=True)
        nbformat.write(kinds_01[i % len(kinds_01)](), student / "01_decoding.ipynb")
        nbformat.write(kinds_02[i % len(kinds_02)](), student / "02_encoding.ipynb")
        students.append(student)
    return students


def main() -> int:
    n_students = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    jobs = sys.argv[2] if len(sys.argv) > 2 else "2"
    with tempfile.TemporaryDirectory() as tmp:
        students = build_class(Path(tmp), n_students)
        load_before = Path("/proc/loadavg").read_text().split()[0]
        start = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "helpers.grade",
                *map(str, students),
                "--out",
                str(Path(tmp) / "grades.csv"),
                "--jobs",
                jobs,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        elapsed = time.monotonic() - start
        report = Path(tmp) / "grades.csv"
        rows = list(csv.DictReader(report.open(encoding="utf-8"))) if report.is_file() else []
    print(
        f"{n_students} students, {2 * n_students} notebooks, --jobs {jobs}: {elapsed:.0f} s, "
        f"{elapsed / (2 * n_students):.2f} s a notebook "
        f"(exit {done.returncode}; load average before: {load_before}; "
        f"{sum(int(row['total']) for row in rows)} exercises passed in {len(rows)} rows)"
    )
    if done.returncode == 0 and len(rows) != 2 * n_students:
        print(f"the report has {len(rows)} rows, not {2 * n_students}: the timing is not of a full run")
        return 1
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
