"""The simulated stand-in on disk: generated once by :mod:`helpers.data.synthetic`, kept with its md5.

Each file is ``<folder>/<stem>.standin_v<version>_seed<seed>_<hash>.npz`` (the hash covers every
parameter of :class:`helpers.data.synthetic.StandInParams`), so a new generator version or new parameters
never reuse an old file, with its md5 in a ``.md5`` file beside it. Both files come from one
``generate()`` call, made once under a per-folder lock however many processes ask at the same time,
and are validated before anything is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from pathlib import Path

import numpy as np

from helpers.files import atomic_write
from helpers.settings import FILE_NAMES

from . import synthetic
from .store import (
    DataFileError,
    check_content,
    file_md5,
    folder_lock,
    intact_bytes,
    make_folder,
)

__all__ = ["ensure", "label", "path_of", "read", "recorded_md5"]


def _params():
    return synthetic.StandInParams()


def _tag() -> str:
    """``standin_v<version>_seed<seed>_<8 hex digits of the parameters' hash>``."""
    params = _params()
    digest = hashlib.sha1(repr(sorted(dataclasses.asdict(params).items())).encode()).hexdigest()[:8]
    return f"standin_v{synthetic.GENERATOR_VERSION}_seed{params.seed}_{digest}"


def label() -> str:
    """Which stand-in this is, for a person: ``"generator version 3, seed 2021"``."""
    return f"generator version {synthetic.GENERATOR_VERSION}, seed {_params().seed}"


def path_of(name: str, folder: Path) -> Path:
    """Where the stand-in for data file ``name`` is kept in ``folder``."""
    return folder / f"{Path(name).stem}.{_tag()}.npz"


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".md5")


def recorded_md5(path: Path) -> str | None:
    """The md5 recorded beside the stand-in file ``path`` when it was written, or None."""
    try:
        words = _sidecar(path).read_text().split()
    except OSError:
        return None
    return words[0] if words else None


def read(name: str, folder: Path) -> tuple[bytes, Path]:
    """The bytes of the stand-in for ``name`` in ``folder`` (md5-checked once) and its path.

    Generates and writes both files first if this one is missing or fails its md5.
    """
    path = path_of(name, folder)
    payload = intact_bytes(path, recorded_md5(path))
    if payload is None:
        payload = _make(folder, name)
    return payload, path


def ensure(name: str, folder: Path) -> Path:
    """Path of an intact stand-in for ``name`` in ``folder``, generating both files if it is not there."""
    path = path_of(name, folder)
    recorded = recorded_md5(path)
    if recorded is None or file_md5(path) != recorded:
        _make(folder, name)
    return path


def _make(folder: Path, name: str) -> bytes:
    """Generate both files into ``folder`` (unless another process just did) and return ``name``'s bytes."""
    make_folder(folder, name)
    with folder_lock(folder, _tag()) as waited:
        if waited:  # another process held the lock: it probably generated the files
            path = path_of(name, folder)
            payload = intact_bytes(path, recorded_md5(path))
            if payload is not None:
                return payload
        payloads = _generate()
        for file_name, payload in payloads.items():
            path = path_of(file_name, folder)
            atomic_write(path, payload)
            atomic_write(_sidecar(path), f"{hashlib.md5(payload).hexdigest()}  {path.name}\n")
    return payloads[name]


def _generate() -> dict[str, bytes]:
    """Both files as ``.npz`` bytes, from one ``synthetic.generate()`` call, validated."""
    generated = synthetic.generate(_params())
    fix = f"This is a bug in helpers.data.synthetic (GENERATOR_VERSION {synthetic.GENERATOR_VERSION})."
    payloads = {}
    for name in FILE_NAMES:
        if name not in generated:
            raise DataFileError(f"helpers.data.synthetic.generate() returned no {name!r}. {fix}")
        arrays = generated[name]
        check_content(arrays, name, f"The generated stand-in for {name}", fix, exact=True)
        for key, value in arrays.items():
            if not np.all(np.isfinite(value)):
                raise DataFileError(f"The generated stand-in for {name}: {key!r} is not finite. {fix}")
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)  # uncompressed: fast to read
        payloads[name] = buffer.getvalue()
    return payloads
