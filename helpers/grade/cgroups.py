"""A cgroup of its own for one submission: caps on all its processes together.

``Cgroup.create(name, CgroupLimits(...))`` makes a child of this process's own cgroup (so the machine's
limits still apply above it): cgroup v2 where the controllers are delegated to this process (else a
sibling of its cgroup, where it may write), else cgroup v1 where root may create one (pids, memory,
cpu hierarchies). The caller puts a process in it
by writing its pid to each of ``procs_files()`` (its children follow), and ends with ``kill()`` and
``remove()``. ``limits_hit()`` says whether the process or memory limit was reached.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Cgroup", "CgroupLimits"]


@dataclass(frozen=True)
class CgroupLimits:
    processes: int  # tasks: processes and threads
    memory_bytes: int  # resident memory, page cache, tmpfs and shared memory charged to it
    cpus: float  # CPU time per second of wall time, in cores


def _cgroup_mounts() -> tuple[tuple[Path, Path] | None, dict[str, Path]]:
    """This process's own cgroup folder in the v2 hierarchy (with that mount point), and in the v1
    hierarchy of each controller, from /proc/self/cgroup and /proc/self/mountinfo."""
    own = {}  # controller ("" for v2) -> our path in that hierarchy
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            own[controller.removeprefix("name=")] = path
    unified, v1 = None, {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        separator = fields.index("-")
        fs_type, mount_root, mount_point = fields[separator + 1], fields[3], fields[4]
        super_options = fields[separator + 3].split(",") if len(fields) > separator + 3 else []
        if fs_type == "cgroup2" and "" in own and own[""].startswith(mount_root):
            unified = (Path(mount_point + own[""][len(mount_root.rstrip("/")) :]), Path(mount_point))
        elif fs_type == "cgroup":
            for controller in ("pids", "memory", "cpu"):
                path = own.get(controller)
                if controller in super_options and path is not None and path.startswith(mount_root):
                    v1[controller] = Path(mount_point + path[len(mount_root.rstrip("/")) :])
    return unified, v1


def _write(path: Path, value: object) -> None:
    with open(path, "w") as stream:
        stream.write(str(value))


def _counts(path: Path, keys: tuple[str, ...]) -> int:
    """The sum of the counters ``keys`` in a flat-keyed cgroup file ("" for a file holding one number)."""
    try:
        text = path.read_text()
    except OSError:
        return 0
    if keys == ("",):
        return int(text.strip() or 0)
    values = dict(line.split()[:2] for line in text.splitlines() if len(line.split()) >= 2)
    return sum(int(values.get(key, 0)) for key in keys)


class Cgroup:
    """The submission's cgroup(s): one for v2, one per controller (pids, memory, cpu) for v1."""

    def __init__(self, version: int, folders: dict[str, Path]):
        self.version, self.folders = version, folders

    @classmethod
    def create(cls, name: str, limits: CgroupLimits) -> tuple[Cgroup | None, str]:
        """The cgroups with the limits written, or None and why none could be made."""
        try:
            unified, v1 = _cgroup_mounts()
        except (OSError, ValueError) as error:
            return None, f"the cgroup mounts could not be read ({error})"
        reasons = []
        if unified is not None:
            # Our own cgroup holds processes, so (v2's no-internal-process rule) it can only have
            # children with controllers if it has them enabled already; its parent, which gave it its
            # controllers, holds none and can take a sibling.
            own, mount_point = unified
            for parent in [own, *([own.parent] if own != mount_point else [])]:
                made = cls._create_v2(parent, name, limits, reasons)
                if made is not None:
                    return made, ""
        if v1:
            made = cls._create_v1(v1, name, limits, reasons)
            if made is not None:
                return made, ""
        reasons = reasons or ["no cgroup file system is mounted"]
        return None, "; ".join(reasons)

    @classmethod
    def _create_v2(cls, parent: Path, name: str, limits: CgroupLimits, reasons: list[str]) -> Cgroup | None:
        wanted = {"pids", "memory", "cpu"}
        try:
            available = set((parent / "cgroup.controllers").read_text().split())
            if not wanted <= available:
                reasons.append(
                    f"cgroup v2 at {parent} lacks the {' '.join(sorted(wanted - available))} "
                    f"controllers (not delegated to this process)"
                )
                return None
            enabled = set((parent / "cgroup.subtree_control").read_text().split())
            if not wanted <= enabled:
                _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(wanted - enabled)))
            folder = parent / name
            folder.mkdir()
        except OSError as error:
            reasons.append(
                f"cgroup v2 at {parent}: cannot create a child with its own limits ({error}; "
                f"run the grader in a delegated cgroup, e.g. systemd-run --scope -p Delegate=yes)"
            )
            return None
        made = cls(2, {"pids": folder, "memory": folder, "cpu": folder})
        try:
            _write(folder / "pids.max", limits.processes)
            _write(folder / "memory.max", limits.memory_bytes)
            if (folder / "memory.swap.max").exists():
                _write(folder / "memory.swap.max", 0)
            _write(folder / "cpu.max", f"{max(int(limits.cpus * 100_000), 1000)} 100000")
        except OSError as error:
            made.remove()
            reasons.append(f"cgroup v2 at {folder}: the limits could not be set ({error})")
            return None
        return made

    @classmethod
    def _create_v1(cls, parents: dict[str, Path], name: str, limits: CgroupLimits, reasons) -> Cgroup | None:
        missing = {"pids", "memory", "cpu"} - set(parents)
        if missing:
            reasons.append(f"cgroup v1 lacks the {' '.join(sorted(missing))} controllers")
            return None
        made = cls(1, {})
        try:
            for controller, parent in parents.items():
                (parent / name).mkdir()
                made.folders[controller] = parent / name
            _write(made.folders["pids"] / "pids.max", limits.processes)
            _write(made.folders["memory"] / "memory.limit_in_bytes", limits.memory_bytes)
            if (made.folders["memory"] / "memory.memsw.limit_in_bytes").exists():
                _write(made.folders["memory"] / "memory.memsw.limit_in_bytes", limits.memory_bytes)
            _write(made.folders["cpu"] / "cpu.cfs_period_us", 100_000)
            _write(made.folders["cpu"] / "cpu.cfs_quota_us", max(int(limits.cpus * 100_000), 1000))
        except OSError as error:
            made.remove()
            reasons.append(f"cgroup v1: cannot create a child with its own limits ({error}; run as root)")
            return None
        return made

    @classmethod
    def existing(cls, name: str) -> Cgroup | None:
        """The cgroups ``create(name, ...)`` made here and left (their maker died), or None."""
        try:
            unified, v1 = _cgroup_mounts()
        except (OSError, ValueError):
            return None
        if unified is not None:
            for parent in {unified[0], unified[0].parent}:
                if (parent / name).is_dir():
                    return cls(2, dict.fromkeys(("pids", "memory", "cpu"), parent / name))
        found = {controller: parent / name for controller, parent in v1.items() if (parent / name).is_dir()}
        return cls(1, found) if found else None

    def procs_files(self) -> list[str]:
        return sorted({str(folder / "cgroup.procs") for folder in self.folders.values()})

    def pids(self) -> set[int]:
        found = set()
        for procs in self.procs_files():
            try:
                found.update(int(pid) for pid in Path(procs).read_text().split())
            except OSError:
                continue
        return found

    def limits_hit(self) -> dict[str, int]:
        """How often each limit was reached: {"processes": forks refused, "memory": allocations
        refused or processes killed for memory (v1 kernels may count only the kills)}."""
        memory = self.folders.get("memory", Path("/nonexistent"))
        if self.version == 2:
            memory_counts = _counts(memory / "memory.events", ("max", "oom_kill"))
        else:
            memory_counts = _counts(memory / "memory.oom_control", ("oom_kill",))
            memory_counts += _counts(memory / "memory.failcnt", ("",))
        pids = self.folders.get("pids", Path("/nonexistent"))
        return {"processes": _counts(pids / "pids.events", ("max",)), "memory": memory_counts}

    def kill(self, patience: float = 10.0) -> None:
        """SIGKILL every task, repeated until none is left (pids.max bounds how many can appear)."""
        if self.version == 2 and (self.folders["pids"] / "cgroup.kill").exists():
            _write(self.folders["pids"] / "cgroup.kill", 1)  # v2 always has all three folders
        deadline = time.monotonic() + patience
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        for folder in set(self.folders.values()):
            for _ in range(100):  # a killed task leaves its cgroup a moment after the signal
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
