"""python -m helpers.grade on hostile submissions: each attack of issue 10's table in its own notebook,
graded in one batch beside good notebooks and the broken ones, with --jobs 1 and with --jobs 2.

Every submission is 02_encoding (or 01_decoding) filled in with the solution, so its exercises are
right, plus one hostile act where the grader runs code: a class body, a default argument, an
imported sibling .py. Every attack's own loop has a hard count and size, and the grader runs under
an outer time limit (the subprocess timeout) and an outer memory limit (a watcher that kills it past
GRADER_MEMORY_KILL), so a grader that fails cannot harm the machine running the test.

What is asserted is what can be seen from outside: the files of the package, of the submissions'
folder, of the instructor's home, /var/tmp and /dev/shm unchanged and nothing new in /tmp; no
process of a submission left; the good notebooks' rows exactly as when graded alone; a CSV row per
notebook, no cell a spreadsheet would run as a formula; the secret planted in the home folder in no
report; the grader's own processes under GRADER_PEAK_BOUND of memory.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import secrets
import shutil
import string
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import psutil
import pytest
import test_grade as made

import helpers
from helpers.grade import confine

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(helpers.__file__).resolve().parent
MIB = 2**20
GRADER_PEAK_BOUND = 1200 * MIB  # resident memory of the grader's own processes together
GRADER_MEMORY_KILL = 3 * 2**30  # the outer limit: the watcher kills the grader past this
GRADER_TIMEOUT = 420  # seconds: the outer time limit of one grader run
GOOD = ("correct_01", "correct_02")
BROKEN = ("syntax_error", "loop_and_crash", "not_json", "not_a_notebook", "deep_json")

pytestmark = [
    pytest.mark.timeout(1500),
    pytest.mark.skipif(confine.bwrap_problem() is not None, reason=f"no sandbox: {confine.bwrap_problem()}"),
]


# ---------------------------------------------------------------- the attacks, each bounded


# Each attack's own loop has a hard count and size; $names are filled in by attacks().

REMOUNT = """\
class _Remount:
    import ctypes, os, signal
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.mount(None, b"/", None, 32 | 4096, None)  # MS_REMOUNT | MS_BIND: read-write again?
    _libc.mount(None, b"/", None, 32, None)
    for _target in $targets:
        try:
            open(_target, "a").close()
        except OSError:
            pass
    try:
        os.utime($package_file)
    except OSError:
        pass
    try:
        os.kill($sentinel, signal.SIGTERM)
    except OSError:
        pass
"""


FORKS = """\
class _Forks:
    import os
    for _ in range(400):  # hard bound: 400 children, each a sleep
        try:
            _pid = os.fork()
        except OSError:
            break
        if _pid == 0:
            try:
                os.execv("/bin/sleep", ["sleep", "$marker"])
            finally:
                os._exit(0)
    if os.fork() == 0:  # and one that leaves its session and its parent
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", "$marker"])
        os._exit(0)
"""


BIG_FILE = """\
class _BigFile:
    for _index in range(8):  # hard bound: 8 files of at most 256 MiB, 2 GiB in all
        try:
            with open(f"big{_index}.bin", "wb") as _stream:
                for _ in range(32):
                    _stream.write(b"x" * (8 * 2**20))
        except OSError:
            break
"""


SHM_MEMORY = """\
class _SharedMemory:
    import os
    try:
        with open("/dev/shm/fill", "wb") as _stream:
            for _ in range(48):  # hard bound: 3 GiB in /dev/shm
                _stream.write(b"x" * (64 * 2**20))
    except OSError:
        pass
    _children = []
    for _ in range(3):  # three children of at most 1.5 GiB each
        _pid = os.fork()
        if _pid == 0:
            try:
                _blocks = [bytearray(64 * 2**20) for _ in range(24)]
            finally:
                os._exit(0)
        _children.append(_pid)
    for _pid in _children:
        os.waitpid(_pid, 0)
"""


SNOOP = """\
class _Snoop:
    _seen = []
    for _path in ($secret_file, "/root/.bash_history"):
        try:
            with open(_path) as _stream:
                _seen.append(_stream.read(200))
        except OSError:
            pass
    raise RuntimeError("snooped: " + " | ".join(_seen))
"""


DEEP_TREE = """\
class _DeepTree:
    import os
    _top = os.getcwd()
    for _ in range(1500):  # hard bound: 1,500 levels
        os.mkdir("d")
        os.chdir("d")
    os.symlink($package, "package")
    os.symlink($home, "home")
    os.chdir(_top)
    os.chmod("d", 0)
"""


FORMULA = """\
import json, os, pathlib, threading, time


def _forge_formula():
    for _ in range(40000):  # hard bound: about 40 s
        for _folder in pathlib.Path(".").glob(".grading-*/out"):
            message = '=HYPERLINK("http://attacker.example/","click me")'
            try:  # written whole, so that the grader reads the forgery, never half of it
                (_folder / ".forged").write_text(json.dumps({"status": "error", "message": message}))
                os.replace(_folder / ".forged", _folder / "status.json")
            except OSError:
                pass
        time.sleep(0.001)


def _started(thread=threading.Thread(target=_forge_formula, daemon=True).start()):
    return thread
"""


BIG_PRINT = """\
import sys
sys.stdout.write("y" * (8 * 2**20))  # one message over the cap
for _ in range(200):  # hard bound: 200 MiB
    sys.stdout.write("z" * 2**20)
"""


def attacks(marker: str, secret_file: Path, targets: dict[str, Path], sentinel_pid: int) -> dict:
    """Attack name -> (notebook stem, extra cells, sibling files). ``marker`` is a `sleep` duration
    no other process uses, so that left processes can be found; ``targets`` are files outside the
    work folder the attacks try to create or touch."""
    values = {
        "targets": repr([str(path) for path in targets.values()]),
        "package_file": repr(str(PACKAGE / "checks" / "common.py")),
        "package": repr(str(PACKAGE)),
        "sentinel": str(sentinel_pid),
        "marker": marker,
        "secret_file": repr(str(secret_file)),
        "home": repr(str(secret_file.parent)),
    }
    remount, forks, snoop, deep_tree = (
        string.Template(source).substitute(values) for source in (REMOUNT, FORKS, SNOOP, DEEP_TREE)
    )
    big_file, shm_memory, formula, big_print = BIG_FILE, SHM_MEMORY, FORMULA, BIG_PRINT
    return {
        "attack_remount": ("02_encoding", [remount], {}),
        "attack_forks": ("02_encoding", [forks], {}),
        "attack_big_file": ("02_encoding", [big_file], {}),
        "attack_shm_memory": ("02_encoding", [shm_memory], {}),
        "attack_snoop": ("02_encoding", [snoop], {}),
        "attack_deep_tree": ("02_encoding", [deep_tree], {}),
        "attack_formula": ("02_encoding", [formula], {}),
        "attack_big_print": ("02_encoding", ["import hostile_print"], {"hostile_print.py": big_print}),
    }


# ---------------------------------------------------------------- seen from outside


def snapshot(*folders: Path, limit: int = 20000) -> dict[str, tuple]:
    """Path -> (mtime, size, sha256 of a small file) for everything below ``folders``, not following
    links (at most ``limit`` entries each)."""
    state = {}
    for folder in folders:
        for count, (base, names, files) in enumerate(os.walk(folder)):
            if count > limit:
                break
            for name in names + files:
                path = os.path.join(base, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                digest = ""
                if os.path.isfile(path) and not os.path.islink(path) and info.st_size < MIB:
                    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                state[path] = (info.st_mtime_ns, info.st_size, digest)
    return state


def marked_processes(marker: str) -> list[int]:
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        if marker in (process.info["cmdline"] or []):
            found.append(process.info["pid"])
    return found


def grader_memory(process: psutil.Process) -> int:
    """Resident bytes of the grader and its workers (its own processes, not the confined kernels)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            if member.uids().real == os.getuid() and "bwrap" not in member.name():
                cmdline = " ".join(member.cmdline())
                if "helpers.grade" in cmdline or "multiprocessing" in cmdline:
                    total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_grader(folder: Path, out: Path, jobs: int, env: dict) -> dict:
    """Grade ``folder`` under the outer limits; the CSV's rows by stem, stdout, exit code, peak memory."""
    command = [sys.executable, "-m", "helpers.grade", str(folder), "--out", str(out), "--jobs", str(jobs)]
    command += ["--timeout", "120", "--exercise-timeout", "15", "--memory", "2"]
    grader = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak, stop = [0], threading.Event()

    def watch():
        watched = psutil.Process(grader.pid)
        while not stop.wait(0.2):
            try:
                peak[0] = max(peak[0], grader_memory(watched))
            except psutil.Error:
                return
            if peak[0] > GRADER_MEMORY_KILL:
                grader.kill()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        stdout, stderr = grader.communicate(timeout=GRADER_TIMEOUT)
    finally:
        grader.kill()
        stop.set()
        watcher.join()
    rows = {}
    if out.is_file():
        with open(out, newline="", encoding="utf-8") as stream:
            rows = {Path(row["file"]).stem: row for row in csv.DictReader(stream)}
    return {"code": grader.returncode, "stdout": stdout, "stderr": stderr, "rows": rows, "peak": peak[0],
            "csv": out.read_text(encoding="utf-8") if out.is_file() else ""}  # fmt: skip


def build(folder: Path, marker: str, secret_file: Path, targets: dict, sentinel_pid: int) -> None:
    nbformat.write(made.fill("01_decoding"), folder / "correct_01.ipynb")
    nbformat.write(made.fill("02_encoding"), folder / "correct_02.ipynb")
    for name, (stem, cells, siblings) in attacks(marker, secret_file, targets, sentinel_pid).items():
        nbformat.write(made.fill(stem, extra_cells=cells), folder / f"{name}.ipynb")
        for file_name, text in siblings.items():
            (folder / file_name).write_text(textwrap.dedent(text), encoding="utf-8")
    nbformat.write(
        made.fill("02_encoding", broken=("conv_fc_encoder", "net = (")), folder / "syntax_error.ipynb"
    )
    loop = {"preferred_orientation": ["while True:\n    pass"], "classifier": ["import os\nos._exit(3)"]}
    nbformat.write(made.fill("01_decoding", loop), folder / "loop_and_crash.ipynb")
    (folder / "not_json.ipynb").write_text("this is not a notebook\n", encoding="utf-8")
    (folder / "not_a_notebook.ipynb").write_text('{"hello": "world"}', encoding="utf-8")
    (folder / "deep_json.ipynb").write_text('{"a": ' * 100_000 + "1" + "}" * 100_000, encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The batch graded with --jobs 1 and --jobs 2, and the good notebooks alone; what changed."""
    token = secrets.token_hex(8)
    marker = f"{secrets.randbelow(10**6) + 10**6}.{secrets.randbelow(10**6):06d}"
    home = Path(tempfile.mkdtemp(prefix="nma-test-home-", dir=ROOT))  # inside the checkout shown back
    secret_file = home / "secret.txt"
    secret_file.write_text(f"instructor secret {token}\n", encoding="utf-8")
    folder = tmp_path_factory.mktemp("hostile")
    alone = tmp_path_factory.mktemp("alone")
    targets = {
        "package": PACKAGE / "checks" / f"_written_by_a_submission_{token}.py",
        "original folder": folder / f"written_{token}.txt",
        "var_tmp": Path("/var/tmp") / f"written_{token}",
        "home": home / f"written_{token}",
    }
    # The grader's own temporary folder: other tests grading at the same time use /tmp, not this.
    grader_tmp = Path(tempfile.mkdtemp(prefix="nma-test-grader-tmp-"))
    grader_tmp.chmod(0o755)  # a root grader's TMPDIR must be passable by the submissions' uid
    sentinel = subprocess.Popen(["/bin/sleep", "3600"])
    try:
        build(folder, marker, secret_file, targets, sentinel.pid)
        for name in GOOD:
            shutil.copy(folder / f"{name}.ipynb", alone)
        env = {**os.environ, "HOME": str(home), "TMPDIR": str(grader_tmp)}
        watched = (PACKAGE, folder, home, Path("/var/tmp"), Path("/dev/shm"))
        before = snapshot(*watched)
        # The three runs at once: each waits much of its time on kernels and on the attacks' own
        # limits (a loop that runs into its exercise's time limit), and each has its own outer limits.
        runs = {1: (folder, 1), 2: (folder, 2), "alone": (alone, 2)}
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:
            futures = {
                key: pool.submit(run_grader, source, tmp_path_factory.mktemp(f"out_{key}") / "grades.csv",
                                 jobs, env)
                for key, (source, jobs) in runs.items()
            }  # fmt: skip
            reports = {key: future.result() for key, future in futures.items()}
        time.sleep(1)
        after = snapshot(*watched)
        changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
        yield {
            "reports": reports,
            # Any Python process on the machine makes and unlinks /dev/shm/sem.mp-* at once: not ours.
            "changed": {p for p in changed if not p.startswith("/dev/shm/sem.mp-")},
            "tmp_new": set(os.listdir(grader_tmp)),
            "left": marked_processes(marker),
            "sentinel_alive": sentinel.poll() is None,
            "token": token,
            "targets": targets,
        }
    finally:
        sentinel.kill()
        for pid in marked_processes(marker):
            psutil.Process(pid).kill()
        for target in targets.values():
            if target.is_file():
                target.unlink()
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(grader_tmp, ignore_errors=True)


# ---------------------------------------------------------------- what is asserted

BATCHES = pytest.mark.parametrize("jobs", [1, 2])
UID = re.compile(r"uid \d+")


def stems(report) -> set[str]:
    return set(report["rows"])


@BATCHES
def test_every_notebook_gets_a_row_and_the_run_ends_normally(graded, jobs):
    report = graded["reports"][jobs]
    assert report["code"] == 0, report["stderr"][-3000:]
    expected = {*GOOD, *BROKEN, *(name for name in attacks("1", Path("/x"), {}, 1))}
    assert stems(report) == expected
    assert f"{len(expected)} notebook(s) graded" in report["stdout"]


@BATCHES
def test_the_good_notebooks_rows_are_exactly_as_when_graded_alone(graded, jobs):
    alone = graded["reports"]["alone"]["rows"]
    for name in GOOD:
        batch_row = {
            key: UID.sub("uid N", value) for key, value in graded["reports"][jobs]["rows"][name].items()
        }
        alone_row = {key: UID.sub("uid N", value) for key, value in alone[name].items()}
        for row in (batch_row, alone_row):
            del row["seconds"], row["file"]
        assert batch_row == alone_row
    assert alone["correct_01"]["total"] == "3" and alone["correct_02"]["total"] == "1"


@BATCHES
def test_each_attack_costs_at_most_its_own_exercise_and_is_reported_by_the_grader(graded, jobs):
    rows = graded["reports"][jobs]["rows"]
    for name in ("attack_remount", "attack_forks", "attack_shm_memory", "attack_deep_tree", "attack_snoop"):
        assert rows[name]["conv_fc_encoder"] == "pass", (name, rows[name]["conv_fc_encoder_reason"])
    big_file = rows["attack_big_file"]  # it filled its own disk: no room left for the grader's inputs
    assert (
        big_file["conv_fc_encoder"] == "FAIL"
        and "used up its disk bound" in big_file["conv_fc_encoder_reason"]
    )
    assert "output cap" in rows["attack_big_print"]["notes"], rows["attack_big_print"]["notes"]
    assert "time limit" not in rows["attack_big_print"]["notes"]
    assert rows["attack_big_print"]["conv_fc_encoder"] == "pass"
    assert rows["attack_formula"]["conv_fc_encoder"] == "FAIL"
    assert rows["attack_snoop"]["notes"].endswith("RuntimeError: snooped:")  # it could read nothing


@BATCHES
def test_the_broken_notebooks_are_reported_as_before(graded, jobs):
    rows = graded["reports"][jobs]["rows"]
    assert "syntax error" in rows["syntax_error"]["conv_fc_encoder_reason"]
    assert "time limit" in rows["loop_and_crash"]["preferred_orientation_reason"]
    assert "kernel died" in rows["loop_and_crash"]["classifier_reason"]
    assert rows["loop_and_crash"]["regularized_loss"] == "pass"
    assert "not valid JSON" in rows["not_json"]["notes"] and "not valid JSON" in rows["deep_json"]["notes"]
    assert "not a Jupyter notebook" in rows["not_a_notebook"]["notes"]


def test_nothing_outside_the_work_folder_changed_and_nothing_is_left_in_tmp(graded):
    assert sorted(graded["changed"]) == []
    assert not any(target.exists() for target in graded["targets"].values())
    assert graded["tmp_new"] == set()


def test_no_process_of_a_submission_is_left_and_none_outside_was_signalled(graded):
    assert graded["left"] == []
    assert graded["sentinel_alive"]


def test_the_secret_from_the_home_folder_reaches_no_report(graded):
    for report in graded["reports"].values():
        assert graded["token"] not in report["csv"] and graded["token"] not in report["stdout"]


@BATCHES
def test_no_csv_cell_is_a_formula_and_notes_are_short_excerpts(graded, jobs):
    report = graded["reports"][jobs]
    for row in report["rows"].values():
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value
    assert "'=HYPERLINK" in report["rows"]["attack_formula"]["conv_fc_encoder_reason"]
    assert len(report["csv"]) < 200_000  # 200 MiB printed, a few KB reported


@BATCHES
def test_the_sandbox_column_says_which_bounds_held(graded, jobs):
    sandbox = graded["reports"][jobs]["rows"]["attack_forks"]["sandbox"]
    assert sandbox.startswith("bubblewrap") and "processes <=" in sandbox and "memory <=" in sandbox
    assert graded["reports"][jobs]["rows"]["not_json"]["sandbox"] == "not graded"


def test_the_graders_own_memory_stays_bounded(graded):
    for name, report in graded["reports"].items():
        print(f"grader's peak memory, run {name}: {report['peak'] / MIB:.0f} MiB")
        assert 0 < report["peak"] < GRADER_PEAK_BOUND, report["peak"] / MIB


# ---------------------------------------------------------------- the grader's own failures


def test_a_dead_or_stuck_worker_costs_its_own_item_alone_and_is_replaced(tmp_path):
    from _worker_faults import grade_or_die

    from helpers.grade import workers

    seen, released = [], []

    def release(folder):
        released.append(folder)
        shutil.rmtree(folder)

    items = ["a", "die", "b", "hang", "c", "d"]
    results = workers.run_all(
        grade_or_die,
        items,
        2,
        (),
        tmp_path,
        20,
        lambda item, why: f"crashed {item}: {why}",
        seen.append,
        release,
    )
    assert {item: results[item] for item in "abcd"} == {item: f"row of {item}" for item in "abcd"}
    assert results["die"].startswith("crashed die: process died (exit code 7)")
    assert results["hang"].startswith("crashed hang: took more than 20 s")
    assert sorted(seen) == sorted(results.values())
    assert len(released) == 4 and list(tmp_path.iterdir()) == []  # 2 replaced workers + the last 2


def test_an_exception_in_the_grader_costs_one_row_not_the_run(tmp_path, monkeypatch):
    from helpers.grade import grading, sandbox

    def broken(*args, **kwargs):
        raise RuntimeError("=the grader's own bug")

    monkeypatch.setattr(sandbox, "Workspace", broken)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    nbformat.write(made.fill("02_encoding"), tmp_path / "n_02_encoding.ipynb")
    row = grading.grade_notebook(str(tmp_path / "n_02_encoding.ipynb"), grading.Options(bwrap=None))
    assert row.exercises == ["conv_fc_encoder"] and not row.results["conv_fc_encoder"].passed
    assert "not graded: the grader failed on it (RuntimeError: =the grader's own bug)" in row.notes[0]
    assert list((tmp_path / "tmp").iterdir()) == []  # its grading folder removed


def test_what_a_dead_worker_left_is_released():
    from helpers.grade import grading

    # In the temporary folder, as grade_all's workers' folders are (the dedicated uid must be able to
    # pass through every folder above the grading folder that is not hidden; pytest's are 0700).
    parent = Path(tempfile.mkdtemp(prefix="nma-test-worker-"))
    root = Path(tempfile.mkdtemp(prefix="nma-grade-", dir=parent))
    confinement = confine.Confinement(root, confine.Limits(disk_bytes=64 * MIB), strict=True)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    child = subprocess.Popen(
        confinement.command(["/bin/sleep", "60"]), env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while not confinement.processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    name = f"{confine.CGROUP_PREFIX}{root.name}"
    try:
        assert confinement.processes() and os.path.ismount(root) and list(Path("/sys/fs/cgroup").rglob(name))
    except AssertionError:
        confinement.close()
        why = f"the confined sleep ended: {child.poll()} {child.stderr.read()[-2000:]!r}"
        raise AssertionError(why) from None
    grading.release_folder(parent)  # as grade_all does for a worker that died before close()
    assert child.wait(timeout=30) != 0
    assert not parent.exists() and not os.path.ismount(root)
    assert list(Path("/sys/fs/cgroup").rglob(name)) == []
