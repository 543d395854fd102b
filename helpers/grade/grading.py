"""Grading notebooks: one kernel per notebook, fresh secret inputs per exercise, the verdict out here.

:func:`grade_notebook` plans the notebook (:mod:`~helpers.grade.plan`), copies it into a workspace
(:mod:`~helpers.grade.sandbox`), runs the kept code in a kernel (:mod:`~helpers.grade.kernel`), and
for each exercise writes fresh inputs, runs the check's observe step in the kernel and judges what comes
back (:mod:`~helpers.grade.transport`, :func:`helpers.checks.judge`). :func:`grade_all` grades many,
in worker processes.
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers import checks, exercises
from helpers.checks.common import CheckResult

from . import sandbox, transport, workers
from .confine import Limits, release_abandoned
from .kernel import Kernel
from .plan import NotANotebook, Plan, exercises_by_file_name, make_plan, read_notebook
from .report import Row
from .untrusted import excerpt, remove_tree

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_EXERCISE_TIMEOUT",
    "DEFAULT_MEMORY_GB",
    "JUDGE_TIMEOUT",
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
JUDGE_TIMEOUT = 30.0  # seconds the grader's own judging of one exercise may take
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
        memory_gb: the memory of one notebook's processes together (tmpfs and shared memory
            included; per process where no cgroup can be had).
        bwrap: the bubblewrap executable, or None to run without it.
        strict: refuse to grade (a row saying why) where a promised bound cannot be had.
    """

    timeout: float = DEFAULT_TIMEOUT
    exercise_timeout: float = DEFAULT_EXERCISE_TIMEOUT
    memory_gb: float = DEFAULT_MEMORY_GB
    bwrap: str | None = None
    strict: bool = False

    def limits(self) -> Limits:
        """The bounds on one submission's processes together."""
        return Limits(memory_bytes=int(self.memory_gb * 2**30))


class JudgeTimeout(Exception):
    """The grader's judging of one exercise took longer than JUDGE_TIMEOUT."""


def _time_limited(seconds: float, function, *args):
    """``function(*args)``, raising JudgeTimeout after ``seconds`` (a timer signal; only in the main
    thread, where grading runs, elsewhere without a limit)."""
    if threading.current_thread() is not threading.main_thread():
        return function(*args)

    def expire(signum, frame):
        raise JudgeTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return function(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def judge_outputs(name: str, inputs: dict, work: str | Path, folder: str) -> CheckResult:
    """The verdict for exercise ``name`` from what the kernel's run wrote into ``work/folder`` on
    ``inputs``; reading and judging together within JUDGE_TIMEOUT."""

    def read_and_judge() -> CheckResult:
        try:
            status, message, observed = transport.read_outputs(work, folder)
        except transport.RunUnfinished:
            return CheckResult.failure(name, "the grader's run of this exercise did not finish")
        except Exception as error:  # noqa: BLE001 - unreadable outputs are the submission's failure
            return CheckResult.failure(name, f"its outputs could not be read ({excerpt(error, 150)})")
        try:
            return checks.judge(name, inputs, status, excerpt(message, 300), observed)
        except Exception as error:  # noqa: BLE001 - outputs the judge cannot take are the submission's
            return CheckResult.failure(name, f"its outputs could not be judged ({excerpt(error, 150)})")

    try:
        return _time_limited(JUDGE_TIMEOUT, read_and_judge)
    except JudgeTimeout:
        return CheckResult.failure(name, f"judging its outputs took more than {JUDGE_TIMEOUT:g} s")


class Session:
    """The kernel for one notebook, with the kept code run in it, restartable within the time budget."""

    def __init__(self, plan: Plan, workspace: sandbox.Workspace, options: Options, started: float, row: Row):
        self.plan, self.workspace, self.work, self.options = plan, workspace, workspace.work, options
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
            kernel = Kernel(self.workspace)
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
            elif outcome.status in ("timeout", "dead", "output"):
                self.skip.add(index)
                what = {
                    "timeout": "hit the time limit",
                    "dead": "killed the kernel",
                    "output": f"hit the output cap ({outcome.error})",
                }[outcome.status]
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
        folder = f".grading-{secrets.token_hex(8)}"
        inputs = checks.make_inputs(name, np.random.default_rng(secrets.randbits(128)))
        try:
            self.workspace.exchange(folder, transport.plain_files(inputs))
        except OSError as error:
            full = error.errno in (errno.ENOSPC, errno.EDQUOT)
            why = ": the notebook used up its disk bound" if full else ""
            reason = (
                f"not graded: its inputs could not be written into its folder ({excerpt(error, 100)}){why}"
            )
            return CheckResult.failure(name, reason)
        limit = min(self.options.exercise_timeout, self.remaining())
        code = transport.driver_code(exercises.get(name), self.work / folder)
        outcome = self.kernel.run(code, limit)
        if outcome.status != "ok" and outcome.status != "error":
            return self._stopped(name, outcome, limit)
        if outcome.status == "error":
            return CheckResult.failure(name, f"could not be run: {outcome.error}")
        result = judge_outputs(name, inputs, self.work, f"{folder}/out")
        remove_tree(self.work / folder)
        if "NameError" in result.reason:
            return CheckResult.failure(name, f"{result.reason} ({GRADED_CODE_HINT})")
        if result.reason.endswith("is not defined") and self.row.notes:
            return CheckResult.failure(
                name, f"{result.reason} (a cell that defines it failed: see the notes)"
            )
        return result

    def _stopped(self, name: str, outcome, limit: float) -> CheckResult:
        """The verdict of a run that timed out, killed the kernel or hit the output cap."""
        if outcome.status == "timeout":
            if not self.kernel.interrupt():
                self.close()
            reason = f"time limit: it ran for more than {limit:.0f} s on small inputs (an endless loop?)"
            return CheckResult.failure(name, reason)
        self.close()
        if outcome.status == "output":
            return CheckResult.failure(name, f"output cap: {outcome.error}; the run was stopped")
        reason = "the kernel died while it ran (the code crashed or exited the process)"
        return CheckResult.failure(name, reason)

    def close(self) -> None:
        """Shut the kernel down and end whatever it left running (a later exercise starts a new one)."""
        if self.kernel is not None:
            self.kernel.shutdown()
            self.kernel = None
            self.workspace.confinement.end_processes()


def grade_notebook(path: str, options: Options = Options(), parent: str | None = None) -> Row:  # noqa: B008
    """Grade one notebook; its Row (picklable, for worker processes). Never raises: whatever goes
    wrong in grading it is said on its row. ``parent``: where its grading folder is made (a new
    temporary folder when None)."""
    started = time.monotonic()
    row = Row(file=path, sandbox="not graded")
    own_parent = parent is None
    folder = Path(tempfile.mkdtemp(prefix="nma-grade-run-") if own_parent else parent)
    try:
        _grade_into(row, Path(path), options, folder, started)
    except Exception as error:  # noqa: BLE001 - one notebook's failure, whatever it is, is its row's
        reason = f"not graded: the grader failed on it ({type(error).__name__}: {excerpt(error, 150)})"
        row.exercises = row.exercises or exercises_by_file_name(Path(path).name)
        row.results.update({n: CheckResult.failure(n, reason) for n in row.exercises if n not in row.results})
        row.notes.append(reason)
    finally:
        if own_parent:
            release_folder(folder)
    row.seconds = time.monotonic() - started
    return row


def _grade_into(row: Row, source: Path, options: Options, parent: Path, started: float) -> None:
    try:
        nb = read_notebook(source)
    except (NotANotebook, OSError) as error:
        row.exercises = exercises_by_file_name(source.name)
        reason = str(error) if isinstance(error, NotANotebook) else f"could not be read ({excerpt(error)})"
        row.results = {name: CheckResult.failure(name, reason) for name in row.exercises}
        row.notes.append(reason)
        return
    plan = make_plan(nb, source.name)
    row.exercises = plan.exercises
    for index, problem in plan.syntax_errors.items():
        row.notes.append(f"cell {index}: {problem}; the cell was left out")
    workspace = sandbox.Workspace(source, parent, options.limits(), options.bwrap, options.strict)
    row.sandbox = workspace.confinement.bounds.describe()
    session = Session(plan, workspace, options, started, row)
    try:
        for name in plan.exercises:
            cell = plan.exercise_cells.get(name)
            if cell in plan.syntax_errors:
                reason = f"its cell ({cell}) has a {plan.syntax_errors[cell]}"
                row.results[name] = CheckResult.failure(name, reason)
                continue
            row.results[name] = session.run_exercise(name)
    finally:
        try:
            session.close()
        finally:
            workspace.close()


def release_folder(folder: Path) -> None:
    """Undo whatever grading left in ``folder`` (a worker that died mid-notebook), then remove it."""
    if folder.is_dir() and not folder.is_symlink():
        for entry in os.listdir(folder):
            release_abandoned(folder / entry)
    remove_tree(folder)


def grade_all(paths: list[str], jobs: int, options: Options) -> list[Row]:
    """Grade every notebook, ``jobs`` at a time in worker processes; rows in the order of ``paths``.

    A worker that dies costs only the row of the notebook it was grading, and is replaced.
    """
    started = time.monotonic()
    done = 0

    def progress(row: Row) -> None:
        nonlocal done
        done += 1
        print(f"graded {done}/{len(paths)}: {row.file} ({row.seconds:.1f} s)", file=sys.stderr)

    run_folder = Path(tempfile.mkdtemp(prefix="nma-grade-run-"))
    try:
        if jobs == 1 or len(paths) == 1:
            rows = {}
            for path in paths:
                rows[path] = grade_notebook(path, options, str(run_folder))
                progress(rows[path])
        else:
            patience = options.timeout + 4 * JUDGE_TIMEOUT + 120  # a worker stuck past this is killed
            rows = workers.run_all(
                grade_notebook, paths, jobs, (options,), run_folder,
                patience, _crashed, progress, release_folder,
            )  # fmt: skip
    finally:
        release_folder(run_folder)
    print(f"grading took {time.monotonic() - started:.1f} s", file=sys.stderr)
    return [rows[path] for path in paths]


def _crashed(path: str, why: str) -> Row:
    """The row of a notebook whose worker process died: every exercise not graded."""
    reason = f"not graded: the grader's worker {why}"
    names = exercises_by_file_name(Path(path).name)
    return Row(
        file=path,
        exercises=names,
        results={name: CheckResult.failure(name, reason) for name in names},
        notes=[reason],
        sandbox="not graded",
    )
