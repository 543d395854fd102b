"""Downloading the real data files from OSF (or a mirror): md5-checked, written atomically, quick to give up.

A server that sends nothing for :data:`TIMEOUT` seconds (to connect, or between two pieces of the
file) counts as down: that is not retried, so an unreachable server costs about 10 s, not minutes.
Other failures (an error status, a broken connection, a wrong md5) are tried :data:`RETRIES` more
time(s) after :data:`RETRY_WAIT` seconds; client errors (HTTP 4xx but 408 and 429) are final.
:mod:`pooch`'s downloader streams the file; nothing here logs, so a failure reaches the user only as
the :class:`~helpers.data.store.DataUnavailableError` the caller turns into a message.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import NamedTuple

from helpers import settings
from helpers.files import atomic_path

from .store import DataUnavailableError, cache_dir, file_md5, folder_lock, make_folder

__all__ = ["REAL_FILES", "RETRIES", "RETRY_WAIT", "TIMEOUT", "RealFile", "download", "real_url"]


class RealFile(NamedTuple):
    """Where a real data file lives and its md5 (32 hex digits)."""

    url: str
    md5: str


#: The real files. Tests (or a mirror) may replace entries; ``NMA_DECODING_URL_BASE`` overrides the URLs.
REAL_FILES: dict[str, RealFile] = {
    settings.BINNED_FILE: RealFile("https://osf.io/683xc/download", "436599dfd8ebe6019f066c38aed20580"),
    settings.SPLIT_FILE: RealFile("https://osf.io/p3aeb/download", "b3f7245c6221234a676b71a1f43c3bb5"),
}

#: Seconds the server may send nothing (to connect, or within the download) before it counts as down.
TIMEOUT = 10.0
#: Extra attempts after a failure that is not a timeout.
RETRIES = 1
#: Seconds between two attempts.
RETRY_WAIT = 1.0


class _WrongChecksum(ValueError):
    """The downloaded bytes are not the published file."""


def real_url(name: str) -> str:
    """Address of the real file ``name``: ``<NMA_DECODING_URL_BASE>/<name>`` if that is set, else OSF's."""
    base = os.environ.get(settings.ENV_URL_BASE, "").strip()
    if base:
        return f"{base.rstrip('/')}/{name}"
    return REAL_FILES[name].url


def download(name: str, folder: Path) -> Path:
    """Put an intact copy of the real file ``name`` into ``folder`` and return its path.

    For a caller that has just found no intact copy there: a file already at ``folder / name`` is
    taken to be damaged and replaced (unless another process held the folder's lock meanwhile, in
    which case it is checked first). A good copy in the main cache folder is copied instead of
    downloaded. Raises :class:`~helpers.data.store.DataUnavailableError` (nothing left behind) if the
    file cannot be had.
    """
    url, md5 = real_url(name), REAL_FILES[name].md5
    target = folder / name
    if not url.lower().startswith(("http://", "https://")):
        raise DataUnavailableError(
            f"Cannot download {name} from {url!r}: only http:// and https:// addresses are supported. "
            f"Check {settings.ENV_URL_BASE}, or put the file in {folder} by hand.",
            file_name=name,
            cause="its address is not http:// or https://",
        )
    make_folder(folder, name)
    with folder_lock(folder, name) as waited:
        if waited and file_md5(target) == md5:
            return target  # another process fetched it while we waited
        if target.exists():
            # Damaged (an interrupted copy, or changed by hand): never load it, never leave it behind.
            print(f"The cached {name} is damaged (wrong md5): downloading it again.", flush=True)
            target.unlink()
        if not _copy_from_cache(name, target):
            _download_with_retry(name, url, target)
    return target


def _copy_from_cache(name: str, target: Path) -> bool:
    """If the main cache folder holds a good copy of ``name``, copy it to ``target`` atomically."""
    cached = cache_dir() / name
    if cached.resolve() == target.resolve() or file_md5(cached) != REAL_FILES[name].md5:
        return False
    with atomic_path(target) as partial:
        shutil.copyfile(cached, partial)
    return True


def _download_with_retry(name: str, url: str, target: Path) -> None:
    from requests import exceptions as rex

    attempts = 0
    while True:
        attempts += 1
        try:
            _download_once(name, url, target)
            return
        except (rex.RequestException, _WrongChecksum, OSError) as err:
            if attempts > RETRIES or _timed_out(err) or _client_error(err):
                raise _unavailable(name, url, target, err, attempts) from err
        time.sleep(RETRY_WAIT)


def _download_once(name: str, url: str, target: Path) -> None:
    """Stream ``url`` into a temporary file beside ``target``, which it replaces only if its md5 is right."""
    import pooch

    bar = _DownloadBar(name) if settings.progress_enabled() else False
    downloader = pooch.HTTPDownloader(progressbar=bar, timeout=TIMEOUT, chunk_size=1 << 20)
    try:
        with atomic_path(target) as partial:
            downloader(url, str(partial), None)
            got = file_md5(partial)
            if got != REAL_FILES[name].md5:
                raise _WrongChecksum(f"md5 {got}")
    finally:
        if bar:
            bar.close()


class _DownloadBar:
    """The progress bar pooch's downloader drives, drawn by ``tqdm.auto`` (a widget in Jupyter).

    Drawn only once the server has answered (pooch then sets ``total``), so a server that never
    answers leaves nothing on the screen.
    """

    def __init__(self, name: str):
        self._name = name
        self._bar = None

    @property
    def total(self):
        return None if self._bar is None else self._bar.total

    @total.setter
    def total(self, n_bytes: int) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=n_bytes or None, desc=self._name, unit="B", unit_scale=True, unit_divisor=1024)

    def update(self, n_bytes: int) -> None:
        self._bar.update(n_bytes)

    def reset(self) -> None:
        self._bar.reset(total=self._bar.total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _timed_out(err: BaseException) -> bool:
    """Whether the server sent nothing for TIMEOUT s (while connecting, or in the middle of the file)."""
    from requests import exceptions as rex

    if isinstance(err, rex.Timeout):
        return True
    return isinstance(err, rex.ConnectionError) and "timed out" in str(err).lower()


def _client_error(err: BaseException) -> bool:
    from requests import exceptions as rex

    """An HTTP 4xx answer other than 408 (timeout) and 429 (too many requests): asking again will not help."""
    if not isinstance(err, rex.HTTPError):
        return False
    code = getattr(err.response, "status_code", None)
    return isinstance(code, int) and 400 <= code < 500 and code not in (408, 429)


def _cause(err: BaseException) -> str:
    """What went wrong, in a few plain words (at most 40 characters, no address)."""
    from requests import exceptions as rex

    if _timed_out(err):
        return f"the server sent nothing for {TIMEOUT:g} s"
    if isinstance(err, rex.HTTPError):
        return f"the server answered HTTP {getattr(err.response, 'status_code', '?')}"
    if isinstance(err, (rex.ChunkedEncodingError, rex.ContentDecodingError)):
        return "the download broke off"
    if isinstance(err, rex.ConnectionError):
        return "could not connect to the server"
    if isinstance(err, _WrongChecksum):
        return "its md5 is not the published one"
    if isinstance(err, OSError):
        return "the file could not be written"
    return "the download failed"


def _unavailable(
    name: str, url: str, target: Path, err: BaseException, attempts: int
) -> DataUnavailableError:
    md5 = REAL_FILES[name].md5
    cause = _cause(err)
    if isinstance(err, _WrongChecksum):
        cause += f" ({md5}): the file is corrupt or has changed"
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return DataUnavailableError(
        f"Could not download the data file {name} from {url}{tries}: {cause} "
        f"[{type(err).__name__}: {err}].\n"
        "What to do:\n"
        "  - try again later (OSF is sometimes slow, rate-limited or down); or\n"
        f"  - download the file by hand from {url}, check that its md5 is {md5}, and save it as\n"
        f"    {target}; or\n"
        "  - use the simulated stand-in instead: set the environment variable "
        f"{settings.ENV_SOURCE}=synthetic\n"
        "    (figures then come from simulated data, not the recording).",
        reason=f"{name} could not be downloaded from {url}: {cause}.",
        file_name=name,
        cause=_cause(err),
    )
