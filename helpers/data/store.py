"""The two data files on disk, whichever source made them: where they live, what each must hold.

Shared by the downloader of the real files (:mod:`helpers.data.download`), the cache of the simulated
stand-in (:mod:`helpers.data.standin`) and the loaders (:mod:`helpers.data`): the cache folder, the
two errors, the content check, the md5 check and the per-folder lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from helpers import settings

__all__ = [
    "DataFileError",
    "DataUnavailableError",
    "cache_dir",
    "check_content",
    "file_md5",
    "folder_lock",
    "intact_bytes",
    "make_folder",
]


class DataUnavailableError(RuntimeError):
    """A data file could not be had: download failed, timed out, or failed its md5 check.

    ``reason``: one line (file, address and cause) without the advice on what to do;
    ``file_name``: the data file; ``cause``: a few words on what went wrong, with no address or path.
    """

    def __init__(self, message: str, reason: str | None = None, *, file_name: str = "", cause: str = ""):
        super().__init__(message)
        self.reason = reason or message.splitlines()[0]
        self.file_name = file_name
        self.cause = cause or self.reason


class DataFileError(ValueError):
    """A data file (or generated stand-in) does not hold the keys and shapes it must."""


def cache_dir() -> Path:
    """Folder where downloaded and generated data files are kept.

    ``NMA_DECODING_CACHE`` if set, else the per-user cache folder ``pooch.os_cache("nma-decoding")``.
    The folder is created only when something is written to it.
    """
    override = os.environ.get(settings.ENV_CACHE, "").strip()
    if override:
        return Path(override).expanduser().absolute()
    import pooch

    return Path(pooch.os_cache("nma-decoding")).expanduser().absolute()


def make_folder(folder: Path, file_name: str = "") -> None:
    """Create ``folder`` (and its parents) for ``file_name``, or say which environment variable to set."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataUnavailableError(
            f"Cannot create the data folder {folder} ({err}). "
            f"Set the environment variable {settings.ENV_CACHE} to a folder you can write to.",
            file_name=file_name,
            cause="its folder cannot be created",
        ) from err


def file_md5(path: Path) -> str | None:
    """md5 of the file at ``path`` (32 hex digits), or None if it cannot be read."""
    digest = hashlib.md5()
    try:
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def intact_bytes(path: Path, md5: str | None) -> bytes | None:
    """The bytes of ``path`` if their md5 is ``md5``; None if the file is missing, unreadable or differs.

    The bytes checked are the bytes returned, so a file replaced in between cannot slip through.
    """
    if not md5:
        return None
    try:
        payload = path.read_bytes()
    except OSError:
        return None
    return payload if hashlib.md5(payload).hexdigest() == md5 else None


@contextlib.contextmanager
def folder_lock(folder: Path, stem: str) -> Iterator[bool]:
    """Hold an exclusive lock named ``stem`` in ``folder`` (which must exist) for the ``with`` block.

    Yields True if another process held the lock first: it may have done the work meanwhile, so the
    caller looks again before doing it. The lock file is deleted while the lock is still held (a
    waiting process then sees a deleted file and takes a fresh one), so a finished folder holds only
    data files.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(str(folder / f".{stem}.lock"))
    try:
        lock.acquire(timeout=0)
        waited = False
    except Timeout:
        lock.acquire()
        waited = True
    try:
        yield waited
    finally:
        with contextlib.suppress(OSError):  # Windows cannot delete an open file; filelock does it there
            os.remove(lock.lock_file)
        lock.release()


def _expected_content(name: str) -> dict[str, tuple[int, ...]]:
    """What file ``name`` must hold: key -> shape (``settings.N_NEURONS`` columns, read at call time)."""
    n = settings.N_NEURONS
    return {
        settings.BINNED_FILE: {"resp": (360, n), "stimuli": (360,)},
        settings.SPLIT_FILE: {"resp_train": (60, n), "resp_test": (60, n), "stimuli": (60,)},
    }[name]


def check_content(arrays: dict, name: str, where: str, fix: str, exact: bool = False) -> None:
    """Raise :class:`DataFileError` unless ``arrays`` holds the keys, shapes and dtypes of file ``name``.

    ``stimuli`` may also be a column (n, 1). ``exact`` (for the generated stand-in): no extra keys,
    responses float32. ``where`` names the file in the message, ``fix`` ends it.
    """
    expected = _expected_content(name)
    missing = [k for k in expected if k not in arrays]
    if missing:
        raise DataFileError(
            f"{where} lacks the key(s) {missing} (it has {sorted(arrays)}; {name} must hold "
            f"{sorted(expected)}). {fix}"
        )
    if exact and set(arrays) != set(expected):
        raise DataFileError(f"{where} has extra key(s) {sorted(set(arrays) - set(expected))}. {fix}")
    for key, shape in expected.items():
        value = np.asarray(arrays[key])
        if not (value.shape == shape or (key == "stimuli" and value.shape == (*shape, 1))):
            raise DataFileError(f"{where}: {key!r} has shape {value.shape}, expected {shape}. {fix}")
        if not np.issubdtype(value.dtype, np.number) or np.issubdtype(value.dtype, np.complexfloating):
            raise DataFileError(f"{where}: {key!r} has dtype {value.dtype}, expected real numbers. {fix}")
        if exact and key.startswith("resp") and value.dtype != np.float32:
            raise DataFileError(f"{where}: {key!r} has dtype {value.dtype}, expected float32. {fix}")
