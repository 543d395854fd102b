"""One python3 kernel for one submission (jupyter_client over ipc sockets): start, run code, stop.

How it is confined is :mod:`helpers.grade.sandbox`'s job; this module only talks to it, and bounds
what the kernel can make the grader hold: zmq refuses any message over MAX_MESSAGE_BYTES (the kernel
loses that connection, which :meth:`Kernel.run` reports as the output cap) and queues few; the text
a run prints or displays is counted (:class:`~helpers.grade.untrusted.OutputBudget`) and the run is
stopped past MAX_OUTPUT_BYTES.
"""

from __future__ import annotations

import json
import os
import queue
import re
import time
from dataclasses import dataclass
from pathlib import Path

from helpers.files import atomic_write

from . import sandbox
from .untrusted import OutputBudget, capped_zmq_context, excerpt

__all__ = ["Outcome", "Kernel", "MAX_MESSAGE_BYTES", "MAX_OUTPUT_BYTES"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_MESSAGE_BYTES = 1 << 20  # one message from the kernel
MAX_QUEUED_MESSAGES = 64  # per socket, received but not yet read
MAX_OUTPUT_BYTES = 4 << 20  # printed or displayed by one run, in all
LOG_TAIL_BYTES = 400


@dataclass
class Outcome:
    """How running one piece of code ended: "ok", "error" (with the error), "timeout", "dead", or
    "output" (it printed past the cap; ``error`` says how)."""

    status: str
    error: str = ""


class Kernel:
    """One python3 kernel in a :class:`~helpers.grade.sandbox.Workspace`, confined by it.

    Its connection files and spec go to ``root/kernel`` and ``root/spec``, its stdout and stderr to
    ``root/kernel-<n>.log``: all inside the grading folder, so under its disk bound.
    """

    def __init__(self, workspace: sandbox.Workspace):
        self.workspace = workspace
        self.root, self.work = workspace.root, workspace.work
        self.kernel_dir = self.root / "kernel"
        self.km = self.kc = self.context = self.monitor = None
        self.starts = 0

    def start(self, timeout: float) -> None:
        """Start the kernel and wait until it answers; RuntimeError with its last words if it cannot."""
        import zmq
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        self.starts += 1
        self.kernel_dir.mkdir(exist_ok=True)
        connection_file = self.kernel_dir / f"connection-{self.starts}.json"
        spec_dir = self.root / "spec" / "kernels" / "grade"
        argv = sandbox.kernel_command(self.workspace.confinement, self.kernel_dir, connection_file)
        spec = {"argv": argv, "display_name": "grading", "language": "python", "interrupt_mode": "message"}
        atomic_write(spec_dir / "kernel.json", json.dumps(spec))
        log_path = self.root / f"kernel-{self.starts}.log"
        log = open(log_path, "wb")  # noqa: SIM115 - the kernel writes to it
        self.context = capped_zmq_context(MAX_MESSAGE_BYTES, MAX_QUEUED_MESSAGES)
        self.km = KernelManager(
            kernel_name="grade",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_dir.parent)]),
            transport="ipc",
            ip=str(self.kernel_dir / f"ipc{self.starts}"),
            connection_file=str(connection_file),
            context=self.context,
        )
        try:
            env = sandbox.kernel_env(self.work)
            self.km.start_kernel(cwd=str(self.work), env=env, stdout=log, stderr=log)
            self.kc = self.km.client(context=self.context)
            self.kc.start_channels()
            self.monitor = self.kc.iopub_channel.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
            self.kc.wait_for_ready(timeout=timeout)
        except Exception as error:  # noqa: BLE001 - report the kernel's own last words
            log.close()
            tail = excerpt(_tail(log_path), 200)
            self.shutdown()
            raise RuntimeError(f"{excerpt(error, 150)} {tail}".strip()) from None
        log.close()

    def disconnected(self) -> bool:
        """Whether the kernel's output channel was dropped (zmq does so on a message over the cap)."""
        try:
            return bool(self.monitor is not None and self.monitor.poll(0))
        except Exception:  # noqa: BLE001 - a monitor that fails is a channel we cannot trust
            return True

    def run(self, code: str, timeout: float) -> Outcome:
        """Run ``code``, waiting at most ``timeout`` seconds; the error's text without colours."""
        msg_id = self.kc.execute(
            code, silent=False, store_history=False, allow_stdin=False, stop_on_error=False
        )
        deadline = time.monotonic() + max(timeout, 0.1)
        budget = OutputBudget(MAX_OUTPUT_BYTES)
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
                if self.disconnected():
                    return self._dropped()
                continue
            if not budget.take(message):  # background threads' output counts too
                return Outcome("output", f"it printed more than {MAX_OUTPUT_BYTES} bytes")
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "error":
                error = _ANSI.sub("", f"{content.get('ename')}: {content.get('evalue')}")
            elif kind == "status" and content.get("execution_state") == "idle":
                return Outcome("error", excerpt(error, 300)) if error else Outcome("ok")

    def _dropped(self) -> Outcome:
        """The output channel is gone: the kernel died (its sockets closed), or zmq dropped it for a
        message over the cap."""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if not self.km.is_alive():
                return Outcome("dead")
            time.sleep(0.05)
        return Outcome("output", f"it sent a message of more than {MAX_MESSAGE_BYTES} bytes")

    def interrupt(self) -> bool:
        """Interrupt the running code; True when the kernel is responsive again."""
        try:
            self.km.interrupt_kernel()
            return self.run("pass", 10.0).status == "ok"
        except Exception:  # noqa: BLE001 - a kernel we cannot talk to is restarted
            return False

    def shutdown(self) -> None:
        """Stop the kernel (killing it if it does not stop) and close the channels and sockets."""
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001 - kill it the hard way
                try:
                    self.km.kill_kernel()
                except Exception:  # noqa: BLE001 - the confinement's close ends it in any case
                    pass
            self.km = None
        if self.monitor is not None:
            self.monitor.close(linger=0)
            self.monitor = None
        if self.context is not None:
            self.context.destroy(linger=0)
            self.context = None


def _tail(path: Path) -> str:
    """The last LOG_TAIL_BYTES of the kernel's log (the grader's own file), as text."""
    try:
        with open(path, "rb") as stream:
            stream.seek(max(os.fstat(stream.fileno()).st_size - LOG_TAIL_BYTES, 0))
            return stream.read(LOG_TAIL_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""
