"""The command line: ``python -m helpers.grade SUBMISSION.ipynb [MORE | FOLDER ...] [options]``.

Reads the options, finds the notebooks, picks the sandbox, grades them all, writes the CSV (and with
``--feedback DIR`` a Markdown file per notebook for its student) and prints the table. Exit code 0
when grading completed, whatever the students scored; 2 on bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import feedback, sandbox
from .confine import BoundUnavailable, Limits
from .grading import DEFAULT_EXERCISE_TIMEOUT, DEFAULT_MEMORY_GB, DEFAULT_TIMEOUT, Options, grade_all
from .report import format_table, write_csv

__all__ = ["DEFAULT_OUT", "UsageError", "collect", "parse_args", "main"]

DEFAULT_OUT = "grades.csv"


class UsageError(Exception):
    """Bad command line: the message says what to fix."""


def collect(paths: list[str]) -> list[Path]:
    """The notebooks to grade: the files given, and the .ipynb files directly inside the folders given."""
    found: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            notebooks = sorted(p for p in path.glob("*.ipynb") if p.is_file())
            if not notebooks:
                raise UsageError(
                    f"{text} is a folder with no .ipynb files in it: pass notebooks or their folder"
                )
            found += notebooks
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{text} does not exist: pass the submitted notebooks (or folders of them)")
    return list(dict.fromkeys(p.resolve() for p in found))


def parse_args(argv: list[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The parser and the parsed options; exits 2 (argparse) on bad values."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.grade",
        description="Grade student notebooks with the module's checks, on fresh inputs, in a sandbox.",
    )
    parser.add_argument("submissions", nargs="+", help="notebooks, or folders of notebooks, to grade")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"CSV report to write (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--feedback",
        metavar="DIR",
        help="also write a Markdown file per notebook for its student into DIR (verdicts, reasons, "
        "points; no solutions, no inputs)",
    )
    default_jobs = max(1, min(2, os.cpu_count() or 1))
    parser.add_argument(
        "--jobs", type=int, default=default_jobs, help=f"notebooks graded at once (default: {default_jobs})"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds one notebook may take in all (default: {DEFAULT_TIMEOUT:.0f})",
    )
    parser.add_argument(
        "--exercise-timeout",
        type=float,
        default=DEFAULT_EXERCISE_TIMEOUT,
        help="seconds one exercise may run on the grader's small inputs "
        f"(default: {DEFAULT_EXERCISE_TIMEOUT:.0f})",
    )
    parser.add_argument(
        "--memory",
        type=float,
        default=DEFAULT_MEMORY_GB,
        help="GB of memory one notebook's processes may use together, tmpfs included "
        f"(default: {DEFAULT_MEMORY_GB:g})",
    )
    parser.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "none"),
        default="auto",
        help="auto: bubblewrap and every bound that can be had, a warning for each missing (default); "
        "bwrap: refuse to run unless all can be had; none: no bubblewrap",
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if not args.timeout > 0 or not args.exercise_timeout > 0:
        parser.error("--timeout and --exercise-timeout must be positive numbers of seconds")
    if not args.memory >= 1:
        parser.error("--memory must be at least 1 (GB): the kernel and torch alone need about 1 GB")
    return parser, args


def _out_path(text: str) -> Path:
    """The CSV's path; UsageError when it is a folder or its folder does not exist."""
    out = Path(text)
    if out.is_dir():
        raise UsageError(f"--out {text} is a folder: give a file name, e.g. {out / DEFAULT_OUT}")
    if not out.resolve().parent.is_dir():
        raise UsageError(f"--out {text}: the folder {out.resolve().parent} does not exist: create it first")
    return out


def _feedback_folder(text: str | None) -> Path | None:
    """The --feedback folder (created later if missing); UsageError when it is a file."""
    if text is None:
        return None
    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--feedback {text} is a file: give a folder (it is created when missing)")
    return folder


def choose_sandbox(choice: str, limits: Limits) -> tuple[str | None, bool, str, str]:
    """(bubblewrap executable or None, strict, the line that says how notebooks run, an error or "").

    ``choice`` is ``--sandbox``: "auto" (bubblewrap and every bound that can be had here, a loud
    warning naming each one missing), "bwrap" (an error naming each promised bound that cannot be
    had) or "none" (no bubblewrap; the cgroup, uid and rlimits that can be had still apply).
    """
    bwrap = None if choice == "none" else sandbox.BWRAP
    try:
        described, missing = sandbox.probe(bwrap, limits, strict=choice == "bwrap")
    except BoundUnavailable as error:
        return None, True, "", f"--sandbox bwrap, but {error}"
    if choice == "none":
        warning = (
            "WARNING: no sandbox (--sandbox none): notebooks can read what you can read and reach the network"
        )
        return None, False, f"{warning}\nsandbox: {described}", ""
    if any(reason.startswith("isolation") for reason in missing):
        problems = [r.removeprefix("isolation: ") for r in missing if r.startswith("isolation")]
        lines = ["WARNING: no sandbox: " + "; ".join(problems)]
        lines.append("  notebooks can read what you can read and reach the network")
    else:
        lines = []
    lines += [f"WARNING: not bounded: {reason}" for reason in missing if not reason.startswith("isolation")]
    return bwrap, False, "\n".join([*lines, f"sandbox: {described}"]), ""


def main(argv: list[str] | None = None) -> int:
    """Grade what the command line names; the exit code."""
    parser, args = parse_args(argv)
    try:
        paths = collect(args.submissions)
        out = _out_path(args.out)
        feedback_folder = _feedback_folder(args.feedback)
    except UsageError as error:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    limits = Options(memory_gb=args.memory).limits()
    bwrap, strict, sandbox_line, error = choose_sandbox(args.sandbox, limits)
    if error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    print(sandbox_line, file=sys.stderr)
    options = Options(args.timeout, args.exercise_timeout, args.memory, bwrap, strict)
    rows = grade_all([str(p) for p in paths], args.jobs, options)
    write_csv(rows, out)
    print(format_table(rows))
    print()
    print(sandbox_line)
    print(f"{len(rows)} notebook(s) graded; report written to {out}")
    if feedback_folder is not None:
        written = feedback.write_feedback(rows, feedback_folder)
        print(f"feedback for students: {len(written)} file(s) in {feedback_folder}")
    return 0
