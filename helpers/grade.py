"""Grade student notebooks with the same checks students run, on inputs they cannot know in advance.

    python -m helpers.grade SUBMISSION.ipynb [MORE.ipynb | FOLDER ...] [--out grades.csv]
                            [--jobs N] [--timeout SECONDS] [--exercise-timeout SECONDS]
                            [--memory GB] [--sandbox auto|bwrap|none]

Prints a table (one row per notebook: each exercise pass / FAIL / not done, the total) with the reason
for every failure under it, and writes a CSV (one row per notebook: file, each exercise's result and
reason, total, notes), atomically. A folder stands for the notebooks directly inside it. Exit code 0
when grading completed, whatever the students scored; 2 on bad usage.

How one notebook is graded (``grade_notebook``):

1. Its code cells are filtered, statement by statement (AST, after IPython's own transformation of
   magics): only imports, ``def``/``class`` statements and assignments of literal constants are kept.
   Everything else (loading data, training, plotting, the check cells) is left out, so grading takes
   seconds and a submission's own check calls or printed verdicts play no part. A cell with a syntax
   error is left out and reported.
2. The notebook (and the ordinary files next to it) is copied to a temporary folder, and a kernel
   (``python3``, jupyter_client) is started there, inside bubblewrap when it works: no network, the
   file system read-only except that folder and a private /tmp, its own process tree (all of it killed
   at the end). Always: an address-space limit (``--memory``), a small environment of its own (none
   of the grader's variables), one thread for numpy/torch. The kept code runs there, cell by cell.
3. For each exercise the grader draws fresh inputs (a seed from ``secrets``), writes them as .npy/.json
   into the temporary folder, and asks the kernel to run the notebook's function or class on them
   (``helpers.checks._kernel_run``, loaded from this package's file, not from anything the notebook
   can redefine) into a new output folder of a random name. Only plain arrays and JSON come back; the
   grader loads them without pickle and judges them in its own process with the reference it computes
   from the inputs it kept in memory (``helpers.checks``, the same judge the students' checks use).
4. Time limits: ``--timeout`` for the whole notebook (kernel start, kept code, exercises), and
   ``--exercise-timeout`` for one exercise's run on the small inputs, so an endless loop in one
   exercise still leaves time for the others. A kernel that dies, or does not come back from the
   interrupt, is restarted (the kept code re-run) for the remaining exercises.
"""

from __future__ import annotations

import argparse
import ast
import csv
import io
import json
import os
import queue
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from helpers import checks

EXERCISES = list(checks.EXERCISES)  # table and CSV columns, in the course's order
NOTEBOOK_OF = {  # the notebook each exercise belongs to (docs/notebooks.md)
    "preferred_orientation": "01_decoding",
    "classifier": "01_decoding",
    "regularized_loss": "01_decoding",
    "conv_fc_encoder": "02_encoding",
}
DEFAULT_TIMEOUT = 300.0
DEFAULT_EXERCISE_TIMEOUT = 60.0
DEFAULT_OUT = "grades.csv"
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
MAX_SIBLING_BYTES = 50 * 1024 * 1024  # files next to a notebook copied with it, in total
KERNEL_START_TIMEOUT = 60.0
DEFAULT_MEMORY_GB = 4.0
# Starts the kernel with its address space limited (RLIMIT_AS), so a runaway allocation fails with a
# MemoryError in the notebook instead of taking the machine's memory.
KERNEL_LAUNCHER = (
    "import resource, sys\n"
    "limit = int(sys.argv.pop(1))\n"
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
    "if sys.path and sys.path[0] == '':\n"
    "    del sys.path[0]\n"
    "from ipykernel import kernelapp\n"
    "kernelapp.launch_new_instance()\n"
)
BWRAP = "bwrap"
CHECKS_FILE = Path(checks.__file__).resolve()
PACKAGE_PARENT = CHECKS_FILE.parents[1]  # the folder holding the helpers package, for the kernel's path
PASS, FAIL, NOT_DONE = "pass", "FAIL", "not done"
GRADED_CODE_HINT = (
    "grading runs only the notebook's imports, definitions and constant assignments: a name set by "
    "other code, e.g. loaded data, does not exist there; pass it in as an argument"
)


class UsageError(Exception):
    """Bad command line: the message says what to fix."""


# ---------------------------------------------------------------- reading and filtering a notebook


class NotANotebook(Exception):
    """The file cannot be graded as a notebook; the message says why."""


def read_notebook(path: Path):
    import nbformat

    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise NotANotebook(f"not graded: the file is {size / 1e6:.0f} MB, more than a notebook should be")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
        json.loads(text)
    except (UnicodeDecodeError, ValueError) as error:
        raise NotANotebook(
            f"not a notebook: the file is not valid JSON ({checks._short(error, 120)})"
        ) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
        if not all(isinstance(cell, dict) for cell in nb.cells):
            raise ValueError("its cells are not JSON objects")
    except Exception as error:  # noqa: BLE001 - nbformat raises several kinds for JSON that is no notebook
        raise NotANotebook(f"not a Jupyter notebook ({checks._short(error, 120)})") from None
    return nb


def _python(source: str) -> str:
    """The cell as plain Python: IPython magics turned into calls, line numbers kept."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - leave it to ast.parse to report
        return source


_CONSTANT_NODES = (ast.Constant, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.UnaryOp, ast.BinOp, ast.Load)
_CONSTANT_NODES += (ast.operator, ast.unaryop)


def _is_constant(node: ast.AST, constants: set[str]) -> bool:
    """A literal, or arithmetic and containers of literals and of names already bound to such."""
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            if child.id not in constants:
                return False
        elif not isinstance(child, _CONSTANT_NODES):
            return False
    return True


def _kept(statement: ast.stmt, constants: set[str]) -> bool:
    if isinstance(
        statement, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    ):
        return True
    if isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) for t in statement.targets):
        if _is_constant(statement.value, constants):
            constants.update(t.id for t in statement.targets)
            return True
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
        if _is_constant(statement.value, constants):
            constants.add(statement.target.id)
            return True
    return False


@dataclass
class Plan:
    """What runs in the kernel, and what the notebook holds."""

    cells: list[tuple[int, str]] = field(default_factory=list)  # (cell index, kept code)
    exercises: list[str] = field(default_factory=list)
    syntax_errors: dict[int, str] = field(default_factory=dict)  # cell index -> what is wrong
    exercise_cells: dict[str, int] = field(default_factory=dict)  # exercise -> cell index (metadata)


def make_plan(nb, filename: str) -> Plan:
    plan = Plan()
    constants: set[str] = set()
    defined: set[str] = set()
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        name = cell.get("metadata", {}).get("exercise")
        if isinstance(name, str) and name in checks.EXERCISES:
            plan.exercise_cells.setdefault(name, index)
        source = _python(str(cell.get("source", "")))
        try:
            tree = ast.parse(source)
        except SyntaxError as error:
            plan.syntax_errors[index] = f"syntax error at line {error.lineno}: {error.msg}"
            continue
        lines = source.split("\n")
        keep = [False] * len(lines)
        for statement in tree.body:
            if _kept(statement, constants):
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    defined.add(statement.name)
                first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
                for number in range(first - 1, statement.end_lineno):
                    keep[number] = True
        code = "\n".join(line if kept else "" for line, kept in zip(lines, keep, strict=True)).rstrip()
        if code.strip():
            plan.cells.append((index, code))
    found = set(plan.exercise_cells) | {n for n, s in checks.EXERCISES.items() if s.object_name in defined}
    if not found:  # nothing recognisable: go by the file name, else grade everything
        found = {n for n, stem in NOTEBOOK_OF.items() if stem in filename} or set(checks.EXERCISES)
    plan.exercises = [name for name in EXERCISES if name in found]
    return plan


# ---------------------------------------------------------------- the sandbox and the kernel


def _visible_under_tmp() -> list[str]:
    """Read-only binds for the interpreter, its environment and this package when they live under /tmp
    (a checkout or venv there), which the sandbox's private /tmp would otherwise hide."""
    needed = {Path(sys.prefix), Path(sys.executable).resolve().parent, PACKAGE_PARENT.resolve()}
    under_tmp = sorted(str(p) for p in needed if p.is_relative_to("/tmp") and p != Path("/tmp"))
    return [arg for path in under_tmp for arg in ("--ro-bind", path, path)]


def bwrap_argv(bwrap: str, root: Path, work: Path, kernel_dir: Path) -> list[str]:
    """Bubblewrap around the kernel: all read-only but the submission's folder, its /tmp, no network."""
    return [
        bwrap,
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--bind", str(root / "tmp"), "/tmp",
        *_visible_under_tmp(),
        "--bind", str(work), str(work),
        "--bind", str(kernel_dir), str(kernel_dir),
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--die-with-parent",
        "--unsetenv", "JPY_PARENT_PID",  # its parent is bwrap, in another pid namespace
        "--chdir", str(work),
        "--",
    ]  # fmt: skip


def probe_bwrap(bwrap: str) -> str | None:
    """None when bubblewrap can run a sandboxed Python here, else why not."""
    if shutil.which(bwrap) is None:
        return f"bubblewrap ({bwrap}) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    root = Path(tempfile.mkdtemp(prefix="nma-grade-probe-"))
    try:
        for name in ("tmp", "work", "kernel"):
            (root / name).mkdir()
        code = (
            "import socket, pathlib\n"
            "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2); raise SystemExit('network')\n"
            "except OSError: pass\n"
            "pathlib.Path('ok').write_text('ok')\n"
        )
        argv = bwrap_argv(bwrap, root, root / "work", root / "kernel") + [sys.executable, "-c", code]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap could not be started ({error})"
        if done.returncode != 0 or not (root / "work" / "ok").is_file():
            detail = " ".join((done.stderr or done.stdout or "").split())[-300:]
            return f"bubblewrap does not work here (exit {done.returncode}: {detail})"
        return None
    finally:
        shutil.rmtree(root, ignore_errors=True)


def kernel_env(work: Path) -> dict[str, str]:
    """A small environment: nothing of the grader's own (tokens, credentials) reaches the notebook."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(PACKAGE_PARENT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(work / ".matplotlib"),
        "IPYTHONDIR": str(work / ".ipython"),
        "NMA_DECODING_DATA": "synthetic",
        "NMA_DECODING_PROGRESS": "0",
        "NMA_DECODING_CACHE": str(work / ".cache"),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    return env


@dataclass
class Outcome:
    status: str  # "ok", "error", "timeout", "dead"
    error: str = ""


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class Kernel:
    """One python3 kernel for one submission, optionally inside bubblewrap, over ipc sockets."""

    def __init__(self, root: Path, work: Path, sandbox: list[str] | None, memory_bytes: int):
        self.root, self.work, self.sandbox, self.memory_bytes = root, work, sandbox, memory_bytes
        self.kernel_dir = root / "kernel"
        self.km = self.kc = None
        self.starts = 0

    def start(self, timeout: float) -> None:
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        self.starts += 1
        spec_dir = self.root / "spec" / "kernels" / "grade"
        spec_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-c", KERNEL_LAUNCHER, str(self.memory_bytes), "-f", "{connection_file}"]
        argv += ["--HistoryManager.enabled=False"]
        if self.sandbox:
            argv = bwrap_argv(self.sandbox[0], self.root, self.work, self.kernel_dir) + argv
        spec = {"argv": argv, "display_name": "grading", "language": "python", "interrupt_mode": "message"}
        (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        self.kernel_dir.mkdir(exist_ok=True)
        log = open(self.root / f"kernel-{self.starts}.log", "wb")  # noqa: SIM115 - the kernel writes to it
        self.km = KernelManager(
            kernel_name="grade",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_dir.parent)]),
            transport="ipc",
            ip=str(self.kernel_dir / f"ipc{self.starts}"),
            connection_file=str(self.kernel_dir / f"connection-{self.starts}.json"),
        )
        try:
            self.km.start_kernel(cwd=str(self.work), env=kernel_env(self.work), stdout=log, stderr=log)
            self.kc = self.km.client()
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=timeout)
        except Exception as error:  # noqa: BLE001 - report the kernel's own last words
            log.close()
            tail = (self.root / f"kernel-{self.starts}.log").read_bytes()[-400:].decode("utf-8", "replace")
            self.shutdown()
            raise RuntimeError(f"{checks._short(error, 150)} {' '.join(tail.split())}".strip()) from None
        log.close()

    def run(self, code: str, timeout: float) -> Outcome:
        msg_id = self.kc.execute(
            code, silent=False, store_history=False, allow_stdin=False, stop_on_error=False
        )
        deadline = time.monotonic() + max(timeout, 0.1)
        error = ""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Outcome("timeout")
            try:
                message = self.kc.get_iopub_msg(timeout=min(0.5, remaining))
            except queue.Empty:
                if not self.km.is_alive():
                    return Outcome("dead")
                continue
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "error":
                error = _ANSI.sub("", f"{content.get('ename')}: {content.get('evalue')}")
            elif kind == "status" and content.get("execution_state") == "idle":
                return Outcome("error", checks._short(error, 300)) if error else Outcome("ok")

    def interrupt(self) -> bool:
        """Interrupt the running code; True when the kernel is responsive again."""
        try:
            self.km.interrupt_kernel()
            return self.run("pass", 10.0).status == "ok"
        except Exception:  # noqa: BLE001 - a kernel we cannot talk to is restarted
            return False

    def shutdown(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001 - kill it the hard way
                try:
                    self.km.kill_kernel()
                except Exception:  # noqa: BLE001 - nothing more to do
                    pass
            self.km = None


DRIVER = """\
def _nma_grade_run():
    import importlib.util
    import sys
    name = "_nma_grade_checks_{token}"
    spec = importlib.util.spec_from_file_location(name, {checks_file!r})
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        module._kernel_run({name!r}, globals(), {folder!r})
    finally:
        sys.modules.pop(name, None)
try:
    _nma_grade_run()
finally:
    del _nma_grade_run
"""


# ---------------------------------------------------------------- grading one notebook


@dataclass
class Row:
    file: str
    exercises: list[str] = field(default_factory=list)
    results: dict[str, dict] = field(default_factory=dict)  # exercise -> {"passed", "not_done", "reason"}
    notes: list[str] = field(default_factory=list)
    sandbox: str = ""
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(1 for result in self.results.values() if result["passed"])


def _result(result: checks.CheckResult) -> dict:
    return {"passed": result.passed, "not_done": result.not_done, "reason": result.reason}


def _failed(reason: str) -> dict:
    return {"passed": False, "not_done": False, "reason": reason}


def _copy_submission(path: Path, work: Path) -> None:
    """The notebook and the ordinary files next to it (not other notebooks, not folders), up to a size."""
    work.mkdir(parents=True)
    shutil.copyfile(path, work / path.name)
    budget = MAX_SIBLING_BYTES
    for sibling in sorted(path.parent.iterdir()):
        if sibling.suffix == ".ipynb" or sibling.is_symlink() or not sibling.is_file():
            continue
        size = sibling.stat().st_size
        if size <= budget:
            try:
                shutil.copyfile(sibling, work / sibling.name)
                budget -= size
            except OSError:
                continue


@dataclass(frozen=True)
class Options:
    """How notebooks are graded (the command line's options)."""

    timeout: float = DEFAULT_TIMEOUT  # seconds for one whole notebook
    exercise_timeout: float = DEFAULT_EXERCISE_TIMEOUT  # seconds for one exercise's run
    memory_gb: float = DEFAULT_MEMORY_GB  # the kernel's address space limit
    bwrap: str | None = None  # the bubblewrap executable, or None to run without a sandbox


class _Session:
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
        return self.deadline - time.monotonic()

    def note(self, text: str) -> None:
        if text not in self.row.notes:
            self.row.notes.append(text)

    def ready(self) -> bool:
        """A kernel with the kept code run; False when there is no time left or it cannot start."""
        while self.kernel is None:
            if self.remaining() <= 1 or self.start_error:
                return False
            sandbox = [self.options.bwrap] if self.options.bwrap else None
            kernel = Kernel(self.root, self.work, sandbox, int(self.options.memory_gb * 2**30))
            try:
                kernel.start(min(KERNEL_START_TIMEOUT, self.remaining()))
            except RuntimeError as error:
                self.start_error = f"the kernel could not start: {error}"
                self.note(self.start_error)
                return False
            self.kernel = kernel
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
                    break
        return True

    def run_exercise(self, name: str) -> dict:
        if not self.ready():
            if self.start_error:
                return _failed(f"not graded: {self.start_error}")
            return _failed(f"not graded: the time limit ({self.options.timeout:g} s) was used up before it")
        folder = self.work / f".grading-{secrets.token_hex(8)}"
        inputs = checks.EXERCISES[name].make_inputs(np.random.default_rng(secrets.randbits(128)))
        checks.save_plain(folder / "in", inputs)
        (folder / "out").mkdir()
        limit = min(self.options.exercise_timeout, self.remaining())
        code = DRIVER.format(
            checks_file=str(CHECKS_FILE), name=name, folder=str(folder), token=secrets.token_hex(4)
        )
        outcome = self.kernel.run(code, limit)
        if outcome.status == "timeout":
            if not self.kernel.interrupt():
                self.close()
            return _failed(
                f"time limit: it ran for more than {limit:.0f} s on small inputs (an endless loop?)"
            )
        if outcome.status == "dead":
            self.close()
            return _failed("the kernel died while it ran (the code crashed or exited the process)")
        if outcome.status == "error":
            return _failed(f"could not be run: {outcome.error}")
        result = _result(checks._judge_files(name, inputs, folder / "out"))
        shutil.rmtree(folder, ignore_errors=True)
        if "NameError" in result["reason"]:
            result["reason"] += f" ({GRADED_CODE_HINT})"
        elif result["reason"].endswith("is not defined") and self.row.notes:
            result["reason"] += " (a cell that defines it failed: see the notes)"
        return result

    def close(self) -> None:
        if self.kernel is not None:
            self.kernel.shutdown()
            self.kernel = None


def grade_notebook(path: str, options: Options = Options()) -> dict:  # noqa: B008 - frozen, never changed
    """Grade one notebook; returns its Row as a dict (picklable, for worker processes)."""
    started = time.monotonic()
    source = Path(path)
    row = Row(file=path, sandbox="bubblewrap" if options.bwrap else "none")
    try:
        nb = read_notebook(source)
    except (NotANotebook, OSError) as error:
        row.exercises = [n for n, stem in NOTEBOOK_OF.items() if stem in source.name] or list(EXERCISES)
        reason = str(error) if isinstance(error, NotANotebook) else f"could not be read ({error})"
        row.results = {name: _failed(reason) for name in row.exercises}
        row.notes.append(reason)
        row.seconds = time.monotonic() - started
        return row.__dict__
    plan = make_plan(nb, source.name)
    row.exercises = plan.exercises
    for index, problem in plan.syntax_errors.items():
        row.notes.append(f"cell {index}: {problem}; the cell was left out")
    root = Path(tempfile.mkdtemp(prefix="nma-grade-"))
    session = _Session(plan, root, options, started, row)
    try:
        (root / "tmp").mkdir()
        _copy_submission(source, session.work)
        for name in plan.exercises:
            cell = plan.exercise_cells.get(name)
            if cell in plan.syntax_errors:
                row.results[name] = _failed(f"its cell ({cell}) has a {plan.syntax_errors[cell]}")
                continue
            row.results[name] = session.run_exercise(name)
    finally:
        session.close()
        _remove(root)
    row.seconds = time.monotonic() - started
    return row.__dict__


def _remove(root: Path) -> None:
    """Delete a grading folder, also when the notebook took its own permissions away from parts of it."""
    for folder, subfolders, _ in os.walk(root):
        for name in subfolders:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                try:
                    os.chmod(path, 0o700)
                except OSError:
                    pass
    shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- the report


def _cell(row: dict, name: str) -> str:
    if name not in row["exercises"]:
        return ""
    result = row["results"].get(name)
    if result is None:
        return ""
    return PASS if result["passed"] else NOT_DONE if result["not_done"] else FAIL


def write_csv(rows: list[dict], out: Path) -> None:
    """One row per notebook, written to a temporary file first and moved into place."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["file"]
    for name in EXERCISES:
        header += [name, f"{name}_reason"]
    writer.writerow(header + ["total", "graded", "notes", "sandbox", "seconds"])
    for row in rows:
        line = [row["file"]]
        for name in EXERCISES:
            result = row["results"].get(name)
            line += [_cell(row, name), result["reason"] if result else ""]
        total = sum(1 for r in row["results"].values() if r["passed"])
        line += [
            total,
            len(row["exercises"]),
            " | ".join(row["notes"]),
            row["sandbox"],
            f"{row['seconds']:.1f}",
        ]
        writer.writerow(line)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(buffer.getvalue())
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def format_table(rows: list[dict]) -> str:
    names = [_display_name(row["file"], rows) for row in rows]
    header = ["file", *EXERCISES, "total"]
    body = []
    for name, row in zip(names, rows, strict=True):
        total = sum(1 for r in row["results"].values() if r["passed"])
        body.append([name, *[_cell(row, ex) or "-" for ex in EXERCISES], f"{total}/{len(row['exercises'])}"])
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(str(value).ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
             for line in [header, *body]]  # fmt: skip
    lines.insert(1, "  ".join("-" * width for width in widths))
    details = []
    for name, row in zip(names, rows, strict=True):
        reasons: dict[str, list[str]] = {}
        for ex in EXERCISES:
            result = row["results"].get(ex)
            if (
                result
                and not result["passed"]
                and not result["not_done"]
                and result["reason"] not in row["notes"]
            ):
                reasons.setdefault(result["reason"], []).append(ex)
        details += [f"  {name}  {', '.join(exs)}: {reason}" for reason, exs in reasons.items()]
        details += [f"  {name}  note: {note}" for note in row["notes"]]
    if details:
        lines += ["", "Why:"] + details
    return "\n".join(lines)


def _display_name(file: str, rows: list[dict]) -> str:
    base = Path(file).name
    return base if sum(1 for row in rows if Path(row["file"]).name == base) == 1 else file


# ---------------------------------------------------------------- command line


def collect(paths: list[str]) -> list[Path]:
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
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(
        prog="python -m helpers.grade",
        description="Grade student notebooks with the module's checks, on fresh inputs, in a sandbox.",
    )
    parser.add_argument("submissions", nargs="+", help="notebooks, or folders of notebooks, to grade")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"CSV report to write (default: {DEFAULT_OUT})")
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
        help=f"GB of address space one notebook's kernel may use (default: {DEFAULT_MEMORY_GB:g})",
    )
    parser.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "none"),
        default="auto",
        help="auto: bubblewrap when it works, else none with a warning (default); bwrap: required",
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if not args.timeout > 0 or not args.exercise_timeout > 0:
        parser.error("--timeout and --exercise-timeout must be positive numbers of seconds")
    if not args.memory >= 1:
        parser.error("--memory must be at least 1 (GB): the kernel and torch alone need about 1 GB")
    return parser, args


def main(argv: list[str] | None = None) -> int:
    parser, args = parse_args(argv)
    try:
        paths = collect(args.submissions)
        out = Path(args.out)
        if out.is_dir():
            raise UsageError(
                f"--out {args.out} is a folder: give a file name, e.g. {Path(args.out) / DEFAULT_OUT}"
            )
        if not out.resolve().parent.is_dir():
            raise UsageError(
                f"--out {args.out}: the folder {out.resolve().parent} does not exist: create it first"
            )
    except UsageError as error:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    bwrap, sandbox_line = None, ""
    if args.sandbox != "none":
        problem = probe_bwrap(BWRAP)
        if problem is None:
            bwrap = BWRAP
            sandbox_line = (
                "sandbox: bubblewrap (no network; file system read-only except each notebook's temporary "
                "folder and its own /tmp)"
            )
        elif args.sandbox == "bwrap":
            print(f"{parser.prog}: error: --sandbox bwrap, but {problem}", file=sys.stderr)
            return 2
        else:
            sandbox_line = (
                f"WARNING: no sandbox: {problem}; notebooks ran with your own user's rights and network"
            )
    else:
        sandbox_line = (
            "WARNING: no sandbox (--sandbox none): notebooks ran with your own user's rights and network"
        )
    print(sandbox_line, file=sys.stderr)
    options = Options(args.timeout, args.exercise_timeout, args.memory, bwrap)
    rows = grade_all([str(p) for p in paths], args.jobs, options)
    write_csv(rows, out)
    print(format_table(rows))
    print()
    print(sandbox_line)
    print(f"{len(rows)} notebook(s) graded; report written to {out}")
    return 0


def grade_all(paths: list[str], jobs: int, options: Options) -> list[dict]:
    """Grade every notebook, `jobs` at a time in worker processes; rows in the order of `paths`."""
    rows: dict[str, dict] = {}
    started = time.monotonic()

    def progress(row):
        print(f"graded {len(rows)}/{len(paths)}: {row['file']} ({row['seconds']:.1f} s)", file=sys.stderr)

    if jobs == 1 or len(paths) == 1:
        for path in paths:
            rows[path] = grade_notebook(path, options)
            progress(rows[path])
    else:
        import multiprocessing

        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
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


def _crashed(path: str, error: BaseException) -> dict:
    reason = f"not graded: the grader's worker failed ({type(error).__name__}: {checks._short(error, 150)})"
    names = list(EXERCISES)
    row = Row(file=path, exercises=names, results={n: _failed(reason) for n in names}, notes=[reason])
    return row.__dict__


if __name__ == "__main__":
    sys.exit(main())
