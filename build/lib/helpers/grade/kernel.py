"""One python3 kernel for one submission (jupyter_client over ipc sockets): start, run code, stop.

How it is confined (bubblewrap, memory limit, environment) is :mod:`helpers.grade.sandbox`'s job;
this module only talks to it.
"""

from __future__ import annotations

import json
import queue
import re
import time
from dataclasses import dataclass
from pathlib import Path

from helpers.checks.common import shorten
from helpers.files import atomic_write

from . import sandbox

__all__ = ["Outcome", "Kernel"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Outcome:
    """How running one piece of code ended: status "ok", "error" (with the error), "timeout" or "dead"."""

    status: str
    error: str = ""


class Kernel:
    """One python3 kernel in ``root/work``, optionally inside bubblewrap, with an address-space limit.

    Args:
        root: the workspace (:func:`helpers.grade.sandbox.make_workspace`); the kernel's connection
            files, spec and logs go there too.
        work: the folder the kernel runs in (``root / "work"``).
        bwrap: the bubblewrap executable, or None to run without a sandbox.
        memory_bytes: the kernel's address-space limit.
    """

    def __init__(self, root: Path, work: Path, bwrap: str | None, memory_bytes: int):
        self.root, self.work, self.bwrap, self.memory_bytes = root, work, bwrap, memory_bytes
        self.kernel_dir = root / "kernel"
        self.km = self.kc = None
        self.starts = 0

    def start(self, timeout: float) -> None:
        """Start the kernel and wait until it answers; RuntimeError with its last words if it cannot."""
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        self.starts += 1
        spec_dir = self.root / "spec" / "kernels" / "grade"
        argv = sandbox.kernel_argv(self.bwrap, self.root, self.work, self.kernel_dir, self.memory_bytes)
        spec = {"argv": argv, "display_name": "grading", "language": "python", "interrupt_mode": "message"}
        atomic_write(spec_dir / "kernel.json", json.dumps(spec))
        self.kernel_dir.mkdir(exist_ok=True)
        log_path = self.root / f"kernel-{self.starts}.log"
        log = open(log_path, "wb")  # noqa: SIM115 - the kernel writes to it
        self.km = KernelManager(
            kernel_name="grade",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_dir.parent)]),
            transport="ipc",
            ip=str(self.kernel_dir / f"ipc{self.starts}"),
            connection_file=str(self.kernel_dir / f"connection-{self.starts}.json"),
        )
        try:
            self.km.start_kernel(
                cwd=str(self.work), env=sandbox.kernel_env(self.work), stdout=log, stderr=log
            )
            self.kc = self.km.client()
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=timeout)
        except Exception as error:  # noqa: BLE001 - report the kernel's own last words
            log.close()
            tail = log_path.read_bytes()[-400:].decode("utf-8", "replace")
            self.shutdown()
            raise RuntimeError(f"{shorten(error, 150)} {' '.join(tail.split())}".strip()) from None
        log.close()

    def run(self, code: str, timeout: float) -> Outcome:
        """Run ``code``, waiting at most ``timeout`` seconds; the error's text without colours."""
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
                return Outcome("error", shorten(error, 300)) if error else Outcome("ok")

    def interrupt(self) -> bool:
        """Interrupt the running code; True when the kernel is responsive again."""
        try:
            self.km.interrupt_kernel()
            return self.run("pass", 10.0).status == "ok"
        except Exception:  # noqa: BLE001 - a kernel we cannot talk to is restarted
            return False

    def shutdown(self) -> None:
        """Stop the kernel (killing it if it does not stop) and close the channels."""
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
