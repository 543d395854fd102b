"""Between the grader and the grading kernel: plain files only (.npy without pickle, JSON).

For each exercise the grader writes the inputs into ``<folder>/in`` (:func:`save_plain`) and runs
:func:`driver_code` in the kernel. The driver loads this file, ``helpers/exercises.py``,
``helpers/checks/common.py`` and the exercise's check module by path, under private module names
(``_nma_grade_<random>.<name>``), so nothing the notebook defined or imported can stand in for them;
:func:`run_in_kernel` then observes the notebook's object and writes what it saw into
``<folder>/out``, ``status.json`` last. The grader reads it back (:func:`read_outputs`) and judges it
in its own process, against the inputs it kept in memory.

Inside the kernel this module is loaded by path too, so it imports nothing of ``helpers`` but
``helpers.files``. A notebook can still forge the output files (they are in its folder): that gains
nothing, because the judge compares them with references computed from inputs the grader kept.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
from pathlib import Path

import numpy as np

from helpers.files import atomic_write

__all__ = [
    "FACTS_FILE",
    "STATUS_FILE",
    "MAX_FILE_BYTES",
    "STATUSES",
    "RunUnfinished",
    "plain_files",
    "save_plain",
    "load_plain",
    "driver_code",
    "run_in_kernel",
    "read_outputs",
]

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
FACTS_FILE, STATUS_FILE = "facts.json", "status.json"
MAX_FILE_BYTES = 64 * 1024 * 1024  # one .npy file read back
MAX_JSON_BYTES = 1024 * 1024
MAX_ARRAYS = 64  # .npy files read back from one run
#: What a run can end in: observe's statuses, and "missing" when the notebook lacks the object.
STATUSES = ("ok", "not_done", "error", "missing")
_HELPERS = Path(__file__).resolve().parents[1]


class RunUnfinished(Exception):
    """The kernel's run of an exercise wrote no valid status: it did not finish."""


def plain_files(values: dict) -> dict[str, bytes]:
    """File name -> bytes for ``values``: arrays as ``<key>.npy`` (never pickled), everything else
    as JSON in facts.json. Keys are identifiers (up to 64 characters) other than ``facts`` and
    ``status``; ValueError otherwise."""
    files, facts = {}, {}
    for key, value in values.items():
        if not _KEY.match(key) or key in ("facts", "status"):
            raise ValueError(f"cannot save {key!r}: keys are identifiers other than 'facts' and 'status'")
        if isinstance(value, np.ndarray):
            buffer = io.BytesIO()
            np.save(buffer, value, allow_pickle=False)
            files[f"{key}.npy"] = buffer.getvalue()
        else:
            facts[key] = value
    files[FACTS_FILE] = json.dumps(facts, allow_nan=True).encode("utf-8")
    return files


def save_plain(folder: str | Path, values: dict) -> None:
    """:func:`plain_files` written into ``folder`` (made if missing), facts.json last and atomically.
    A run cut short leaves no status.json, and then nothing of it is read."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = plain_files(values)
    facts = files.pop(FACTS_FILE)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    atomic_write(folder / FACTS_FILE, facts)


def _read_bytes(folder: Path, name: str, max_bytes: int) -> bytes:
    """The kernel's reader of the grader's own files (the grader reads through untrusted's)."""
    path = folder / name
    if path.is_symlink() or not path.is_file() or path.stat().st_size > max_bytes:
        raise ValueError(f"{name} is not a regular file of at most {max_bytes} bytes")
    return path.read_bytes()


def load_plain(folder: str | Path, read=_read_bytes) -> dict:
    """What save_plain wrote: .npy files loaded without pickle, facts.json; anything else is ignored.

    ``read(folder, name, max_bytes) -> bytes`` reads one file (raising for one that may not be read).
    Raises ValueError for a .npy file that holds objects, is larger than MAX_FILE_BYTES or cannot
    be read, and when there are more than MAX_ARRAYS of them.
    """
    folder = Path(folder)
    values: dict = {}
    facts = _read_json(folder, FACTS_FILE, read)
    if isinstance(facts, dict):
        values.update(
            {key: value for key, value in facts.items() if isinstance(key, str) and _KEY.match(key)}
        )
    names = sorted(name for name in os.listdir(folder) if name.endswith(".npy") and _KEY.match(name[:-4]))
    if len(names) > MAX_ARRAYS:
        raise ValueError(f"{len(names)} .npy files, more than the {MAX_ARRAYS} a run writes")
    for name in names:
        try:
            data = read(folder, name, MAX_FILE_BYTES)
        except Exception as error:  # noqa: BLE001 - the reader's refusal, whatever its kind
            raise ValueError(f"{name} was not read ({error})") from None
        values[name[:-4]] = np.load(io.BytesIO(data), allow_pickle=False)
    return values


def _read_json(folder: Path, name: str, read=_read_bytes):
    """The JSON in ``folder/name``; None when it is missing, refused by ``read``, too large or not JSON."""
    try:
        return json.loads(read(folder, name, MAX_JSON_BYTES).decode("utf-8"))
    except Exception:  # noqa: BLE001 - missing, refused or not JSON: all mean no value
        return None


_DRIVER = """\
def _nma_grade_run():
    import importlib.util
    import sys
    import types
    package = "_nma_grade_{token}"

    def load(name, path):
        spec = importlib.util.spec_from_file_location(package + "." + name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # for relative imports and dataclasses
        spec.loader.exec_module(module)
        return module

    root = types.ModuleType(package)
    root.__path__ = []  # a package in which nothing but what is loaded here can be found
    sys.modules[package] = root
    try:
        registry = load("exercises", {exercises_file!r})
        common = load("common", {common_file!r})
        check = load({check_module!r}, {check_file!r})
        transport = load("transport", {transport_file!r})
        transport.run_in_kernel(registry.get({name!r}), common, check, globals(), {folder!r})
    finally:
        for key in [key for key in sys.modules if key == package or key.startswith(package + ".")]:
            del sys.modules[key]
try:
    _nma_grade_run()
finally:
    del _nma_grade_run
"""


def driver_code(exercise, folder: str | Path) -> str:
    """The code the grading kernel runs for ``exercise`` (a helpers.exercises.Exercise) on ``folder``."""
    check_file = _HELPERS / "checks" / f"{exercise.check_module}.py"
    if not check_file.is_file():
        raise FileNotFoundError(f"exercise {exercise.name!r}: its check module {check_file} does not exist")
    return _DRIVER.format(
        token=secrets.token_hex(8),
        exercises_file=str(_HELPERS / "exercises.py"),
        common_file=str(_HELPERS / "checks" / "common.py"),
        check_module=exercise.check_module,
        check_file=str(check_file),
        transport_file=str(Path(__file__).resolve()),
        name=exercise.name,
        folder=str(folder),
    )


def run_in_kernel(exercise, common, check, namespace: dict, folder: str | Path) -> None:
    """In the grading kernel: observe the notebook's object on ``folder/in``, write ``folder/out``.

    Args:
        exercise: its registry entry; ``exercise.object_name`` is looked up in ``namespace``.
        common: ``helpers.checks.common`` as the driver loaded it.
        check: the exercise's check module as the driver loaded it.
        namespace: the notebook's globals.
        folder: holds ``in`` (from save_plain) and an empty ``out``.

    Only plain arrays and JSON-able values are written; status.json last, so a missing one means the
    run did not finish.
    """
    folder = Path(folder)
    inputs = load_plain(folder / "in")
    if exercise.object_name in namespace:
        status, message, observed = common.observe_exercise(
            exercise, check, namespace[exercise.object_name], inputs
        )
    else:
        status, message, observed = "missing", "", {}
    plain = {}
    for key, value in observed.items():
        if isinstance(value, np.ndarray) and value.dtype != object:
            plain[key] = value
        elif isinstance(value, (bool, int, float, str, list, type(None))):
            plain[key] = value
    save_plain(folder / "out", plain)
    atomic_write(folder / "out" / STATUS_FILE, json.dumps({"status": status, "message": message}))


def read_outputs(work: str | Path, folder: str | Path) -> tuple[str, str, dict]:
    """In the grader: (status, message, observed) as run_in_kernel wrote them into ``work/folder``.

    ``work`` is the submission's work folder (a folder it cannot replace), ``folder`` a relative path
    in it. Every file is read through :func:`helpers.grade.untrusted.read_regular_file`: no link
    followed anywhere below ``work``, regular files only, size-capped. Raises RunUnfinished when there
    is no valid status.json, and ValueError (or OSError) when the observed values cannot be read
    (e.g. a pickled array). The message is as the kernel wrote it: at most an excerpt of it belongs
    in a report.
    """
    from helpers.grade.untrusted import read_regular_file  # the grader's side only

    work, folder = Path(work), Path(folder)

    def read(where: Path, name: str, max_bytes: int) -> bytes:
        return read_regular_file(work, where.relative_to(work) / name, max_bytes)

    status = _read_json(work / folder, STATUS_FILE, read)
    if not isinstance(status, dict) or status.get("status") not in STATUSES:
        raise RunUnfinished(f"no valid {STATUS_FILE} in {folder}")
    observed = load_plain(work / folder, read)
    message = status.get("message") if isinstance(status.get("message"), str) else ""
    return status["status"], message, observed
