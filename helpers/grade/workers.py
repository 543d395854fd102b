"""Grading many notebooks in worker processes, each worker replaceable on its own.

:func:`run_all` keeps ``jobs`` spawned workers busy, one item each at a time, so it always knows
which item a worker holds: a worker that dies (or is stuck past ``patience``) costs the row of that
item alone, is killed, has its folder released, and is replaced; the other workers go on untouched.
Unlike ``concurrent.futures.ProcessPoolExecutor``, whose pool breaks as a whole and fails every
pending item when one worker dies.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

__all__ = ["run_all"]


def _serve(connection: Connection, function, args: tuple) -> None:
    """In a worker: ``function(item, *args, folder)`` for each (item, folder) received, until None."""
    while True:
        task = connection.recv()
        if task is None:
            return
        item, folder = task
        connection.send(function(item, *args, folder))


@dataclass
class _Worker:
    process: multiprocessing.Process
    connection: Connection
    folder: Path
    item: str | None = None
    since: float = field(default=0.0)


def run_all(function, items, jobs, args, folder: Path, patience, crashed, progress, release) -> dict:
    """{item: function(item, *args, worker_folder)} for every item, ``jobs`` workers at a time.

    Args:
        function, args: picklable; the function must not raise (its result is the item's row).
        folder: each worker gets its own sub-folder of it (``worker_folder``, made here).
        patience: seconds one item may take before its worker is killed.
        crashed: ``crashed(item, why)`` -> the result of an item whose worker died.
        progress: called with each result as it arrives.
        release: ``release(worker_folder)`` undoes what a dead worker left there, and removes it.
    """
    context = multiprocessing.get_context("spawn")
    serial = itertools.count()

    def spawn() -> _Worker:
        own, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, function, args), daemon=True)
        process.start()
        theirs.close()
        worker_folder = folder / f"worker-{next(serial)}"
        worker_folder.mkdir(mode=0o700)
        return _Worker(process, own, worker_folder)

    pending, results = list(reversed(items)), {}
    workers = [spawn() for _ in range(min(jobs, len(items)))]
    try:
        while pending or any(worker.item is not None for worker in workers):
            for worker in workers:
                if worker.item is None and pending:
                    worker.item, worker.since = pending.pop(), time.monotonic()
                    worker.connection.send((worker.item, str(worker.folder)))
            busy = [worker for worker in workers if worker.item is not None]
            wait([w.connection for w in busy] + [w.process.sentinel for w in busy], timeout=5)
            for index, worker in enumerate(workers):
                if worker.item is None:
                    continue
                result, why = _collect(worker, patience)
                if result is None and why is None:
                    continue
                if why is not None:
                    result = crashed(worker.item, why)
                    _stop(worker)
                    release(worker.folder)
                    workers[index] = spawn()
                results[worker.item] = result
                worker.item = None
                progress(result)
    finally:
        for worker in workers:
            _stop(worker)
            release(worker.folder)
    return results


def _collect(worker: _Worker, patience: float):
    """(its result, None) when the worker sent it; (None, why) when it died or took too long;
    (None, None) while it is still working."""
    try:
        if worker.connection.poll():
            return worker.connection.recv(), None
    except (EOFError, OSError):
        pass
    if not worker.process.is_alive():
        return None, f"process died (exit code {worker.process.exitcode}) while it graded this notebook"
    if time.monotonic() - worker.since > patience:
        return None, f"took more than {patience:.0f} s on this notebook and was stopped"
    return None, None


def _stop(worker: _Worker) -> None:
    """Ask the worker to end; kill it when it is busy or does not end within 10 s."""
    if worker.process.is_alive() and worker.item is None:
        try:
            worker.connection.send(None)
        except OSError:
            pass
        worker.process.join(10)
    if worker.process.is_alive():
        worker.process.kill()
    worker.process.join()
    worker.connection.close()
