"""Each attack of issue 10's table run as a confined submission (helpers.grade.confine), judged from outside.

Every attack carries its own hard bound (a count, a size, a sleep) so that a confinement that fails
cannot harm the machine running the test, and every test runs under an outer time limit (the
subprocess timeout and pytest-timeout). What is asserted is what can be seen from outside: files
outside the work folder unchanged, no process of the submission left, the limits reached, nothing in
/tmp, no mount and no cgroup left. The attacks need bubblewrap and are hardest as root (CI's case);
where the machine cannot give a bound, the test that needs it is skipped saying why.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

import helpers
from helpers.grade.confine import BoundUnavailable, Confinement, Limits, bwrap_problem
from helpers.grade.untrusted import (
    OutputBudget,
    RejectedFile,
    capped_zmq_context,
    csv_cell,
    csv_row,
    excerpt,
    read_regular_file,
    remove_tree,
)

MIB = 2**20
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(helpers.__file__).resolve().parent
LIMITS = Limits(
    processes=64, memory_bytes=256 * MIB, cpus=1.0, disk_bytes=64 * MIB, files=5000,
    file_bytes=16 * MIB, tmp_bytes=16 * MIB,
)  # fmt: skip
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
ATTACK_TIMEOUT = 60  # seconds: the outer limit of every confined run

pytestmark = pytest.mark.timeout(180)
needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")


def _whole_submission_problem() -> str | None:
    root = tempfile.mkdtemp(prefix="nma-test-confine-")
    try:
        Confinement(root, LIMITS, strict=True).close()
    except BoundUnavailable as error:
        remove_tree(root)
        return str(error)
    return None


WHOLE_PROBLEM = _whole_submission_problem() if bwrap_problem() is None else "no sandbox"
needs_bounds = pytest.mark.skipif(WHOLE_PROBLEM is not None, reason=f"bounds not available: {WHOLE_PROBLEM}")


# ---------------------------------------------------------------- running an attack


@pytest.fixture
def confined():
    """A strict Confinement with small limits; afterwards: its folder, mount and cgroup are gone."""
    root = Path(tempfile.mkdtemp(prefix="nma-test-confine-"))
    confinement = Confinement(root, LIMITS, strict=WHOLE_PROBLEM is None)
    try:
        yield confinement
    finally:
        confinement.close()
        assert not root.exists(), "the grading folder was left behind"
        assert str(root) not in Path("/proc/self/mountinfo").read_text(), "its tmpfs is still mounted"
        assert not _cgroups_named(f"nma-grade-{root.name}"), "its cgroup was left behind"
        if confinement.uid is not None:
            assert not _pids_with_uid(confinement.uid), "a process of the submission is still running"


def _cgroups_named(name: str) -> list[Path]:
    return [p for p in Path("/sys/fs/cgroup").rglob(name)] if Path("/sys/fs/cgroup").is_dir() else []


def _pids_with_uid(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if fields["Uid"].split()[0] == str(uid) and not fields["State"].strip().startswith("Z"):
                found.append(int(entry.name))
    return found


def _attack_command(confinement: Confinement, source: str, *args: str, **options) -> list[str]:
    """The confined command running ``source`` with ``args``; ``options`` go to ``command``."""
    script = confinement.work / "attack.py"
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    return confinement.command([sys.executable, "-I", str(script), *map(str, args)], **options)


def run_attack(confinement: Confinement, source: str, *args: str) -> dict:
    """Run ``source`` confined; it prints one JSON line last: what it managed to do."""
    done = subprocess.run(
        _attack_command(confinement, source, *args), capture_output=True, text=True, env=ENV,
        stdin=subprocess.DEVNULL, timeout=ATTACK_TIMEOUT,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    assert lines, f"the attack printed nothing (exit {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(lines[-1])


def _package_state() -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(PACKAGE.rglob("*")) if p.is_file()
    }


# ---------------------------------------------------------------- no escape


ESCAPE = """
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
MS_REMOUNT, MS_BIND, MNT_DETACH = 32, 4096, 2
token, package, original = sys.argv[1], sys.argv[2], sys.argv[3]
result = {}

def attempt(name, action):
    try:
        action()
        result[name] = "succeeded"
    except OSError as error:
        result[name] = error.errno

def call(function, *args):
    if function(*args) != 0:
        raise OSError(ctypes.get_errno(), "")

def create(folder):
    os.close(os.open(os.path.join(folder, f"nma-canary-{token}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL))

def all_attempts(prefix):
    attempt(prefix + "remount / rw", lambda: call(libc.mount, None, b"/", None, MS_REMOUNT, None))
    attempt(prefix + "remount package rw", lambda: call(
        libc.mount, None, package.encode(), None, MS_REMOUNT | MS_BIND, None))
    attempt(prefix + "unmount /root", lambda: call(libc.umount2, b"/root", MNT_DETACH))
    attempt(prefix + "open package file for writing", lambda: os.close(
        os.open(os.path.join(package, "checks.py"), os.O_WRONLY | os.O_APPEND)))
    for name, folder in [("package", package), ("/var/tmp", "/var/tmp"), ("original folder", original),
                         ("/", "/"), ("/etc", "/etc")]:
        attempt(prefix + "create in " + name, lambda folder=folder: create(folder))
    attempt(prefix + "signal the grader", lambda: os.kill(int(sys.argv[4]), 0))

all_attempts("")
for name, folder in [("/tmp", "/tmp"), ("/dev/shm", "/dev/shm"), ("work", ".")]:
    attempt("create in private " + name, lambda folder=folder: create(folder))
# With a user and mount namespace of its own the submission holds every capability there:
attempt("unshare user+mount", lambda: call(libc.unshare, 0x10000000 | 0x00020000))
if result["unshare user+mount"] == "succeeded":
    all_attempts("in own namespace: ")
print(json.dumps(result))
"""


@needs_bwrap
def test_no_remount_no_write_outside_no_signal_even_with_its_own_user_namespace(confined, tmp_path):
    token = os.urandom(6).hex()
    original = Path(tempfile.mkdtemp(prefix=".confine-original-", dir=ROOT))  # outside /tmp, like a real one
    before = _package_state()
    try:
        result = run_attack(confined, ESCAPE, token, PACKAGE, original, os.getpid())
        escaped = {name: outcome for name, outcome in result.items() if outcome == "succeeded"}
        expected = {"create in private /tmp", "create in private /dev/shm", "create in private work"}
        assert set(escaped) - {"unshare user+mount"} == expected, result
        for folder in (
            PACKAGE,
            Path("/var/tmp"),
            original,
            Path("/"),
            Path("/etc"),
            Path("/tmp"),
            Path("/dev/shm"),
        ):
            assert not (folder / f"nma-canary-{token}").exists(), f"the submission wrote in {folder}"
        assert _package_state() == before, "the installed package changed"
        assert (confined.work / f"nma-canary-{token}").exists()  # the one place it may write
    finally:
        for folder in (PACKAGE, Path("/var/tmp"), Path("/"), Path("/etc"), Path("/tmp"), Path("/dev/shm")):
            (folder / f"nma-canary-{token}").unlink(missing_ok=True)
        remove_tree(original)


NETWORK = """
import json, socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3).close()
    print(json.dumps({"connected": True}))
except OSError as error:
    print(json.dumps({"connected": False, "error": str(error)}))
"""


@needs_bwrap
def test_no_network_even_to_the_loopback(confined):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=3).close()  # reachable from outside
        assert run_attack(confined, NETWORK, port)["connected"] is False


SECRETS = """
import json, os, sys
found = {}
for path in sys.argv[1:]:
    try:
        found[path] = open(path).read()
    except OSError as error:
        found[path] = f"error {error.errno}"
print(json.dumps(found))
"""


@needs_bwrap
def test_home_and_original_folder_are_hidden_and_the_control_shows_they_would_leak(monkeypatch):
    home = Path(tempfile.mkdtemp(prefix=".confine-home-", dir=ROOT))  # outside /tmp, readable by all
    original = Path(tempfile.mkdtemp(prefix=".confine-original-", dir=ROOT))
    secret = f"secret-{os.urandom(8).hex()}"
    try:
        for folder in (home, original):
            folder.chmod(0o755)
            (folder / "secret.txt").write_text(secret)
            (folder / "secret.txt").chmod(0o644)
        paths = [home / "secret.txt", original / "secret.txt"]
        outcomes = {}
        for label, hidden, home_variable in (("hidden", (original,), str(home)), ("control", (), "/")):
            monkeypatch.setenv("HOME", home_variable)
            root = tempfile.mkdtemp(prefix="nma-test-confine-")
            with Confinement(root, LIMITS, hidden=hidden) as confinement:
                outcomes[label] = run_attack(confinement, SECRETS, *paths)
        assert all(secret not in text for text in outcomes["hidden"].values()), outcomes["hidden"]
        assert all(text == secret for text in outcomes["control"].values()), "the control could not read"
    finally:
        remove_tree(home)
        remove_tree(original)


@needs_bwrap
def test_a_folder_hidden_inside_a_folder_shown_back_stays_hidden():
    top = Path(tempfile.mkdtemp(prefix=".confine-shown-", dir=ROOT))
    secret = f"secret-{os.urandom(8).hex()}"
    try:
        top.chmod(0o755)
        (top / "shown" / "original").mkdir(parents=True)
        for path, text in (
            (top / "shown" / "data.txt", "data"),
            (top / "shown" / "original" / "s.txt", secret),
        ):
            path.write_text(text)
            path.chmod(0o644)
        root = tempfile.mkdtemp(prefix="nma-test-confine-")
        hidden = (top, top / "shown" / "original")  # like a checkout in a home folder, submissions in it
        with Confinement(root, LIMITS, hidden=hidden, readable=(top / "shown",)) as confinement:
            found = run_attack(
                confinement, SECRETS, top / "shown" / "data.txt", top / "shown" / "original" / "s.txt"
            )
        assert found[str(top / "shown" / "data.txt")] == "data"
        assert secret not in found[str(top / "shown" / "original" / "s.txt")]
    finally:
        remove_tree(top)


@needs_bwrap
def test_another_submissions_grading_folder_is_out_of_sight():
    parent = Path(tempfile.mkdtemp(prefix=".confine-parent-", dir=ROOT))  # not /tmp, which is private
    answer = f"answer-{os.urandom(8).hex()}"
    try:
        parent.chmod(0o755)
        with (
            Confinement(tempfile.mkdtemp(dir=parent), LIMITS) as first,
            Confinement(tempfile.mkdtemp(dir=parent), LIMITS) as second,
        ):
            second.work.chmod(0o755)  # readable by anyone: only hiding can keep it from the first
            (second.work / "answer.txt").write_text(answer)
            (second.work / "answer.txt").chmod(0o644)
            found = run_attack(first, SECRETS, second.work / "answer.txt")
        assert answer not in found[str(second.work / "answer.txt")], found
    finally:
        remove_tree(parent)


# ---------------------------------------------------------------- bounds on the whole submission


FORK_LOOP = """
import json, os, sys, time
children = 0
for _ in range(1000):  # hard bound: never more than 1,000 processes
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    children += 1
print(json.dumps({"children": children}), flush=True)
time.sleep(60)  # still running: the grader must end it and all its children
"""


@needs_bounds
def test_a_fork_loop_stops_at_the_process_limit_and_close_ends_every_process(confined):
    attack = subprocess.Popen(
        _attack_command(confined, FORK_LOOP), stdout=subprocess.PIPE, text=True, env=ENV,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        children = json.loads(attack.stdout.readline())["children"]
        assert 0 < children < LIMITS.processes, children
        assert len(confined.processes()) > children
        assert confined.limits_hit()["processes"] > 0
        started = time.monotonic()
        confined.end_processes()
        assert attack.wait(timeout=20) != 0
        assert time.monotonic() - started < 15
        assert not confined.processes()
    finally:
        if attack.poll() is None:
            os.killpg(attack.pid, signal.SIGKILL)
        attack.stdout.close()


DISK = """
import errno, json, os
MIB = 2 ** 20
result = {"big": 0, "errors": []}
with open("big", "wb") as stream:
    for _ in range(200):  # hard bound: 200 MiB
        try:
            stream.write(b"x" * MIB)
            stream.flush()
            result["big"] += MIB
        except OSError as error:
            result["errors"].append(errno.errorcode[error.errno])
            break
total = result["big"]
for index in range(20):  # hard bound: 20 files of 15 MiB
    try:
        with open(f"part{index}", "wb") as stream:
            for _ in range(15):
                stream.write(b"x" * MIB)
                stream.flush()
                total += MIB
    except OSError as error:
        result["errors"].append(errno.errorcode[error.errno])
        break
result["total"] = total
files = 0
for index in range(20_000):  # hard bound: 20,000 empty files
    try:
        open(f"empty{index}", "w").close()
        files += 1
    except OSError as error:
        result["errors"].append(errno.errorcode[error.errno])
        break
result["files"] = files
print(json.dumps(result))
"""


@needs_bounds
def test_a_big_file_stops_at_the_file_limit_and_many_at_the_disk_limit(confined):
    result = run_attack(confined, DISK)
    assert result["big"] <= LIMITS.file_bytes and "EFBIG" in result["errors"], result
    assert result["total"] <= LIMITS.disk_bytes and result["errors"].count("ENOSPC") == 2, result
    assert result["files"] < LIMITS.files, result


SHM = """
import errno, json, os, sys
MIB = 2 ** 20
written, error_name = 0, ""
with open(f"/dev/shm/nma-fill-{sys.argv[1]}", "wb") as stream:
    for _ in range(300):  # hard bound: 300 MiB
        try:
            stream.write(b"x" * MIB)
            stream.flush()
            written += MIB
        except OSError as error:
            error_name = errno.errorcode[error.errno]
            break
print(json.dumps({"written": written, "error": error_name}))
"""


@needs_bounds
def test_dev_shm_is_private_and_counted_in_the_submission_disk_limit(confined):
    token = os.urandom(6).hex()
    result = run_attack(confined, SHM, token)
    assert result["error"] in ("ENOSPC", "EFBIG") and result["written"] <= LIMITS.disk_bytes, result
    assert not Path(f"/dev/shm/nma-fill-{token}").exists()


ALLOCATING_CHILDREN = """
import json, os
MIB = 2 ** 20
# The children hold what they allocated until every one of them has finished or died, so the
# survivors' memory is all held at once: a child that exits early cannot free room for the next.
release_read, release_write = os.pipe()
children, ready = [], []
for index in range(4):
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(release_write)
        held = []
        for step in range(10):  # hard bound: 160 MiB a child, 640 MiB in all
            held.append(b"x" * (16 * MIB))
            print(f"child {index} holds {16 * (step + 1)} MiB", flush=True)
        os.write(ready_write, b"1")
        os.read(release_read, 1)  # blocks until the parent closes the write end
        os._exit(0)
    os.close(ready_write)
    children.append(pid)
    ready.append(ready_read)
for ready_read in ready:
    os.read(ready_read, 1)  # b"1" once that child holds everything, b"" if it was killed
os.close(release_write)
statuses = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
print(json.dumps({"statuses": statuses}))
"""


@needs_bounds
def test_children_allocating_together_hit_one_memory_limit_for_the_whole_submission(confined):
    done = subprocess.run(
        _attack_command(confined, ALLOCATING_CHILDREN), capture_output=True, text=True, env=ENV,
        stdin=subprocess.DEVNULL, timeout=ATTACK_TIMEOUT,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    statuses = json.loads(lines[-1])["statuses"]
    held = {}
    for line in lines[:-1]:
        _, index, _, mib, _ = line.split()
        held[index] = int(mib)
    assert -signal.SIGKILL in statuses, (statuses, held)  # the memory limit's OOM kill
    survivors = sum(held.get(str(i), 0) for i, status in enumerate(statuses) if status == 0)
    assert survivors * MIB <= LIMITS.memory_bytes, (statuses, held)
    assert confined.limits_hit()["memory"] > 0


# ---------------------------------------------------------------- clean-up


DEEP_TREE = """
import json, os, sys
outside = sys.argv[1]
os.makedirs("deep", exist_ok=True)
os.chdir("deep")
for level in range(1500):  # hard bound: 1,500 levels
    os.mkdir("d")
    os.chdir("d")
    if level % 500 == 0:
        os.symlink(outside, "link-outside")
        open("file", "w").close()
os.symlink(outside, "link-outside")
os.chdir("/")
os.chmod(os.path.join(os.environ.get("WORK", "."), "deep"), 0)
print(json.dumps({"levels": 1500}))
"""


@needs_bwrap
def test_a_1500_deep_tree_with_links_outside_is_removed_without_following_them(confined):
    outside = Path(tempfile.mkdtemp(prefix=".confine-outside-", dir=ROOT))
    (outside / "keep.txt").write_text("keep")
    try:
        script = DEEP_TREE.replace('os.environ.get("WORK", ".")', repr(str(confined.work)))
        assert run_attack(confined, script, outside)["levels"] == 1500
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(200)  # a recursive removal could not go 1,500 deep
        try:
            confined.close()
        finally:
            sys.setrecursionlimit(limit)
        assert not confined.root.exists()
        assert (outside / "keep.txt").read_text() == "keep"
    finally:
        remove_tree(outside)


def test_remove_tree_is_iterative_follows_no_link_and_restores_taken_permissions(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    tree = tmp_path / "tree"
    folder = tree
    for level in range(1500):
        folder = folder / "d"
        if level % 300 == 0:
            folder.mkdir(parents=True)
            (folder / "to-outside").symlink_to(outside)
            (folder / "file").write_text("x")
    folder.mkdir(parents=True, exist_ok=True)
    (tree / "wide").mkdir()
    for index in range(300):
        (tree / "wide" / f"f{index}").mkdir()
    os.mkfifo(tree / "fifo")
    (tree / "d").chmod(0)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        remove_tree(tree)
    finally:
        sys.setrecursionlimit(limit)
    assert not tree.exists()
    assert (outside / "keep.txt").read_text() == "keep"
    remove_tree(tree)  # a missing path is not an error
    link = tmp_path / "link"
    link.symlink_to(outside)
    remove_tree(link)  # a link is removed, not its target
    assert not link.exists() and (outside / "keep.txt").exists()


# ---------------------------------------------------------------- what leaves the submission


def test_read_regular_file_refuses_links_fifos_large_files_and_linked_folders(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "result.json").write_text('{"a": 1}')
    assert read_regular_file(tmp_path, "out/result.json", 100) == b'{"a": 1}'
    secret = tmp_path / "secret"
    secret.write_text("secret")
    (tmp_path / "out" / "link.json").symlink_to(secret)
    os.mkfifo(tmp_path / "out" / "fifo.json")
    (tmp_path / "out" / "big.json").write_bytes(b"x" * 101)
    (tmp_path / "linked").symlink_to(tmp_path / "out")
    started = time.monotonic()
    for name in (
        "out/link.json",
        "out/fifo.json",
        "out/big.json",
        "linked/result.json",
        "../secret",
        "/etc/passwd",
    ):
        with pytest.raises(RejectedFile):
            read_regular_file(tmp_path, name, 100)
    assert time.monotonic() - started < 5  # the FIFO did not block
    with pytest.raises(FileNotFoundError):
        read_regular_file(tmp_path, "out/missing.json", 100)


def test_csv_cells_that_could_be_formulas_are_neutralised_and_survive_a_round_trip():
    hostile = ['=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)", "\tx", "\rx", "＝1+1"]
    for value in hostile:
        assert csv_cell(value) == "'" + value
    assert csv_cell("pass") == "pass" and csv_cell(-3) == -3 and csv_cell(1.5) == 1.5
    buffer = io.StringIO()
    csv.writer(buffer).writerow(csv_row(["file.ipynb", *hostile, 3]))
    cells = next(csv.reader(io.StringIO(buffer.getvalue())))
    assert cells[0] == "file.ipynb" and cells[-1] == "3"
    assert all(cell.startswith("'") for cell in cells[1:-1])


def test_an_excerpt_is_short_one_line_and_escaped():
    text = "=HYPERLINK(1)\x1b[31m red\x1b[0m\u202e\x00\nnext line\t" + "x" * 10_000_000
    shown = excerpt(text, 80)
    assert len(shown) <= 80 and shown.endswith("…")
    assert "\x1b" not in shown and "\n" not in shown and "\u202e" not in shown and "\x00" not in shown
    assert "\\u202e" in shown and "red" in shown and "next line" in shown
    assert excerpt("short\ntext") == "short text"


def test_an_output_budget_stops_past_its_cap_and_keeps_a_bounded_head():
    budget = OutputBudget(max_bytes=1000, keep_chars=50)
    message = {"msg_type": "stream", "content": {"name": "stdout", "text": "y" * 400}}
    assert budget.take(message) and budget.take(message)
    assert not budget.take(message) and budget.exceeded
    assert budget.head == "y" * 50 and "1000" in budget.note()
    display = {"content": {"data": {"text/plain": "z" * 2000}, "metadata": {}}}
    assert not OutputBudget(1000).take(display)


PUBLISHER = """
import sys, time, zmq
context = zmq.Context()
socket = context.socket(zmq.PUB)
socket.bind(sys.argv[1])
for _ in range(40):
    socket.send(b"before")
    time.sleep(0.05)
for _ in range(50):  # hard bound: 50 messages of 4 MiB, 200 MiB in all (the issue's case)
    socket.send(b"x" * (4 * 2 ** 20))
for _ in range(20):
    socket.send(b"after")
    time.sleep(0.05)
print('{"sent": true}')
"""


@needs_bwrap
def test_a_capped_zmq_context_never_delivers_an_oversized_message_from_a_confined_publisher(confined):
    import zmq

    address = f"ipc://{confined.work}/iopub"
    context = capped_zmq_context(max_message_bytes=64 * 1024, max_queued_messages=8)
    subscriber = context.socket(zmq.SUB)
    publisher = None
    try:
        subscriber.setsockopt(zmq.SUBSCRIBE, b"")
        subscriber.connect(address)  # zmq connects once the confined publisher has bound
        publisher = subprocess.Popen(
            _attack_command(confined, PUBLISHER, address), stdout=subprocess.DEVNULL, env=ENV,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        received = []
        deadline = time.monotonic() + ATTACK_TIMEOUT
        while publisher.poll() is None and time.monotonic() < deadline:
            while subscriber.poll(100):
                received.append(subscriber.recv())
        assert publisher.returncode == 0
        assert b"before" in received, "the ordinary messages did not arrive"
        assert max(map(len, received)) < 64 * 1024, "an oversized message reached the grader"
        assert sum(map(len, received)) < 2**20
    finally:
        if publisher is not None and publisher.poll() is None:
            publisher.kill()
        subscriber.close(linger=0)
        context.term()


# ---------------------------------------------------------------- what the report can say


def test_strict_refuses_without_the_sandbox_and_auto_says_what_is_missing():
    root = tempfile.mkdtemp(prefix="nma-test-confine-")
    with pytest.raises(BoundUnavailable, match="isolation"):
        Confinement(root, LIMITS, strict=True, bwrap="no-such-bwrap")
    assert not Path(root).exists()
    root = tempfile.mkdtemp(prefix="nma-test-confine-")
    with Confinement(root, LIMITS, bwrap="no-such-bwrap") as confinement:
        assert any(reason.startswith("isolation: bubblewrap (no-such-bwrap) is not installed")
                   for reason in confinement.bounds.missing)  # fmt: skip
        assert "bubblewrap" not in confinement.bounds.describe()
    assert not Path(root).exists()


@needs_bounds
def test_bounds_name_each_limit_for_the_csv(confined):
    bounds = confined.bounds
    assert bounds.whole_submission and not bounds.missing
    text = bounds.describe()
    assert "bubblewrap" in text and f"processes <= {LIMITS.processes}" in text
    assert "memory <= 256 MiB" in text and "disk <=" in text
    assert stat.S_ISDIR(os.stat(confined.work).st_mode)


HAND_OVER = """
import json, sys
secret_kind = open(sys.argv[1]).read()  # mode 0600, written by the grader: readable once handed over
open(sys.argv[2] + "/made-by-the-kernel", "w").write("x")
print(json.dumps({"read": secret_kind}))
"""


@needs_bwrap
def test_handed_over_files_and_writable_folders_inside_the_grading_folder_are_the_submissions(confined):
    kernel_folder = confined.root / "kernel"
    kernel_folder.mkdir()
    connection = kernel_folder / "connection.json"
    command = _attack_command(
        confined, HAND_OVER, connection, kernel_folder, writable=[kernel_folder], hand_over=[connection]
    )
    connection.write_text("connection")  # after command(), as jupyter_client writes it
    connection.chmod(0o600)
    done = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=ATTACK_TIMEOUT)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"read": "connection"}, done.stderr
    assert (kernel_folder / "made-by-the-kernel").read_text() == "x"


def test_paths_outside_the_grading_folder_are_refused(confined):
    with pytest.raises(ValueError, match="not inside the grading folder"):
        confined.command([sys.executable], writable=["/etc"])
    with pytest.raises(ValueError, match="not inside"):
        confined.hand_over(confined.root / ".." / "x")
