"""Grading notebooks: one kernel per notebook, fresh secret inputs per exercise, the verdict out here.

:func:`grade_notebook` plans the notebook (:mod:`~helpers.grade.plan`), copies it into a workspace
(:mod:`~helpers.grade.sandbox`), runs the kept code in a kernel (:mod:`~helpers.grade.kernel`), and
for each exercise writes fresh inputs, runs the check's observe step in the kernel and judges what comes
back (:mod:`~helpers.grade.transport`, :func:`helpers.checks.judge`). :func:`grade_all` grades many,
in worker processes.
"""

from __future__ import annotations

import multiprocessing
import secrets
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers import checks, exercises
from helpers.checks.common import CheckResult, shorten

from . import sandbox, transport
from .kernel import Kernel
from .plan import NotANotebook, Plan, exercises_by_file_name, make_plan, read_notebook
from .report import Row

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_EXERCISE_TIMEOUT",
    "DEFAULT_MEMORY_GB",
    "KERNEL_START_TIMEOUT",
    "Options",
    "Session",
    "judge_outputs",
    "grade_notebook",
    "grade_all",
]

DEFAULT_TIMEOUT = 300.0
DEFAULT_EXERCISE_TIMEOUT = 60.0
DEFAULT_MEMORY_GB = 4.0
KERNEL_START_TIMEOUT = 60.0
GRADED_CODE_HINT = (
    "grading runs only the notebook's imports, definitions and constant assignments: a name set by "
    "other code, e.g. loaded data, does not exist there; pass it in as an argument"
)


@dataclass(frozen=True)
class Options:
    """How notebooks are graded (the command line's options).

    Attributes:
        timeout: seconds for one whole notebook (kernel start, kept code, exercises).
        exercise_timeout: seconds for one exercise's run on the small inputs.
        memory_gb: the kernel's address-space limit.
        bwrap: the bubblewrap executable, or None to run without a sandbox.
    """

    timeout: float = DEFAULT_TIMEOUT
    exercise_timeout: float = DEFAULT_EXERCISE_TIMEOUT
    memory_gb: float = DEFAULT_MEMORY_GB
    bwrap: str | None = None


def judge_outputs(name: str, inputs: dict, folder: str | Path) -> CheckResult:
    """The verdict for exercise ``name`` from what the kernel's run wrote into ``folder`` on ``inputs``."""
    try:
        status, message, observed = transport.read_outputs(folder)
    except transport.RunUnfinished:
        return CheckResult.failure(name, "the grader's run of this exercise did not finish")
    except Exception as error:  # noqa: BLE001 - unreadable outputs are the submission's failure
        return CheckResult.failure(name, f"its outputs could not be read ({shorten(error)})")
    return checks.judge(name, inputs, status, shorten(message, 400), observed)


class Session:
    """The kernel for one notebook, with the kept code run in it, restartable within the time budget."""

    def __init__(self, plan: Plan, root: Path, options: Options, started: float, row: Row):
        self.plan, self.root, self.work, self.options = plan, root, root / "work", options
        self.row = row
        self.deadline = started + options.timeout
        self.kernel: Kernel | None = None
        self.skip: set[int] = set()  # cells that killed or hung the kernel: left out after a restart
        self.reported: set[tuple[int, str]] = set()
        self.start_error = ""  # why the kernel could not start: not tried again

    def remaining(self) -> float:
        """Seconds left of the notebook's time budget."""
        return self.deadline - time.monotonic()

    def note(self, text: str) -> None:
        """Add ``text`` to the row's notes, once."""
        if text not in self.row.notes:
            self.row.notes.append(text)

    def ready(self) -> bool:
        """A kernel with the kept code run; False when there is no time left or it cannot start."""
        while self.kernel is None:
            if self.remaining() <= 1 or self.start_error:
                return False
            kernel = Kernel(self.root, self.work, self.options.bwrap, int(self.options.memory_gb * 2**30))
            try:
                kernel.start(min(KERNEL_START_TIMEOUT, self.remaining()))
            except RuntimeError as error:
                self.start_error = f"the kernel could not start: {error}"
                self.note(self.start_error)
                return False
            self.kernel = kernel
            self._run_kept_code(kernel)
        return True

    def _run_kept_code(self, kernel: Kernel) -> None:
        for index, code in self.plan.cells:
            if index in self.skip:
                continue
            outcome = kernel.run(code, self.remaining())
            if outcome.status == "error" and (index, outcome.error) not in self.reported:
                self.reported.add((index, outcome.error))
                self.note(f"cell {index}: {outcome.error}")
            elif outcome.status in ("timeout", "dead"):
                self.skip.add(index)
                what = "hit the time limit" if outcome.status == "timeout" else "killed the kernel"
                self.note(f"cell {index} {what} while its definitions ran; left out")
                self.close()
                return

    def run_exercise(self, name: str) -> CheckResult:
        """Exercise ``name`` on fresh secret inputs: run in the kernel, judged here."""
        if not self.ready():
            if self.start_error:
                return CheckResult.failure(name, f"not graded: {self.start_error}")
            reason = f"not graded: the time limit ({self.options.timeout:g} s) was used up before it"
            return CheckResult.failure(name, reason)
        folder = self.work / f".grading-{secrets.token_hex(8)}"
        inputs = checks.make_inputs(name, np.random.default_rng(secrets.randbits(128)))
        transport.save_plain(folder / "in", inputs)
        (folder / "out").mkdir()
        limit = min(self.options.exercise_timeout, self.remaining())
        outcome = self.kernel.run(transport.driver_code(exercises.get(name), folder), limit)
        if outcome.status == "timeout":
            if not self.kernel.interrupt():
                self.close()
            reason = f"time limit: it ran for more than {limit:.0f} s on small inputs (an endless loop?)"
            return CheckResult.failure(name, reason)
        if outcome.status == "dead":
            self.close()
            return CheckResult.failure(
                name, "the kernel died while it ran (the code crashed or exited the process)"
            )
        if outcome.status == "error":
            return CheckResult.failure(name, f"could not be run: {outcome.error}")
        result = judge_outputs(name, inputs, folder / "out")
        shutil.rmtree(folder, ignore_errors=True)
        if "NameError" in result.reason:
            return CheckResult.failure(name, f"{result.reason} ({GRADED_CODE_HINT})")
        if result.reason.endswith("is not defined") and self.row.notes:
            return CheckResult.failure(
                name, f"{result.reason} (a cell that defines it failed: see the notes)"
            )
        return result

    def close(self) -> None:
        """Shut the kernel down (a later exercise starts a new one)."""
        if self.kernel is not None:
            self.kernel.shutdown()
            self.kernel = None


def grade_notebook(path: str, options: Options = Options()) -> Row:  # noqa: B008 - frozen, never changed
    """Grade one notebook; its Row (picklable, for worker processes)."""
    started = time.monotonic()
    source = Path(path)
    row = Row(file=path, sandbox="bubblewrap" if options.bwrap else "none")
    try:
        nb = read_notebook(source)
    except (NotANotebook, OSError) as error:
        row.exercises = exercises_by_file_name(source.name)
        reason = str(error) if isinstance(error, NotANotebook) else f"could not be read ({error})"
        row.results = {name: CheckResult.failure(name, reason) for name in row.exercises}
        row.notes.append(reason)
        row.seconds = time.monotonic() - started
        return row
    plan = make_plan(nb, source.name)
    row.exercises = plan.exercises
    for index, problem in plan.syntax_errors.items():
        row.notes.append(f"cell {index}: {problem}; the cell was left out")
    root = sandbox.make_workspace(source)
    session = Session(plan, root, options, started, row)
    try:
        for name in plan.exercises:
            cell = plan.exercise_cells.get(name)
            if cell in plan.syntax_errors:
                reason = f"its cell ({cell}) has a {plan.syntax_errors[cell]}"
                row.results[name] = CheckResult.failure(name, reason)
                continue
            row.results[name] = session.run_exercise(name)
    finally:
        session.close()
        sandbox.remove_workspace(root)
    row.seconds = time.monotonic() - started
    return row


def grade_all(paths: list[str], jobs: int, options: Options) -> list[Row]:
    """Grade every notebook, ``jobs`` at a time in worker processes; rows in the order of ``paths``."""
    rows: dict[str, Row] = {}
    started = time.monotonic()

    def progress(row: Row) -> None:
        print(f"graded {len(rows)}/{len(paths)}: {row.file} ({row.seconds:.1f} s)", file=sys.stderr)

    if jobs == 1 or len(paths) == 1:
        for path in paths:
            rows[path] = grade_notebook(path, options)
            progress(rows[path])
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(grade_notebook, path, options): path for path in paths}
            for future in as_completed(futures):
                path = futures[future]
                try:
                    rows[path] = future.result()
                except Exception as error:  # noqa: BLE001 - a crashed worker costs one row, not the batch
                    rows[path] = _crashed(path, error)
                progress(rows[path])
    print(f"grading took {time.monotonic() - started:.1f} s", file=sys.stderr)
    return [rows[path] for path in paths]


def _crashed(path: str, error: BaseException) -> Row:
    """The row of a notebook whose worker process failed: every exercise not graded."""
    reason = f"not graded: the grader's worker failed ({type(error).__name__}: {shorten(error, 150)})"
    names = exercises.names()
    return Row(
        file=path,
        exercises=names,
        results={name: CheckResult.failure(name, reason) for name in names},
        notes=[reason],
    )
