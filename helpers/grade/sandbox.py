"""Where a submission's kernel runs: a confined workspace per notebook, its command and environment.

- :func:`probe`: whether the sandbox and the bounds promised for the whole submission can be had
  here (``--sandbox bwrap`` refuses to run without them; ``auto`` warns and goes on).
- :class:`Workspace`: one notebook's grading folder under a :class:`~helpers.grade.confine.Confinement`
  (bubblewrap, a dedicated uid for a root grader, a cgroup or rlimits, a size-limited tmpfs), with
  the notebook and the ordinary files next to it copied into its ``work`` folder.
- :func:`kernel_command`: ipykernel's command line, confined, with jupyter_client's
  ``{connection_file}`` left for it to fill in.
- :func:`kernel_env`: a small environment of its own; none of the grader's variables reach it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from helpers.settings import ENV_CACHE, ENV_PROGRESS, ENV_SOURCE

from .confine import Confinement, Limits
from .plan import MAX_NOTEBOOK_BYTES
from .untrusted import RejectedFile, read_regular_file, remove_tree

__all__ = [
    "BWRAP",
    "KERNEL_LAUNCHER",
    "PACKAGE_PARENT",
    "MAX_SIBLING_BYTES",
    "probe",
    "Workspace",
    "kernel_command",
    "kernel_env",
]

BWRAP = "bwrap"
#: The folder holding the helpers package, put on the kernel's path.
PACKAGE_PARENT = Path(__file__).resolve().parents[2]
MAX_SIBLING_BYTES = 50 * 1024 * 1024  # files next to a notebook copied with it, in total
MAX_SIBLINGS = 200
# The kernel's own start: the notebook's folder is not put first on its path (a sibling named like
# a standard module would shadow it before the notebook even ran); bounds come from the Confinement.
KERNEL_LAUNCHER = (
    "import sys\n"
    "if sys.path and sys.path[0] == '':\n"
    "    del sys.path[0]\n"
    "from ipykernel import kernelapp\n"
    "kernelapp.launch_new_instance()\n"
)


def probe(bwrap: str | None, limits: Limits, strict: bool) -> tuple[str, list[str]]:
    """(what one notebook's sandbox column will say, the promised bounds missing here, each with why).

    ``bwrap`` None: no sandbox asked for. ``strict``: raise BoundUnavailable instead of listing what
    is missing (``--sandbox bwrap``). A throw-away Confinement is set up and closed to find out.
    """
    root = tempfile.mkdtemp(prefix="nma-grade-probe-")
    try:
        confinement = Confinement(
            root, limits, strict=strict, bwrap=bwrap or BWRAP, sandbox=bwrap is not None
        )
    except BaseException:
        remove_tree(root)
        raise
    confinement.close()
    return confinement.bounds.describe(), list(confinement.bounds.missing)


class Workspace:
    """One notebook's confined grading folder: ``confinement.work`` holds the notebook and its siblings.

    Args:
        notebook: the submitted notebook, at most MAX_NOTEBOOK_BYTES (its folder is hidden from the
            kernel).
        parent: the folder the grading folder is made in (hidden from the kernel, and so is its own
            parent, which holds the other workers' folders).
        limits, bwrap, strict: as for :class:`~helpers.grade.confine.Confinement` (``bwrap`` None: no
            sandbox).

    Siblings are the ordinary files next to the notebook (not other notebooks, folders, links or
    anything but regular files), up to MAX_SIBLINGS files and MAX_SIBLING_BYTES in all.
    ``close()`` ends the kernel's processes and removes everything (idempotent).
    """

    def __init__(self, notebook: Path, parent: Path, limits: Limits, bwrap: str | None, strict: bool):
        self.root = Path(tempfile.mkdtemp(prefix="nma-grade-", dir=parent))
        try:
            self.confinement = Confinement(
                self.root,
                limits,
                strict=strict,
                hidden=(notebook.parent, parent.parent),  # other workers' folders too
                bwrap=bwrap or BWRAP,
                sandbox=bwrap is not None,
            )
        except BaseException:
            remove_tree(self.root)
            raise
        self.work = self.confinement.work
        try:
            self._copy(notebook)
        except BaseException:
            self.close()
            raise

    def _copy(self, notebook: Path) -> None:
        self._write(notebook.name, read_regular_file(notebook.parent, notebook.name, MAX_NOTEBOOK_BYTES))
        budget = MAX_SIBLING_BYTES
        siblings = sorted(name for name in os.listdir(notebook.parent) if not name.endswith(".ipynb"))
        for name in siblings[:MAX_SIBLINGS]:
            try:
                data = read_regular_file(notebook.parent, name, budget)
            except (RejectedFile, OSError):
                continue  # a folder, a link, a FIFO, or more than is left of the budget: not copied
            self._write(name, data)
            budget -= len(data)

    def _write(self, name: str, data: bytes) -> None:
        target = self.work / name
        target.write_bytes(data)
        self.confinement.hand_over(target)

    def exchange(self, name: str, inputs: dict[str, bytes]) -> None:
        """``work/name/in`` holding ``inputs`` (file name -> bytes) and an empty ``work/name/out`` the
        submission may write. Made through folder handles, never by path: the submission owns
        ``work`` and could swap a folder for a link to elsewhere while this runs."""
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        opened = [os.open(self.work, flags)]
        try:
            os.mkdir(name, 0o755, dir_fd=opened[0])
            opened.append(os.open(name, flags, dir_fd=opened[0]))
            for sub in ("in", "out"):
                os.mkdir(sub, 0o755, dir_fd=opened[1])
                opened.append(os.open(sub, flags, dir_fd=opened[1]))
            for file_name, data in inputs.items():
                new_file = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                fd = os.open(file_name, new_file, 0o644, dir_fd=opened[2])
                with open(fd, "wb") as stream:
                    stream.write(data)
            if self.confinement.uid is not None:
                os.fchown(opened[3], self.confinement.uid, self.confinement.gid)
        finally:
            for fd in opened:
                os.close(fd)

    def close(self) -> None:
        """End every process of the submission and remove its folder, mount and cgroup."""
        self.confinement.close()


def kernel_command(confinement: Confinement, kernel_dir: Path, connection_file: Path) -> list[str]:
    """The kernel spec's argv: ipykernel confined, writing only its work folder and ``kernel_dir``
    (its ipc sockets), reading the ``connection_file`` jupyter_client writes after this call."""
    argv = [sys.executable, "-c", KERNEL_LAUNCHER, "-f", "{connection_file}"]
    argv.append("--HistoryManager.enabled=False")
    return confinement.command(argv, writable=[kernel_dir], hand_over=[connection_file])


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
