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

import json
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
#: What a run can end in: observe's statuses, and "missing" when the notebook lacks the object.
STATUSES = ("ok", "not_done", "error", "missing")
_HELPERS = Path(__file__).resolve().parents[1]


class RunUnfinished(Exception):
    """The kernel's run of an exercise wrote no valid status: it did not finish."""


def save_plain(folder: str | Path, values: dict) -> None:
    """Arrays as ``<key>.npy`` (never pickled), everything else as JSON in facts.json (atomically).

    Keys are identifiers (up to 64 characters) other than ``facts`` and ``status``. The .npy files
    are written in place: a run cut short leaves no status.json, and then nothing of it is read.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    facts = {}
    for key, value in values.items():
        if not _KEY.match(key) or key in ("facts", "status"):
            raise ValueError(f"cannot save {key!r}: keys are identifiers other than 'facts' and 'status'")
        if isinstance(value, np.ndarray):
            np.save(folder / f"{key}.npy", value, allow_pickle=False)
        else:
            facts[key] = value
    atomic_write(folder / FACTS_FILE, json.dumps(facts, allow_nan=True))


def load_plain(folder: str | Path) -> dict:
    """What save_plain wrote: .npy files loaded without pickle, facts.json; anything else is ignored.

    Raises ValueError for a .npy file that holds objects or is larger than MAX_FILE_BYTES.
    """
    folder = Path(folder)
    values: dict = {}
    facts = _read_json(folder / FACTS_FILE)
    if isinstance(facts, dict):
        values.update(
            {key: value for key, value in facts.items() if isinstance(key, str) and _KEY.match(key)}
        )
    for path in sorted(folder.glob("*.npy")):
        if _KEY.match(path.stem) and path.is_file() and not path.is_symlink():
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ValueError(f"{path.name} is larger than {MAX_FILE_BYTES} bytes")
            values[path.stem] = np.load(path, allow_pickle=False)
    return values


def _read_json(path: Path):
    """The JSON in ``path``; None when it is missing, a symlink, too large or not JSON."""
    if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_JSON_BYTES:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
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


def read_outputs(folder: str | Path) -> tuple[str, str, dict]:
    """In the grader: (status, message, observed) as run_in_kernel wrote them into ``folder``.

    Raises RunUnfinished when there is no valid status.json, and ValueError (or OSError) when the
    observed values cannot be read (e.g. a pickled array). The message is as the kernel wrote it.
    """
    folder = Path(folder)
    status = _read_json(folder / STATUS_FILE)
    if not isinstance(status, dict) or status.get("status") not in STATUSES:
        raise RunUnfinished(f"no valid {STATUS_FILE} in {folder}")
    observed = load_plain(folder)
    message = status.get("message") if isinstance(status.get("message"), str) else ""
    return status["status"], message, observed
