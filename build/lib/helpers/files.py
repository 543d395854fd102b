"""Two small utilities the whole package shares: an atomic file write and the IPython cell transform.

``atomic_write`` and ``atomic_path`` never leave a half-written file: the content goes to a temporary
file in the target's folder, which replaces the target only once it is complete (``os.replace`` is
atomic on one file system); on any error the temporary file is removed and the old target, if any,
is untouched. The result honours the process's umask (0644 under umask 022), like a file made with
``open``, so a data folder can be shared by a class.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_write", "atomic_path", "python_source"]

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    # os.umask can only be read by setting it; the lock keeps two threads from racing on it.
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``, on error it is removed.

    For writers that want a file name rather than a stream (``np.savez``, a downloader). The folder
    must exist. Only the file is atomic, not the folder.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)


def atomic_write(path: str | os.PathLike, content: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Write ``content`` (bytes, or text in ``encoding``) to ``path`` atomically; create its folder.

    Returns the path. Text is written as given (no newline translation).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = content.encode(encoding) if isinstance(content, str) else bytes(content)
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        stream.write(payload)
    return path


def python_source(cell_source: str) -> str:
    """A notebook code cell as plain Python: IPython magics (``%env``, ``!pip``) turned into calls.

    Line numbers are kept, so a syntax error points at the cell's own line. A cell IPython cannot
    transform comes back unchanged, for ``ast.parse`` to report what is wrong with it.
    """
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with every kernel
        return cell_source
    try:
        return TransformerManager().transform_cell(cell_source)
    except Exception:  # noqa: BLE001 - reported by the caller's ast.parse, with a line number
        return cell_source
