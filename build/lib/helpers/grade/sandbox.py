"""Where a submission's kernel runs: its own folder, bubblewrap around it, its limits and environment.

- :func:`make_workspace` / :func:`remove_workspace`: a temporary folder per notebook (``tmp`` for the
  sandbox's private /tmp, ``work`` holding the notebook and the ordinary files next to it).
- :func:`bwrap_argv`, :func:`probe_bwrap`: bubblewrap with no network, the file system read-only
  except the workspace, its own process, IPC and host-name namespaces, killed with the grader.
- :func:`kernel_argv`: the kernel's command, started with an address-space limit.
- :func:`kernel_env`: a small environment of its own; none of the grader's variables reach it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from helpers.settings import ENV_CACHE, ENV_PROGRESS, ENV_SOURCE

__all__ = [
    "BWRAP",
    "KERNEL_LAUNCHER",
    "PACKAGE_PARENT",
    "MAX_SIBLING_BYTES",
    "make_workspace",
    "remove_workspace",
    "bwrap_argv",
    "probe_bwrap",
    "kernel_argv",
    "kernel_env",
]

BWRAP = "bwrap"
#: The folder holding the helpers package, put on the kernel's path.
PACKAGE_PARENT = Path(__file__).resolve().parents[2]
MAX_SIBLING_BYTES = 50 * 1024 * 1024  # files next to a notebook copied with it, in total
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


def make_workspace(notebook: Path) -> Path:
    """A new temporary folder: ``tmp`` (empty) and ``work`` with the notebook and its siblings.

    Siblings are the ordinary files next to the notebook (not other notebooks, folders or links), up
    to MAX_SIBLING_BYTES in all. Returns the folder; remove it with :func:`remove_workspace`.
    """
    root = Path(tempfile.mkdtemp(prefix="nma-grade-"))
    try:
        (root / "tmp").mkdir()
        work = root / "work"
        work.mkdir()
        shutil.copyfile(notebook, work / notebook.name)
        budget = MAX_SIBLING_BYTES
        for sibling in sorted(notebook.parent.iterdir()):
            if sibling.suffix == ".ipynb" or sibling.is_symlink() or not sibling.is_file():
                continue
            size = sibling.stat().st_size
            if size <= budget:
                try:
                    shutil.copyfile(sibling, work / sibling.name)
                    budget -= size
                except OSError:
                    continue
    except BaseException:
        remove_workspace(root)
        raise
    return root


def remove_workspace(root: Path) -> None:
    """Delete a workspace, also when the notebook took its own permissions away from parts of it."""
    for folder, subfolders, _ in os.walk(root):
        for name in subfolders:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                try:
                    os.chmod(path, 0o700)
                except OSError:
                    pass
    shutil.rmtree(root, ignore_errors=True)


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


def kernel_argv(bwrap: str | None, root: Path, work: Path, kernel_dir: Path, memory_bytes: int) -> list[str]:
    """The kernel spec's argv: ipykernel under the address-space limit, inside bubblewrap if given.

    ``{connection_file}`` is left for jupyter_client to fill in.
    """
    argv = [sys.executable, "-c", KERNEL_LAUNCHER, str(memory_bytes), "-f", "{connection_file}"]
    argv += ["--HistoryManager.enabled=False"]
    if bwrap:
        argv = bwrap_argv(bwrap, root, work, kernel_dir) + argv
    return argv


def kernel_env(work: Path) -> dict[str, str]:
    """A small environment: nothing of the grader's own (tokens, credentials) reaches the notebook."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(PACKAGE_PARENT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(work / ".matplotlib"),
        "IPYTHONDIR": str(work / ".ipython"),
        ENV_SOURCE: "synthetic",
        ENV_PROGRESS: "0",
        ENV_CACHE: str(work / ".cache"),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
