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

- ``"osf"``: the real files, downloaded with :mod:`pooch` (md5-checked, retried, atomically written);
- ``"synthetic"``: the stand-in from :mod:`helpers.synthetic`, generated once and cached;
- ``"auto"`` (default): the real files if they can be had, else the stand-in, with one printed notice.

The choice is, in order: the ``source`` argument, else the environment variable ``NMA_DECODING_DATA``,
else ``"auto"``. Other environment variables:

- ``NMA_DECODING_CACHE``: folder for downloaded and generated files (default
  ``pooch.os_cache("nma-decoding")``, e.g. ``~/.cache/nma-decoding`` on Linux);
- ``NMA_DECODING_URL_BASE``: fetch the real files from ``<base>/<file name>`` instead of OSF (a mirror
  on a room's own server, or a test server);
- ``NMA_DECODING_PROGRESS``: ``0`` switches the download progress bar and pooch's log lines off.

Command line, for preparing a room without internet::

    python -m helpers.data fetch [--source auto|osf|synthetic] [--dest DIR]

then copy ``DIR`` to the students' machines and set ``NMA_DECODING_CACHE=DIR`` there.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import importlib
import io
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "BINNED_FILE",
    "DataFileError",
    "DataUnavailableError",
    "FILE_NAMES",
    "N_NEURONS",
    "REAL_FILES",
    "SOURCES",
    "SPLIT_FILE",
    "cache_dir",
    "describe_source",
    "fetch",
    "is_synthetic",
    "load_data",
    "load_data_split",
    "main",
    "resolve_source",
]

ENV_SOURCE = "NMA_DECODING_DATA"
ENV_CACHE = "NMA_DECODING_CACHE"
ENV_URL_BASE = "NMA_DECODING_URL_BASE"
ENV_PROGRESS = "NMA_DECODING_PROGRESS"

#: Valid values of the ``source`` argument and of ``NMA_DECODING_DATA``.
SOURCES = ("auto", "osf", "synthetic")

BINNED_FILE = "W3D4_stringer_oribinned1.npz"
SPLIT_FILE = "W3D4_stringer_oribinned6_split.npz"
FILE_NAMES = (BINNED_FILE, SPLIT_FILE)

#: Number of neurons in the recording (columns of every response matrix).
N_NEURONS = 23589


class RealFile(NamedTuple):
    """Where a real data file lives and its md5 (32 hex digits)."""

    url: str
    md5: str


#: The real files. Tests (or a mirror) may replace entries; ``NMA_DECODING_URL_BASE`` overrides the URLs.
REAL_FILES: dict[str, RealFile] = {
    BINNED_FILE: RealFile("https://osf.io/683xc/download", "436599dfd8ebe6019f066c38aed20580"),
    SPLIT_FILE: RealFile("https://osf.io/p3aeb/download", "b3f7245c6221234a676b71a1f43c3bb5"),
}

#: Seconds to wait for the server to connect and for each read (not for the whole download).
TIMEOUT = 30.0
#: Extra download attempts after a failure (pooch waits 1 s, then 2 s, ... between them).
RETRIES = 2


def _content(name: str) -> dict[str, tuple[int, ...]]:
    """What file ``name`` must hold: key -> shape. ``stimuli`` may also be stored as a column (n, 1)."""
    return {
        BINNED_FILE: {"resp": (360, N_NEURONS), "stimuli": (360,)},
        SPLIT_FILE: {"resp_train": (60, N_NEURONS), "resp_test": (60, N_NEURONS), "stimuli": (60,)},
    }[name]


_NOTICE_SHOWN = False  # the fallback notice is printed once per process
_AUTO_ANSWERS: dict[tuple, str] = {}  # "auto" resolved once per process (per cache folder and URLs)


class DataUnavailableError(RuntimeError):
    """A data file could not be had: download failed, timed out, or failed its md5 check.

    ``reason`` holds a one-line summary (file and cause) without the advice on what to do.
    """

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message.splitlines()[0]


class DataFileError(ValueError):
    """A data file (or generated stand-in) does not hold the keys and shapes it must."""


# ----------------------------------------------------------------------------------------------------
# Settings


def cache_dir() -> Path:
    """Folder where downloaded and generated data files are kept.

    ``NMA_DECODING_CACHE`` if set, else the per-user cache folder ``pooch.os_cache("nma-decoding")``.
    The folder is created only when something is written to it.
    """
    override = os.environ.get(ENV_CACHE, "").strip()
    if override:
        return Path(override).expanduser().absolute()
    import pooch

    return Path(pooch.os_cache("nma-decoding")).expanduser().absolute()


def _real_url(name: str) -> str:
    base = os.environ.get(ENV_URL_BASE, "").strip()
    if base:
        return f"{base.rstrip('/')}/{name}"
    return REAL_FILES[name].url


def _progress_on() -> bool:
    return os.environ.get(ENV_PROGRESS, "1").strip() != "0"


def _mode(source: str | None) -> str:
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


def _check_name(name: str) -> None:
    if name not in FILE_NAMES:
        raise ValueError(f"Unknown data file {name!r}. Valid names: {', '.join(FILE_NAMES)}.")


# ----------------------------------------------------------------------------------------------------
# Small file utilities


def _md5_of_file(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataUnavailableError(
            f"Cannot create the data folder {folder} ({err}). "
            f"Set the environment variable {ENV_CACHE} to a folder you can write to."
        ) from err


@contextlib.contextmanager
def _atomic_target(path: Path):
    """Yield a temporary path next to ``path``; move it onto ``path`` on success, delete it on error."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def _write_bytes_atomic(path: Path, payload: bytes) -> None:
    with _atomic_target(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())


def _lock(folder: Path, stem: str):
    from filelock import FileLock

    return FileLock(str(folder / f"{stem}.lock"))


# ----------------------------------------------------------------------------------------------------
# Real files


def _describe_failure(err: BaseException, expected_md5: str) -> str:
    """A plain-words cause of a failed download (without the exception's own text)."""
    from requests import exceptions as rex

    if isinstance(err, rex.Timeout):
        what = f"the server did not answer within {TIMEOUT:g} s"
    elif isinstance(err, rex.HTTPError):
        response = err.response
        code = getattr(response, "status_code", "?")
        reason = getattr(response, "reason", "") or ""
        what = f"the server answered HTTP {code} {reason}".rstrip()
    elif isinstance(err, (rex.ChunkedEncodingError, rex.ContentDecodingError)):
        what = "the download broke off before the end of the file"
    elif isinstance(err, rex.ConnectionError):
        what = "could not connect to the server, or the connection broke (no internet, or the server is down)"
    elif isinstance(err, rex.RequestException):
        what = "the download failed"
    elif isinstance(err, ValueError):
        what = f"the downloaded file is corrupt or has changed: its md5 is not the expected {expected_md5}"
    elif isinstance(err, OSError):
        what = "the file could not be written"
    else:
        what = "the download failed"
    return what


def _unavailable(
    name: str, url: str, folder: Path, err: BaseException, attempts: int
) -> DataUnavailableError:
    md5 = REAL_FILES[name].md5
    cause = _describe_failure(err, md5)
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return DataUnavailableError(
        f"Could not download the data file {name} from {url}{tries}: {cause} "
        f"[{type(err).__name__}: {err}].\n"
        "What to do:\n"
        "  - try again later (OSF is sometimes slow, rate-limited or down); or\n"
        f"  - download the file by hand from {url}, check that its md5 is {md5}, and save it as\n"
        f"    {folder / name}; or\n"
        f"  - use the simulated stand-in instead: set the environment variable {ENV_SOURCE}=synthetic\n"
        "    (figures then come from simulated data, not the recording).",
        reason=f"{name} could not be downloaded from {url}: {cause}.",
    )


@contextlib.contextmanager
def _quiet_pooch(quiet: bool):
    """Drop pooch's informational log lines ("Downloading file ...") while ``quiet``."""
    import pooch

    logger = pooch.get_logger()
    only_warnings = logging.Filter()
    only_warnings.filter = lambda record: record.levelno >= logging.WARNING
    if quiet:
        logger.addFilter(only_warnings)
    try:
        yield
    finally:
        logger.removeFilter(only_warnings)


def _copy_from_cache(name: str, target: Path) -> bool:
    """If the main cache holds a good copy of ``name``, copy it to ``target`` atomically."""
    cached = cache_dir() / name
    if cached.resolve() == target.resolve() or not cached.is_file():
        return False
    if _md5_of_file(cached) != REAL_FILES[name].md5:
        return False
    with _atomic_target(target) as tmp:
        shutil.copyfile(cached, tmp)
    return True


def _fetch_real(name: str, folder: Path) -> Path:
    """Path of the real file ``name`` in ``folder``, downloading it if it is missing or corrupt."""
    import pooch
    import requests

    url = _real_url(name)
    md5 = REAL_FILES[name].md5
    target = folder / name
    if target.is_file() and _md5_of_file(target) == md5:
        return target  # already here and intact: no lock, no network
    _make_folder(folder)
    with _lock(folder, name):
        if target.exists():
            if _md5_of_file(target) == md5:
                return target  # another process fetched it while we waited
            # Corrupt or truncated: never load it, and do not leave it behind if the download fails.
            print(f"{target} is corrupt (wrong md5); downloading it again.", file=sys.stderr)
            target.unlink()
        if not target.exists() and _copy_from_cache(name, target):
            return target
        if not url.lower().startswith(("http://", "https://")):
            raise DataUnavailableError(
                f"Cannot download {name} from {url!r}: only http:// and https:// addresses are supported. "
                f"Check {ENV_URL_BASE}, or put the file in {folder} by hand."
            )
        fetcher = pooch.create(
            path=folder,
            base_url="",
            registry={name: f"md5:{md5}"},
            urls={name: url},
            retry_if_failed=RETRIES,
        )
        progress = _progress_on()
        downloader = pooch.HTTPDownloader(progressbar=progress, timeout=TIMEOUT, chunk_size=1 << 20)
        try:
            with _quiet_pooch(not progress):
                path = Path(fetcher.fetch(name, downloader=downloader))
        except (requests.exceptions.RequestException, ValueError, OSError) as err:
            with contextlib.suppress(FileNotFoundError):
                if _md5_of_file(target) != md5:
                    target.unlink()
            raise _unavailable(name, url, folder, err, 1 + RETRIES) from err
    return path


# ----------------------------------------------------------------------------------------------------
# Synthetic stand-in


def _synthetic_module():
    return importlib.import_module("helpers.synthetic")


def _standin_tag() -> tuple[str, object, object]:
    """(tag naming generator version, seed and parameters; synthetic module; parameters)."""
    synthetic = _synthetic_module()
    params = synthetic.StandInParams()
    fields = dataclasses.asdict(params) if dataclasses.is_dataclass(params) else vars(params)
    digest = hashlib.sha1(repr(sorted(fields.items())).encode()).hexdigest()[:8]
    tag = f"standin_v{synthetic.GENERATOR_VERSION}_seed{params.seed}_{digest}"
    return tag, synthetic, params


def _standin_path(name: str, folder: Path, tag: str) -> Path:
    return folder / f"{Path(name).stem}.{tag}.npz"


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".md5")


def _recorded_md5(path: Path) -> str | None:
    try:
        text = _sidecar(path).read_text().split()
    except OSError:
        return None
    return text[0] if text else None


def _standin_ok(path: Path) -> bool:
    recorded = _recorded_md5(path)
    if recorded is None or not path.is_file():
        return False
    return _md5_of_file(path) == recorded


def _check_content(arrays: dict, name: str, where: str, fix: str, exact: bool = False) -> None:
    expected = _content(name)
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
        ok_shape = value.shape == shape or (key == "stimuli" and value.shape == (*shape, 1))
        if not ok_shape:
            raise DataFileError(f"{where}: {key!r} has shape {value.shape}, expected {shape}. {fix}")
        if not np.issubdtype(value.dtype, np.number) or np.issubdtype(value.dtype, np.complexfloating):
            raise DataFileError(f"{where}: {key!r} has dtype {value.dtype}, expected real numbers. {fix}")
        if exact and key.startswith("resp") and value.dtype != np.float32:
            raise DataFileError(f"{where}: {key!r} has dtype {value.dtype}, expected float32. {fix}")


def _ensure_standin(folder: Path) -> dict[str, Path]:
    """Paths of both stand-in files in ``folder``; generate (once, under a lock) any missing or corrupt."""
    tag, synthetic, params = _standin_tag()
    paths = {name: _standin_path(name, folder, tag) for name in FILE_NAMES}
    if all(_standin_ok(p) for p in paths.values()):
        return paths
    _make_folder(folder)
    with _lock(folder, tag):
        bad = [name for name, p in paths.items() if not _standin_ok(p)]
        if not bad:
            return paths  # another process generated them while we waited
        data = synthetic.generate(params)
        fix = f"This is a bug in helpers.synthetic (GENERATOR_VERSION {synthetic.GENERATOR_VERSION})."
        for name in FILE_NAMES:
            if name not in data:
                raise DataFileError(f"helpers.synthetic.generate() returned no {name!r}. {fix}")
            _check_content(data[name], name, f"The generated stand-in for {name}", fix, exact=True)
            for key, value in data[name].items():
                if not np.all(np.isfinite(value)):
                    raise DataFileError(f"The generated stand-in for {name}: {key!r} is not finite. {fix}")
        for name in bad:
            path = paths[name]
            with _atomic_target(path) as tmp:
                with open(tmp, "wb") as f:
                    np.savez(f, **data[name])  # uncompressed: fast to read
                    f.flush()
                    os.fsync(f.fileno())
                _write_bytes_atomic(_sidecar(path), f"{_md5_of_file(tmp)}  {path.name}\n".encode())
    return paths


# ----------------------------------------------------------------------------------------------------
# Choosing the source


def _show_notice(err: BaseException) -> None:
    global _NOTICE_SHOWN
    if _NOTICE_SHOWN:
        return
    _NOTICE_SHOWN = True
    reason = getattr(err, "reason", None) or str(err).splitlines()[0]
    bar = "=" * 78
    print(
        f"{bar}\n"
        "NOTICE: the data below are SIMULATED (a stand-in made by helpers.synthetic), not the\n"
        "recording of Stringer et al. Every figure and number comes from simulated neurons.\n"
        f"Why: {reason}\n"
        "To use the real data: connect to the internet and restart the kernel, or put the files in\n"
        f"{cache_dir()} (see `python -m helpers.data fetch --help`).\n"
        f"To choose the stand-in on purpose (and skip this notice): set {ENV_SOURCE}=synthetic.\n"
        f"{bar}",
        flush=True,
    )


def _resolve(mode: str, folder: Path) -> str:
    if mode != "auto":
        return mode
    key = (str(folder), tuple(_real_url(n) for n in FILE_NAMES))
    if key not in _AUTO_ANSWERS:
        try:
            for name in FILE_NAMES:
                _fetch_real(name, folder)
            _AUTO_ANSWERS[key] = "osf"
        except DataUnavailableError as err:
            _AUTO_ANSWERS[key] = "synthetic"
            _show_notice(err)
    return _AUTO_ANSWERS[key]


def resolve_source(source: str | None = None) -> str:
    """Which source the loaders will use: ``"osf"`` (real data) or ``"synthetic"`` (simulated).

    ``source`` is ``"auto"``, ``"osf"``, ``"synthetic"`` or None (then ``NMA_DECODING_DATA``, else
    ``"auto"``). ``"auto"`` tries to get both real files into the cache (downloading them if needed);
    if either cannot be had it answers ``"synthetic"`` and prints one notice per process saying so and
    why. The answer for ``"auto"`` is remembered for the rest of the process. ``"osf"`` is answered
    without a download; the loaders then raise :class:`DataUnavailableError` if the files cannot be had.

    Raises ValueError for any other value.
    """
    return _resolve(_mode(source), cache_dir())


def is_synthetic(source: str | None = None) -> bool:
    """True if the loaders will serve the simulated stand-in (see :func:`resolve_source`)."""
    return resolve_source(source) == "synthetic"


def describe_source(source: str | None = None) -> str:
    """One line for a notebook to print: which data the figures show."""
    if resolve_source(source) == "osf":
        return (
            f"Data: the real recording of {N_NEURONS:,} mouse V1 neurons (Stringer et al. 2021), "
            f"files from OSF cached in {cache_dir()}."
        )
    tag, synthetic, params = _standin_tag()
    return (
        f"Data: SIMULATED stand-in for the recording (helpers.synthetic, generator version "
        f"{synthetic.GENERATOR_VERSION}, seed {params.seed}), not real neurons."
    )


# ----------------------------------------------------------------------------------------------------
# Public retrieval and loading


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
    if _resolve(_mode(source), folder) == "osf":
        return _fetch_real(name, folder)
    return _ensure_standin(folder)[name]


def _load_arrays(name: str, source: str | None) -> tuple[dict[str, np.ndarray], str]:
    """The arrays of file ``name`` (md5-checked as read, content validated) and the source used."""
    folder = cache_dir()
    used = _resolve(_mode(source), folder)
    for _ in range(3):
        if used == "osf":
            path, expected = folder / name, REAL_FILES[name].md5
        else:
            path = _standin_path(name, folder, _standin_tag()[0])
            expected = _recorded_md5(path)
        # Check the very bytes that get loaded; if they fail, fetch() downloads or regenerates them.
        payload = path.read_bytes() if path.is_file() else None
        if payload is not None and hashlib.md5(payload).hexdigest() == expected:
            break
        fetch(name, source=used, dest=folder)
    else:
        raise DataUnavailableError(f"{path} keeps failing its md5 check; delete it and try again.")
    fix = (
        f"Delete {path} and run again to fetch it afresh."
        if used == "osf"
        else f"Delete {path} to regenerate it; if that does not help, helpers.synthetic has a bug."
    )
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as err:  # not a readable .npz at all
        raise DataFileError(f"{path} is not a readable .npz file ({err}). {fix}") from err
    _check_content(arrays, name, str(path), fix)
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
    arrays, used = _load_arrays(BINNED_FILE, source)
    resp = arrays["resp"]
    stimuli = np.asarray(arrays["stimuli"], dtype=np.float64).reshape(-1)
    if width > 1:
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
        resp = averaging @ np.asarray(resp, dtype=np.float64)
        stimuli = averaging @ stimuli
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
    arrays, _ = _load_arrays(SPLIT_FILE, source)
    stimuli = np.asarray(arrays["stimuli"]).reshape(-1, 1)
    return _as_tensor(arrays["resp_train"]), _as_tensor(arrays["resp_test"]), _as_tensor(stimuli)


# ----------------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.data fetch [--source auto|osf|synthetic] [--dest DIR]``; returns the exit code."""
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
    args = parser.parse_args(argv)

    folder = args.dest.expanduser().absolute() if args.dest is not None else cache_dir()
    try:
        used = _resolve(_mode(args.source), folder)
        paths = [fetch(name, source=used, dest=folder) for name in FILE_NAMES]
    except (DataUnavailableError, DataFileError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    kind = "real data from OSF" if used == "osf" else "SIMULATED stand-in"
    print(f"source: {used} ({kind}); folder: {folder}")
    for path in paths:
        print(f"{_md5_of_file(path)}  {path}")
    if args.dest is not None:
        print(f"To use these files elsewhere: copy {folder} and set {ENV_CACHE} to its new location.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
