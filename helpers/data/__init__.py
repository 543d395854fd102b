"""Getting the mouse V1 data: real files from OSF, or a simulated stand-in, both cached on disk.

The course uses two files prepared from the recording of Stringer et al. (2021), 23,589 neurons in
mouse V1 responding to gratings of every orientation:

- ``W3D4_stringer_oribinned1.npz``: ``resp`` (360 x 23589) averaged into 1-degree bins,
  ``stimuli`` (360,) the bins' orientations in degrees;
- ``W3D4_stringer_oribinned6_split.npz``: ``resp_train`` and ``resp_test`` (60 x 23589 each), the
  trials split in two random halves and each half averaged into 6-degree bins, ``stimuli`` (60,) degrees.

Responses are in z-scored units: each neuron's single-trial responses were normalised by its spontaneous
activity, z-scored over trials, then averaged within each orientation bin (so they are dimensionless and
can be negative).

Where the data come from (the *source*):

- ``"osf"``: the real files (:mod:`helpers.data.download`: md5-checked, atomically written; a server
  that sends nothing for 10 s counts as down);
- ``"synthetic"``: the stand-in from :mod:`helpers.data.synthetic`, generated once and cached
  (:mod:`helpers.data.standin`);
- ``"auto"`` (default): each file the real one if it can be had; after the first that cannot, the
  stand-in for the rest of the process, with one short printed notice. Only the files a notebook
  loads are downloaded.

The choice is, in order: the ``source`` argument, else the environment variable ``NMA_DECODING_DATA``,
else ``"auto"``. Other environment variables (names in :mod:`helpers.settings`):

- ``NMA_DECODING_CACHE``: folder for downloaded and generated files (default
  ``pooch.os_cache("nma-decoding")``, e.g. ``~/.cache/nma-decoding`` on Linux);
- ``NMA_DECODING_URL_BASE``: fetch the real files from ``<base>/<file name>`` instead of OSF (a mirror
  on a room's own server, or a test server);
- ``NMA_DECODING_PROGRESS``: ``0`` switches the download progress bar off.

Command line, for preparing a room without internet::

    python -m helpers.data fetch [--source auto|osf|synthetic] [--dest DIR]

then copy ``DIR`` to the students' machines and set ``NMA_DECODING_CACHE=DIR`` there.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from helpers import settings
from helpers.settings import BINNED_FILE, ENV_CACHE, ENV_SOURCE, FILE_NAMES, SOURCES, SPLIT_FILE

from . import download, standin
from .store import (
    DataFileError,
    DataUnavailableError,
    cache_dir,
    check_content,
    file_md5,
    intact_bytes,
)

__all__ = [
    "DataFileError",
    "DataUnavailableError",
    "cache_dir",
    "describe_source",
    "fetch",
    "is_synthetic",
    "load_data",
    "load_data_split",
    "main",
    "resolve_source",
]

_NOTICE_SHOWN = False  # the fallback notice is printed once per process
_AUTO_ANSWERS: dict[tuple, str] = {}  # what "auto" became, per cache folder and addresses


# ----------------------------------------------------------------------------------------------------
# Choosing the source


def _requested(source: str | None) -> str:
    """The requested source: the argument, else ``NMA_DECODING_DATA``, else ``"auto"``."""
    origin = "the source argument"
    if source is None:
        source = os.environ.get(ENV_SOURCE, "").strip() or "auto"
        origin = f"the environment variable {ENV_SOURCE}"
    if not isinstance(source, str) or source.strip().lower() not in SOURCES:
        raise ValueError(
            f"Unknown data source {source!r} (from {origin}). Valid choices: "
            + ", ".join(repr(s) for s in SOURCES)
            + f". For example set {ENV_SOURCE}=synthetic to use the simulated stand-in."
        )
    return source.strip().lower()


def _auto_key(folder: Path) -> tuple:
    return (str(folder), tuple(download.real_url(name) for name in FILE_NAMES))


def _notice(err: DataUnavailableError, loader: str) -> str:
    """The fallback notice: four lines of at most 100 characters, naming the file, with no path."""
    name = err.file_name or "a data file"
    return (
        "NOTICE: the data below are a SIMULATED stand-in, not the recording of Stringer et al. (2021).\n"
        f"Why: {name} could not be downloaded ({err.cause}).\n"
        f"To choose the data yourself, run `%env {ENV_SOURCE}=synthetic` (or `osf`) before loading,\n"
        f'or call {loader}(source="synthetic") or {loader}(source="osf").'
    )


def _show_notice(err: DataUnavailableError, loader: str) -> None:
    global _NOTICE_SHOWN
    if not _NOTICE_SHOWN:
        _NOTICE_SHOWN = True
        print(_notice(err, loader), flush=True)  # stdout: Jupyter shows stderr as an error


def _real_or_none(mode: str, folder: Path, get_real: Callable[[], object], loader: str):
    """``get_real()`` if the real file is to be used, or None where the stand-in is.

    ``mode`` ``"osf"``: ``get_real()``, or its :class:`DataUnavailableError`. ``"synthetic"``: None,
    no network. ``"auto"``: None if the stand-in was already chosen in this process for ``folder``,
    else ``get_real()``; if that fails, the stand-in from now on, with the notice (once).
    """
    if mode == "synthetic":
        return None
    key = _auto_key(folder)
    if mode == "auto" and _AUTO_ANSWERS.get(key) == "synthetic":
        return None
    try:
        real = get_real()
    except DataUnavailableError as err:
        if mode == "osf":
            raise
        _AUTO_ANSWERS[key] = "synthetic"
        _show_notice(err, loader)
        return None
    if mode == "auto":
        _AUTO_ANSWERS[key] = "osf"
    return real


def _real_path(name: str, folder: Path) -> Path:
    """Path of an intact real file ``name`` in ``folder`` (md5-checked once), downloading it if needed."""
    path = folder / name
    if file_md5(path) == download.REAL_FILES[name].md5:
        return path
    return download.download(name, folder)


def _real_bytes(name: str, folder: Path) -> bytes:
    """The bytes of the real file ``name`` in ``folder``, md5-checked once, downloading it if needed."""
    payload = intact_bytes(folder / name, download.REAL_FILES[name].md5)
    if payload is None:
        payload = download.download(name, folder).read_bytes()  # md5-checked as it was downloaded
    return payload


def _real_files(mode: str, folder: Path) -> list[Path] | None:
    """Paths of both real files in ``folder`` if ``mode`` gets them, None where the stand-in is used."""
    paths = []
    for name in FILE_NAMES:
        path = _real_or_none(mode, folder, lambda name=name: _real_path(name, folder), "load_data")
        if path is None:
            return None
        paths.append(path)
    return paths


def resolve_source(source: str | None = None) -> str:
    """Which source the loaders will use: ``"osf"`` (real data) or ``"synthetic"`` (simulated).

    ``source`` is ``"auto"``, ``"osf"``, ``"synthetic"`` or None (then ``NMA_DECODING_DATA``, else
    ``"auto"``). ``"osf"`` and ``"synthetic"`` are answered as given, without a download. ``"auto"``
    gives the answer already reached in this process (by a load, or an earlier call); before any,
    it tries to get both real files into the cache, and answers ``"synthetic"`` (printing the notice
    once) if either cannot be had. A notebook that needs one file calls this after loading it.

    Raises ValueError for any other value.
    """
    mode = _requested(source)
    if mode != "auto":
        return mode
    folder = cache_dir()
    known = _AUTO_ANSWERS.get(_auto_key(folder))
    if known is not None:
        return known
    return "osf" if _real_files(mode, folder) is not None else "synthetic"


def is_synthetic(source: str | None = None) -> bool:
    """True if the loaders will serve the simulated stand-in (see :func:`resolve_source`)."""
    return resolve_source(source) == "synthetic"


def describe_source(source: str | None = None) -> str:
    """One line for a notebook to print: which data the figures show (see :func:`resolve_source`)."""
    if resolve_source(source) == "osf":
        return f"Data: the real recording of {settings.N_NEURONS:,} mouse V1 neurons (Stringer et al. 2021)."
    return (
        f"Data: SIMULATED stand-in for the recording (helpers.data.synthetic, {standin.label()}), "
        "not real neurons."
    )


# ----------------------------------------------------------------------------------------------------
# Public retrieval and loading


def _check_name(name: str) -> None:
    if name not in FILE_NAMES:
        raise ValueError(f"Unknown data file {name!r}. Valid names: {', '.join(FILE_NAMES)}.")


def fetch(name: str, source: str | None = None, dest: str | os.PathLike | None = None) -> Path:
    """Make sure the data file ``name`` is on disk and return its path.

    Args:
        name: ``"W3D4_stringer_oribinned1.npz"`` or ``"W3D4_stringer_oribinned6_split.npz"``.
        source: ``"auto"``, ``"osf"``, ``"synthetic"`` or None (see :func:`resolve_source`).
        dest: folder to put the file in; default the cache folder (:func:`cache_dir`). A folder filled
            this way can serve as ``NMA_DECODING_CACHE`` on another machine.

    Returns:
        Path of the real file (``DEST/<name>``), or of the stand-in
        (``DEST/<stem>.standin_v<version>_seed<seed>_<hash>.npz``, with its md5 in a ``.md5`` file beside it).

    Raises:
        DataUnavailableError: the real file cannot be had and the source is ``"osf"``.
        ValueError: unknown ``name`` or ``source``.
    """
    _check_name(name)
    folder = Path(dest).expanduser().absolute() if dest is not None else cache_dir()
    path = _real_or_none(_requested(source), folder, lambda: _real_path(name, folder), "load_data")
    return path if path is not None else standin.ensure(name, folder)


def _load_arrays(name: str, source: str | None, loader: str) -> tuple[dict[str, np.ndarray], str]:
    """The arrays of file ``name`` (md5-checked as read, content validated) and the source used."""
    folder = cache_dir()
    payload = _real_or_none(_requested(source), folder, lambda: _real_bytes(name, folder), loader)
    if payload is not None:
        used, path = "osf", folder / name
        fix = f"Delete {path} and run again to fetch it afresh."
    else:
        used = "synthetic"
        payload, path = standin.read(name, folder)
        fix = f"Delete {path} to regenerate it; if that does not help, helpers.data.synthetic has a bug."
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as err:  # not a readable .npz at all
        raise DataFileError(f"{path} is not a readable .npz file ({err}). {fix}") from err
    check_content(arrays, name, str(path), fix)
    return arrays, used


def _as_tensor(array: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _check_bin_width(bin_width) -> int:
    if isinstance(bin_width, bool) or not isinstance(bin_width, (int, float, np.integer, np.floating)):
        raise ValueError(f"bin_width must be a whole number of degrees, got {bin_width!r}.")
    if bin_width != int(bin_width) or bin_width < 1 or 360 % int(bin_width):
        divisors = [d for d in range(1, 361) if 360 % d == 0]
        raise ValueError(
            f"bin_width={bin_width!r} does not divide 360 degrees into whole bins. "
            f"Use one of: {', '.join(map(str, divisors))}."
        )
    return int(bin_width)


def _bin(resp: np.ndarray, stimuli: np.ndarray, width: int, used: str) -> tuple[np.ndarray, np.ndarray]:
    """Average the rows of ``resp`` (n, neurons) into bins of ``width`` degrees by their ``stimuli`` (n,)."""
    if not np.all(np.isfinite(stimuli)) or stimuli.min() < 0 or stimuli.max() >= 360:
        raise DataFileError(
            f"{BINNED_FILE} ({used}): stimuli must lie in [0, 360) degrees to be binned, "
            f"found {stimuli.min()}..{stimuli.max()}."
        )
    n_bins = 360 // width
    which = np.minimum((stimuli // width).astype(np.intp), n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    if np.any(counts == 0):
        raise DataFileError(
            f"{BINNED_FILE} ({used}): no stimuli in bin(s) {np.flatnonzero(counts == 0).tolist()} "
            f"of width {width} degrees."
        )
    averaging = np.zeros((n_bins, stimuli.size))
    averaging[which, np.arange(stimuli.size)] = 1.0 / counts[which]
    return averaging @ np.asarray(resp, dtype=np.float64), averaging @ stimuli


def load_data(bin_width: int = 1, source: str | None = None):
    """Responses of all neurons to gratings, averaged in orientation bins of ``bin_width`` degrees.

    Args:
        bin_width: width of the orientation bins in degrees; a whole number dividing 360
            (1, 2, 3, 4, 5, 6, 8, 9, 10, 12, ...). 1 returns the file's 1-degree bins unchanged; larger
            values average consecutive 1-degree rows.
        source: ``"auto"``, ``"osf"``, ``"synthetic"`` or None (see :func:`resolve_source`).

    Returns:
        resp: float32 tensor (360 / bin_width, 23589): row i holds every neuron's mean response to
            the gratings in bin i, in z-scored units (dimensionless, can be negative).
        stimuli: float32 tensor (360 / bin_width, 1), degrees: the mean orientation of each bin
            (for bin_width=1 the whole degrees 0..359).

    Raises:
        ValueError: bin_width does not divide 360, or unknown source.
        DataUnavailableError: the real files cannot be had and the source is ``"osf"``.
        DataFileError: the file does not hold ``resp`` (360 x 23589) and ``stimuli`` (360).
    """
    width = _check_bin_width(bin_width)
    arrays, used = _load_arrays(BINNED_FILE, source, "load_data")
    resp = arrays["resp"]
    stimuli = np.asarray(arrays["stimuli"], dtype=np.float64).reshape(-1)
    if width > 1:
        resp, stimuli = _bin(resp, stimuli, width, used)
    return _as_tensor(resp), _as_tensor(stimuli.reshape(-1, 1))


def load_data_split(source: str | None = None):
    """Responses in 6-degree bins, averaged separately over two random halves of the trials.

    Args:
        source: ``"auto"``, ``"osf"``, ``"synthetic"`` or None (see :func:`resolve_source`).

    Returns:
        resp_train: float32 tensor (60, 23589), mean response of each neuron in each 6-degree bin over
            one half of the trials, z-scored units.
        resp_test: float32 tensor (60, 23589), the same over the other half.
        stimuli: float32 tensor (60, 1), degrees: the bins' orientations as stored in the file.

    Raises:
        DataUnavailableError: the real files cannot be had and the source is ``"osf"``.
        DataFileError: the file does not hold ``resp_train``, ``resp_test`` (60 x 23589) and ``stimuli`` (60).
    """
    arrays, _ = _load_arrays(SPLIT_FILE, source, "load_data_split")
    stimuli = np.asarray(arrays["stimuli"]).reshape(-1, 1)
    return _as_tensor(arrays["resp_train"]), _as_tensor(arrays["resp_test"]), _as_tensor(stimuli)


# ----------------------------------------------------------------------------------------------------
# Command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.data",
        description="Get the course's data files ready (for example before a session without internet).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_cmd = commands.add_parser(
        "fetch",
        help="download (or generate) both data files and print their paths and md5s",
        description=(
            "Download the real files (or generate the simulated stand-in) into DEST or the cache folder, "
            "and print each file's md5 and path. Copy DEST to other machines and set "
            f"{ENV_CACHE}=DEST there to use it without internet."
        ),
    )
    fetch_cmd.add_argument(
        "--source",
        choices=SOURCES,
        default=None,
        help=f"where the data come from (default: ${ENV_SOURCE}, else auto)",
    )
    fetch_cmd.add_argument("--dest", type=Path, default=None, help="folder to write to (default: the cache)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.data fetch [--source auto|osf|synthetic] [--dest DIR]``; returns the exit code.

    Both files come from one source: under ``auto``, the stand-in for both if either real file fails.
    """
    args = _parser().parse_args(argv)
    folder = args.dest.expanduser().absolute() if args.dest is not None else cache_dir()
    try:
        paths = _real_files(_requested(args.source), folder)
        if paths is not None:
            kind, md5s = "osf (real data from OSF)", [download.REAL_FILES[name].md5 for name in FILE_NAMES]
        else:
            paths = [standin.ensure(name, folder) for name in FILE_NAMES]
            kind, md5s = "synthetic (SIMULATED stand-in)", [standin.recorded_md5(p) for p in paths]
    except (DataUnavailableError, DataFileError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"source: {kind}; folder: {folder}")
    for md5, path in zip(md5s, paths, strict=True):
        print(f"{md5}  {path}")
    if args.dest is not None:
        print(f"To use these files elsewhere: copy {folder} and set {ENV_CACHE} to its new location.")
    return 0
