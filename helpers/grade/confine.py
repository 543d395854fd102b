"""Running an untrusted submission's processes confined, with bounds on the whole submission.

``Confinement(root, limits)`` prepares one submission's grading folder ``root`` and builds, with
``command(argv)``, the command line that runs ``argv`` confined:

- **No escape.** Bubblewrap with new pid, network, ipc, uts and cgroup namespaces (and a user
  namespace for a non-root grader), every capability dropped, no new privileges, its own session (no
  typing into the grader's terminal), ended with its parent. The file system is read-only; the home
  folders, ``/root``, ``/run``, ``/var/tmp``, ``/mnt``, ``/media``, ``/srv`` and the folders given as
  ``hidden`` (the submission's original folder) are replaced by empty read-only folders, and only the
  interpreter and this package are shown back in them; ``/tmp`` and ``/dev/shm`` are private. Only
  ``work`` (and folders passed as ``writable``) can be written.
- **A dedicated user when the grader is root.** Root is exempt from ``RLIMIT_NPROC`` and owns every
  root-owned file and socket; so a root grader runs the submission as a uid nobody else uses
  (``uid``), which owns nothing outside ``root`` and whose process count the kernel limits.
- **Bounds on the whole submission.** A cgroup (``helpers.grade.cgroups``: v2 where the machine delegates
  one, else v1 where root may create one) caps its tasks (``pids.max``), memory including tmpfs and
  shared memory, and CPU. Without one: ``RLIMIT_NPROC`` on the dedicated uid or, for a non-root
  grader, in the sandbox's own user namespace (Linux >= 5.14 counts processes per namespace), and a
  per-process ``RLIMIT_AS``. Disk: a root grader mounts ``root`` as a tmpfs of ``disk_bytes`` and
  ``files`` inodes holding ``work``, ``tmp`` and ``shm``; otherwise ``/tmp`` and ``/dev/shm`` are
  bubblewrap tmpfs of ``tmp_bytes``; always ``RLIMIT_FSIZE``.

``bounds`` (a ``Bounds``) says which of these hold; ``describe()`` is the text for the CSV's sandbox
column. ``strict=True`` raises ``BoundUnavailable`` naming each missing bound and how to get it;
otherwise the missing ones are listed in ``bounds.missing`` for the grader's warning.
``close()`` ends every process of the submission, removes its cgroup, unmounts the tmpfs and removes
``root`` (``helpers.grade.untrusted.remove_tree``: no recursion, no link followed).
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .cgroups import Cgroup, CgroupLimits
from .untrusted import remove_tree

__all__ = [
    "Limits",
    "Bounds",
    "BoundUnavailable",
    "Confinement",
    "release_abandoned",
    "bwrap_problem",
    "bwrap_arguments",
    "DEDICATED_UID_BASE",
    "REQUIRED_BOUNDS",
]

GIB, MIB = 2**30, 2**20
DEDICATED_UID_BASE = 1_900_000_000  # + (pid << 4 | counter): unique among live confinements
HIDDEN_FOLDERS = ("/root", "/home", "/run", "/var/tmp", "/mnt", "/media", "/srv")
HIDDEN_TMPFS_BYTES = 1 * MIB  # the empty stand-ins for hidden folders (read-only anyway)
CGROUP_PREFIX = "nma-grade-"

# Run twice. Outside, as the grader, before bubblewrap: join the cgroups, hand the writable paths to
# the dedicated uid, set the file and memory rlimits. Inside, last before the submission's command:
# set RLIMIT_NPROC, become the dedicated uid (losing the capabilities bubblewrap kept for this), enter
# the work folder. Without bubblewrap one run does both.
LAUNCHER = """\
import ctypes, json, os, resource, sys
config = json.loads(sys.argv[1])
for procs in config["cgroups"]:
    with open(procs, "w") as stream:
        stream.write(str(os.getpid()))
for path in config["hand_over"]:
    os.chown(path, *config["owner"], follow_symlinks=False)
uid, gid = config["uid"], config["gid"]
for name, value in config["rlimits"].items():
    resource.setrlimit(getattr(resource, name), (value, value))
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: setuid and file-capability programs stay inert
if uid is not None:
    for capability in range(64):
        libc.prctl(24, capability, 0, 0, 0)  # PR_CAPBSET_DROP (needs CAP_SETPCAP; else no-op)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
if config["chdir"]:
    os.chdir(config["chdir"])
os.execv(sys.argv[2], sys.argv[2:])
"""


@dataclass(frozen=True)
class Limits:
    """What one submission may use, all its processes together (sizes in bytes)."""

    processes: int = 256  # tasks: processes and threads (a kernel has about 10 threads)
    memory_bytes: int = 4 * GIB  # resident memory, page cache, tmpfs and shared memory
    cpus: float = 1.0  # CPU time per second of wall time, in cores
    disk_bytes: int = 1 * GIB  # the work folder, /tmp and /dev/shm together (root: one tmpfs)
    files: int = 50_000  # inodes in that tmpfs (a million empty files cost memory, not bytes)
    file_bytes: int = 512 * MIB  # any one file (RLIMIT_FSIZE)
    tmp_bytes: int = 256 * MIB  # /tmp and /dev/shm each, where they cannot share the tmpfs above


@dataclass(frozen=True)
class Bounds:
    """Which bounds hold for one confined submission: each a short phrase, "" where it does not hold."""

    isolation: str  # e.g. "bubblewrap (namespaces, no capabilities, read-only system), uid 1900012345"
    processes: str
    memory: str
    disk: str
    cpu: str
    missing: tuple[str, ...] = ()  # the promised bounds that could not be had, each with the reason

    @property
    def whole_submission(self) -> bool:
        """True when processes, memory and disk are all bounded for the submission as a whole."""
        return all((self.processes, self.memory, self.disk))

    def describe(self) -> str:
        """One line for the CSV's sandbox column, e.g. "bubblewrap (...), uid 1900012345; processes
        <= 256 (cgroup v1); memory ..."; "not bounded" where a bound does not hold."""
        parts = [self.isolation or "no sandbox"]
        for name in ("processes", "memory", "disk", "cpu"):
            parts.append(f"{name} {getattr(self, name) or 'not bounded'}")
        return "; ".join(parts)


class BoundUnavailable(RuntimeError):
    """A promised bound cannot be had on this machine; the message names each and how to get it."""


# ---------------------------------------------------------------- bubblewrap


def _bwrap_options(privileged: bool) -> list[str]:
    """Namespaces, no capabilities, own session, ended with its parent. Run by root, bubblewrap keeps
    only the capability to change uid, which the inner launcher uses to become the dedicated uid
    (dropping it with all others); run by another user, it works in a user namespace of its own."""
    if privileged:
        return [
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
            "--cap-add", "CAP_SETPCAP", "--new-session", "--die-with-parent",
        ]  # fmt: skip
    return [
        "--unshare-user", "--disable-userns", "--unshare-pid", "--unshare-net", "--unshare-ipc",
        "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL", "--new-session", "--die-with-parent",
    ]  # fmt: skip


@functools.cache
def bwrap_problem(bwrap: str = "bwrap") -> str | None:
    """None when ``bwrap`` runs a confined process here with the options ``Confinement`` uses (a
    private ``--size`` tmpfs included, bubblewrap >= 0.5; as the dedicated uid for a root grader),
    else why not and what to do."""
    executable = shutil.which(bwrap)
    if executable is None:
        return f"bubblewrap ({bwrap}) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    privileged = os.geteuid() == 0
    argv = bwrap_arguments(executable, hidden=_hidden_folders(()), tmp_bytes=MIB, privileged=privileged)
    if privileged:
        argv += launcher_command({"uid": _dedicated_uid(), "gid": _dedicated_uid()})
    argv += [sys.executable, "-I", "-S", "-c", "pass"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not be started ({error})"
    if done.returncode != 0:
        detail = " ".join((done.stderr or done.stdout).split())[-300:]
        return f"bubblewrap does not work here (exit {done.returncode}: {detail})"
    return None


def launcher_command(config: dict) -> list[str]:
    """The launcher's command line (``LAUNCHER``); the command it runs follows it. ``config`` keys:
    cgroups (cgroup.procs files to join), hand_over (paths chowned to owner, [uid, gid]), rlimits
    ({"RLIMIT_...": value}), uid and gid (None: keep the current ones), chdir (a folder to change to
    last, as that uid: bubblewrap without capabilities could not enter a folder mode 0700)."""
    full = {"cgroups": [], "hand_over": [], "owner": None, "rlimits": {}, "uid": None, "gid": None}
    full.update({"chdir": None, **config})
    return [sys.executable, "-I", "-S", "-c", LAUNCHER, json.dumps(full)]


def bwrap_arguments(
    bwrap: str,
    *,
    hidden: list[Path],
    tmp_bytes: int,
    privileged: bool,
    work: Path | None = None,
    writable: list[str] = (),
    readable: tuple[str | os.PathLike, ...] = (),
    tmp: Path | None = None,
    shm: Path | None = None,
) -> list[str]:
    """Bubblewrap's command line up to ``--``: the system read-only, ``hidden`` folders empty and
    read-only (the interpreter and this package shown back), ``tmp``/``shm`` bound as ``/tmp`` and
    ``/dev/shm`` (or bubblewrap tmpfs of ``tmp_bytes`` where None), ``work`` and ``writable`` bound
    read-write, ``readable`` shown read-only even inside a hidden folder. ``privileged``: bubblewrap
    runs as root (see ``_bwrap_options``), so it reaches folders the dedicated uid could not search
    (a pyenv interpreter under ``/root``) before the command becomes that uid."""
    args = [bwrap, *_bwrap_options(privileged), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    covered = [*hidden, Path("/tmp")]
    shown = [*_exposed_paths(), *(Path(p).absolute() for p in readable)]
    exposed = [p for p in shown if p.is_dir() and any(p.is_relative_to(f) for f in covered)]
    for host, inside in ((tmp, "/tmp"), (shm, "/dev/shm")):
        args += ["--bind", str(host), inside] if host else ["--size", str(tmp_bytes), "--tmpfs", inside]
    # Outer folders first, each level over the one around it (the interpreter shown back inside /root,
    # submissions hidden inside a checkout under /tmp, ...).
    made: set[Path] = set()
    for path, is_hidden in sorted([(f, True) for f in hidden] + [(p, False) for p in exposed],
                                  key=lambda item: len(item[0].parts)):
        if is_hidden:
            args += ["--size", str(HIDDEN_TMPFS_BYTES), "--tmpfs", str(path)]
        else:
            args += [*_searchable_parents(path, covered, made), "--ro-bind", str(path), str(path)]
    for folder in [*([work] if work else []), *map(Path, writable)]:
        args += [*_searchable_parents(folder, covered, made), "--bind", str(folder), str(folder)]
    for folder in hidden:
        args += ["--remount-ro", str(folder)]
    # A Jupyter kernel watches JPY_PARENT_PID, a pid of the grader's namespace, not of the sandbox's.
    return [*args, "--remount-ro", "/dev", "--unsetenv", "JPY_PARENT_PID", "--chdir", "/", "--"]


@functools.cache
def _uid_runs_python(uid: int) -> bool:
    """Whether ``uid`` can start this interpreter outside any sandbox."""
    argv = [*launcher_command({"uid": uid, "gid": uid}), sys.executable, "-I", "-S", "-c", "pass"]
    try:
        return subprocess.run(argv, capture_output=True, timeout=30, stdin=subprocess.DEVNULL).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _searchable_parents(path: Path, covered: list[Path], made: set[Path]) -> list[str]:
    """``--dir`` arguments for the folders between a covering tmpfs and ``path``, mode 0755: bubblewrap
    would copy the originals' modes (``/root/.pyenv`` is 0700), which the dedicated uid cannot search."""
    top = max(
        (folder for folder in covered if path.is_relative_to(folder)),
        key=lambda f: len(f.parts),
        default=None,
    )
    args = []
    if top is not None:
        for parent in reversed(path.parents):
            if parent.is_relative_to(top) and parent != top and parent not in made:
                made.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _size(count: int) -> str:
    return f"{count / GIB:g} GiB" if count >= GIB else f"{count / MIB:g} MiB"


_CONFINEMENTS = itertools.count()


def _dedicated_uid() -> int:
    """A uid no other live confinement uses: this process's pid and a counter (16 live ones per
    process); below 2**31 for pids up to 2**22, Linux's largest."""
    return DEDICATED_UID_BASE + (os.getpid() << 4 | next(_CONFINEMENTS) & 15)


def _exposed_paths() -> list[Path]:
    """What the kernel must read even inside a hidden folder: the interpreter, its environment, this
    package (as given and resolved, so a venv reached through a link works)."""
    package_parent = Path(__file__).resolve().parents[2]
    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).parent, package_parent}
    return sorted({p for path in paths for p in (path.absolute(), path.resolve())})


def _hidden_folders(extra: tuple[str | os.PathLike, ...]) -> list[Path]:
    home = os.environ.get("HOME", "")
    candidates = [*HIDDEN_FOLDERS, *([home] if home not in ("", "/") else []), *extra]
    exposed = _exposed_paths()
    folders = []
    for candidate in candidates:
        path = Path(candidate).resolve()  # a link to a folder is hidden where it leads
        # The sandbox's /tmp and /dev/shm are its own, but a checkout shown back there needs hiding in.
        private = (path.is_relative_to("/tmp") or path.is_relative_to("/dev/shm")) and not any(
            path.is_relative_to(shown) for shown in exposed
        )
        if path != Path("/") and not private and path.is_dir() and path not in folders:
            folders.append(path)
    return sorted(folders)


# ---------------------------------------------------------------- the tmpfs of a root grader

_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MNT_DETACH = 2, 4, 8, 2


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _mount_tmpfs(target: Path, size_bytes: int, inodes: int) -> None:
    options = f"size={size_bytes},nr_inodes={inodes},mode=0755".encode()
    flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    if _libc().mount(b"nma-grade", os.fsencode(target), b"tmpfs", flags, options) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(target))


def _unmount(target: Path) -> None:
    if _libc().umount2(os.fsencode(target), _MNT_DETACH) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(target))


def _namespaces_count_processes() -> bool:
    """Linux >= 5.14 counts RLIMIT_NPROC per user namespace, so a limit set inside the sandbox's own
    namespace bounds the submission alone, not every process of the grader's user."""
    try:
        major, minor = (int(part) for part in platform.release().split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 14)


def _pids_of_uid(uid: int) -> set[int]:
    """Processes whose real uid is ``uid``, from /proc (the grader's pid namespace sees them all)."""
    found = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                status = Path(entry.path, "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            zombie = fields.get("State", "").strip().startswith("Z")
            if fields.get("Uid", "").split()[:1] == [str(uid)] and not zombie:
                found.add(int(entry.name))
    return found


def _kill_uid(uid: int, patience: float = 10.0) -> None:
    """SIGKILL every process of ``uid``: a helper becomes that uid and sends kill(-1), which reaches
    exactly the processes it may signal (its own uid's), repeated until none is left."""
    code = (
        f"import os\nos.setgroups([])\nos.setresgid({uid}, {uid}, {uid})\nos.setresuid({uid}, {uid}, {uid})\n"
    )
    code += "try:\n    os.kill(-1, 9)\nexcept ProcessLookupError:\n    pass\n"
    deadline = time.monotonic() + patience
    while _pids_of_uid(uid) and time.monotonic() < deadline:
        subprocess.run([sys.executable, "-I", "-S", "-c", code], check=False, timeout=patience)
        time.sleep(0.02)


REQUIRED_BOUNDS = ("isolation", "processes", "memory", "disk")  # what strict mode refuses to run without


class Confinement:
    """One submission's grading folder and the command that runs its processes confined.

    ``root``: an empty folder the caller made for this submission (``tempfile.mkdtemp``); a root grader
    mounts a tmpfs of ``limits.disk_bytes`` on it. Inside: ``work`` (the submission's writable folder,
    its cwd), ``tmp`` and ``shm`` (its /tmp and /dev/shm when they share that tmpfs). ``hidden``: more
    folders to hide besides the home folders (the submission's original folder); ``readable``: folders
    shown read-only even inside a hidden one (besides the interpreter and this package). ``limits``:
    ``Limits()`` when None. ``sandbox=False`` runs without bubblewrap (cgroup, uid and rlimits still
    apply). Use as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        limits: Limits | None = None,
        *,
        strict: bool = False,
        hidden: tuple[str | os.PathLike, ...] = (),
        readable: tuple[str | os.PathLike, ...] = (),
        bwrap: str = "bwrap",
        sandbox: bool = True,
    ):
        self.root = Path(root).absolute()
        self.work, self.tmp, self.shm = self.root / "work", self.root / "tmp", self.root / "shm"
        self.limits = limits or Limits()
        self._readable = tuple(readable)
        self.uid = self.gid = _dedicated_uid() if os.geteuid() == 0 else None
        self.bwrap = shutil.which(bwrap) if sandbox else None
        # The folder holding all grading folders is hidden too: others' work folders stay out of sight.
        self._hidden = _hidden_folders((*hidden, self.root.parent))
        self._cgroups: Cgroup | None = None
        self._mounted = self._closed = False
        try:
            self.bounds = self._set_up(bwrap, sandbox, strict)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Confinement:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -------------------------------------------------------------- setting up

    def _set_up(self, bwrap: str, sandbox: bool, strict: bool) -> Bounds:
        missing = []
        problem = bwrap_problem(bwrap) if sandbox else "the sandbox was turned off"
        if problem:
            self.bwrap = None
            missing.append(f"isolation: {problem}")
        if self.uid is not None and not self.bwrap and not _uid_runs_python(self.uid):
            # Without bubblewrap to show it the interpreter, a folder on its path (/root) may be closed.
            self.uid = self.gid = None
            missing.append(f"isolation: another uid cannot run {sys.executable}; the submission runs as root")
        isolation = ", ".join(
            filter(
                None,
                [
                    "bubblewrap (namespaces, no capabilities, read-only system)" if self.bwrap else "",
                    f"uid {self.uid}" if self.uid is not None else "",
                ],
            )
        )
        disk = self._set_up_folders(missing)
        self._cgroups, cgroup_problem = Cgroup.create(
            f"{CGROUP_PREFIX}{self.root.name}",
            CgroupLimits(self.limits.processes, self.limits.memory_bytes, self.limits.cpus),
        )
        version = f"cgroup v{self._cgroups.version}" if self._cgroups else ""
        processes = memory = cpu = ""
        if self._cgroups:
            processes = f"<= {self.limits.processes} ({version})"
            memory = f"<= {_size(self.limits.memory_bytes)} incl. tmpfs and shared memory ({version})"
            cpu = f"<= {self.limits.cpus:g} cores ({version})"
        else:
            if self.uid is not None:
                processes = f"<= {self.limits.processes} (RLIMIT_NPROC of uid {self.uid})"
            elif self.bwrap and _namespaces_count_processes():
                processes = f"<= {self.limits.processes} (RLIMIT_NPROC in its user namespace)"
            else:
                missing.append(f"processes: no cgroup ({cgroup_problem}) and no uid or namespace of its own")
            missing.append(
                f"memory: only {_size(self.limits.memory_bytes)} per process (RLIMIT_AS): "
                f"no cgroup ({cgroup_problem})"
            )
        bounds = Bounds(isolation, processes, memory, disk, cpu, tuple(missing))
        refused = [reason for reason in missing if reason.split(":")[0] in REQUIRED_BOUNDS]
        if strict and refused:
            raise BoundUnavailable("cannot grade confined here: " + "; ".join(refused))
        return bounds

    def _set_up_folders(self, missing: list[str]) -> str:
        """Make work, tmp and shm; on a tmpfs of their own for a root grader. Returns the disk bound."""
        disk = ""
        if os.geteuid() == 0:
            try:
                _mount_tmpfs(self.root, self.limits.disk_bytes, self.limits.files)
                self._mounted = True
                disk = (
                    f"<= {_size(self.limits.disk_bytes)} and {self.limits.files} files for work, "
                    f"/tmp and /dev/shm (tmpfs); <= {_size(self.limits.file_bytes)} a file"
                )
            except OSError as error:
                missing.append(f"disk: the tmpfs could not be mounted ({error})")
        else:
            missing.append(
                "disk: the work folder is on disk (a size-limited tmpfs needs a root grader); "
                f"only each file is limited, to {_size(self.limits.file_bytes)}"
            )
        for folder in (self.work, self.tmp, self.shm):
            folder.mkdir(mode=0o700)
            self.hand_over(folder)
        # Sticky and open, as on any system: the capability-less launcher must search them (a venv in /tmp).
        for folder in (self.tmp, self.shm):
            os.chmod(folder, 0o1777, follow_symlinks=False)
        return disk

    # -------------------------------------------------------------- running

    def hand_over(self, path: str | os.PathLike) -> None:
        """Make ``path`` (inside ``root``) the submission's, so it can write there; never follows a link.
        Nothing to do for a non-root grader, whose uid the submission shares."""
        path = self._inside(path)
        if self.uid is not None:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)

    def _inside(self, path: str | os.PathLike) -> Path:
        path = Path(path).absolute()
        if not path.is_relative_to(self.root) or ".." in path.parts:
            raise ValueError(
                f"{path} is not inside the grading folder {self.root}: the bounds would not cover it"
            )
        return path

    def command(
        self,
        argv: list[str],
        *,
        writable: tuple[str | os.PathLike, ...] = (),
        hand_over: tuple[str | os.PathLike, ...] = (),
    ) -> list[str]:
        """The command line that runs ``argv`` (``argv[0]`` an absolute path) confined, in ``work``.

        ``writable``: more folders inside ``root`` the process may write (e.g. the kernel's connection
        folder); ``hand_over``: files inside ``root`` made the submission's when it starts (e.g. the
        connection file, written after this call). The environment is the caller's (pass a small one).
        """
        extra = [str(self._inside(path)) for path in writable]
        rlimits = {"RLIMIT_FSIZE": self.limits.file_bytes, "RLIMIT_CORE": 0}
        if self._cgroups is None:
            rlimits["RLIMIT_AS"] = self.limits.memory_bytes
        outer = {
            "cgroups": self._cgroups.procs_files() if self._cgroups else [],
            "hand_over": [*extra, *(str(self._inside(path)) for path in hand_over)] if self.uid else [],
            "owner": [self.uid, self.gid],
            "rlimits": rlimits,
        }
        # The process limit and the uid change come last, in the sandbox when there is one: root is
        # exempt from RLIMIT_NPROC, and a non-root grader's limit must count its own namespace only.
        inner = {
            "uid": self.uid,
            "gid": self.gid,
            "rlimits": {"RLIMIT_NPROC": self.limits.processes},
            "chdir": str(self.work),
        }
        if self.uid is None and not (self.bwrap and _namespaces_count_processes()):
            inner["rlimits"] = {}
        if not self.bwrap:
            return [*launcher_command({**outer, **inner, "rlimits": {**rlimits, **inner["rlimits"]}}), *argv]
        shared = {"tmp": self.tmp, "shm": self.shm} if self._mounted else {}
        sandbox = bwrap_arguments(
            self.bwrap,
            hidden=self._hidden,
            work=self.work,
            writable=extra,
            readable=self._readable,
            tmp_bytes=self.limits.tmp_bytes,
            privileged=self.uid is not None,
            **shared,
        )
        return [*launcher_command(outer), *sandbox, *launcher_command(inner), *argv]

    # -------------------------------------------------------------- observing and ending

    def processes(self) -> set[int]:
        """The pids of the submission's processes still alive (its cgroup's, or its uid's)."""
        found = self._cgroups.pids() if self._cgroups else set()
        return found | (_pids_of_uid(self.uid) if self.uid is not None else set())

    def limits_hit(self) -> dict[str, int]:
        """How often the cgroup's process and memory limits were reached ({} without a cgroup)."""
        return self._cgroups.limits_hit() if self._cgroups else {}

    def end_processes(self) -> None:
        """SIGKILL every process of the submission (bubblewrap's pid namespace also ends with it)."""
        if self._cgroups is not None:
            self._cgroups.kill()
        if self.uid is not None:
            _kill_uid(self.uid)

    def close(self) -> None:
        """End the processes, remove the cgroup, unmount the tmpfs, remove ``root``. Idempotent; every
        step is tried even when one fails, and the first failure (OSError) is raised at the end."""
        if self._closed:
            return
        self._closed = True
        failures = []
        for step in (self.end_processes, self._remove_cgroup, self._unmount, lambda: remove_tree(self.root)):
            try:
                step()
            except OSError as error:
                failures.append(error)
        if failures:
            raise failures[0]

    def _remove_cgroup(self) -> None:
        if self._cgroups is not None:
            self._cgroups.remove()
            self._cgroups = None

    def _unmount(self) -> None:
        if self._mounted:
            _unmount(self.root)
            self._mounted = False


def release_abandoned(root: str | os.PathLike) -> None:
    """Undo what a ``Confinement`` of ``root`` left when the process that made it died before
    ``close()``: its cgroup's processes and the cgroup, the tmpfs on ``root``, ``root`` itself (its
    bubblewrap, ended with its parent, took the pid namespace with it)."""
    root = Path(root).absolute()
    cgroup = Cgroup.existing(f"{CGROUP_PREFIX}{root.name}")
    if cgroup is not None:
        cgroup.kill()
        cgroup.remove()
    if os.path.ismount(root):
        _unmount(root)
    remove_tree(root)
