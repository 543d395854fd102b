"""What every check shares: the verdict, calling the student's code safely, and the three steps' frame.

An exercise's check module (``helpers/checks/<module>.py``) supplies ``make_inputs(rng)``,
``observe(obj, inputs)`` and ``judge(inputs, observed)``. This module wraps the last two:
:func:`observe_exercise` runs the student's object and turns whatever it does into a status,
:func:`judge_exercise` turns that status and the observed values into a :class:`CheckResult`.

In the grading kernel, the grader loads this file and the exercise's module by path under private
names (``helpers.grade.transport``). So the check modules import only this one, relatively (``from
.common import ...``), and this one imports nothing of ``helpers`` but
:func:`helpers.placeholders.is_placeholder`, which must be the notebook's own: its placeholders are
instances of that module's class.
"""

from __future__ import annotations

import contextlib
import random
import warnings
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import torch

from helpers.placeholders import is_placeholder

__all__ = [
    "PASS_MARK",
    "FAIL_MARK",
    "TODO_MARK",
    "NOT_DONE",
    "RTOL",
    "ATOL",
    "CheckResult",
    "ExerciseNotDone",
    "StudentError",
    "shorten",
    "call",
    "as_array",
    "as_scalar",
    "as_shape",
    "close",
    "load_parameter",
    "isolated_state",
    "observe_exercise",
    "judge_exercise",
]

PASS_MARK, FAIL_MARK, TODO_MARK = "✓", "✗", "…"
NOT_DONE = "not done yet: complete the exercise above, then run this cell again"
RTOL, ATOL = 1e-4, 1e-5  # float32 results against float64 references


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a check: truthy when the answer is right.

    Attributes:
        passed: whether the answer is right.
        message: the one-line verdict printed for the student (with a mark and the exercise's name).
        reason: what is wrong, without the mark and name ("" when passed): what the grader reports.
        not_done: True when the exercise has not been done yet.
    """

    passed: bool
    message: str
    reason: str = ""
    not_done: bool = False

    @classmethod
    def success(cls, name: str) -> CheckResult:
        """Exercise ``name`` is right."""
        return cls(True, f"{PASS_MARK} {name} looks right")

    @classmethod
    def failure(cls, name: str, reason: str) -> CheckResult:
        """Exercise ``name`` is wrong (or could not be checked) because of ``reason``."""
        return cls(False, f"{FAIL_MARK} {name}: {reason}", reason)

    @classmethod
    def undone(cls, name: str) -> CheckResult:
        """Exercise ``name`` has not been done yet."""
        return cls(False, f"{TODO_MARK} {name}: {NOT_DONE}", "not done yet", not_done=True)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    def _ipython_display_(self) -> None:
        # The check has printed the verdict already; a notebook shows nothing more for the result.
        return None


class ExerciseNotDone(Exception):
    """The student's code raised NotImplementedError: the exercise is not done yet."""


class StudentError(Exception):
    """The student's code raised, or returned something that cannot be checked; the message says which."""


def shorten(error: BaseException | str, limit: int = 300) -> str:
    """``error``'s text on one line, cut to ``limit`` characters (ending in "...")."""
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def call(what: str, func, *args, **kwargs):
    """``func(*args, **kwargs)``; what the student's code raises becomes ExerciseNotDone or StudentError.

    ``what`` is how the call reads in a verdict, e.g. ``"net(stimuli)"``.
    """
    try:
        return func(*args, **kwargs)
    except NotImplementedError as error:
        raise ExerciseNotDone(str(error)) from None
    except (Exception, SystemExit) as error:  # anything a wrong answer can raise, exit() included
        raise StudentError(f"{what} raised {type(error).__name__}: {shorten(error)}") from None


def as_array(value, what: str) -> np.ndarray:
    """A returned tensor / array / sequence of numbers as a float64 numpy array (StudentError if not)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.is_complex():
            raise StudentError(f"{what} returned complex numbers")
        value = value.double().numpy()
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - any conversion failure means "not numbers"
        array = np.asarray(None, dtype=object)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise StudentError(f"{what} returned a {type(value).__name__}, not an array or tensor of numbers")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise StudentError(f"{what} returned complex numbers")
    return array.astype(np.float64)


def as_scalar(value, what: str) -> float:
    """A returned loss value as a float: one number, else StudentError."""
    array = as_array(value, what)
    if array.size != 1:
        raise StudentError(f"{what} returned {array.size} numbers (shape {array.shape}), not one loss value")
    return float(array.reshape(()))


def as_shape(values) -> tuple[int, ...]:
    """A shape read back from JSON (a list) as a tuple of ints."""
    return tuple(int(n) for n in values)


def close(a, b, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Same shape, all finite, and equal within the tolerances (float32 against float64)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (
        a.shape == b.shape and bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=rtol, atol=atol))
    )


def mistaken_output(got, expected, mistakes, otherwise: str) -> str | None:
    """None when ``got`` is close to ``expected``; else the reason of the first ``(reason, value)`` of
    ``mistakes`` whose value ``got`` is close to (pass a generator: each mistake's value is computed
    only if the ones before it did not match); else ``otherwise``."""
    if close(got, expected):
        return None
    return next((reason for reason, value in mistakes if close(got, value)), otherwise)


def load_parameter(parameter: torch.Tensor, value: np.ndarray) -> None:
    """Overwrite a layer's weight or bias with the check's own values (same shape), without autograd."""
    with torch.no_grad():
        parameter.copy_(torch.from_numpy(value))


@contextlib.contextmanager
def isolated_state():
    """Run the student's code without changing the notebook's random streams or autograd mode, quietly.

    A check that consumed the notebook's random numbers would change every result after it (a
    training run seeded further up would no longer give the numbers the text quotes).
    """
    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()
    python_state = random.getstate()
    grad_enabled = torch.is_grad_enabled()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the one-line verdict is what the student should read
            yield
    finally:
        torch.random.set_rng_state(torch_state)
        np.random.set_state(numpy_state)
        random.setstate(python_state)
        torch.set_grad_enabled(grad_enabled)


def observe_exercise(exercise, check: ModuleType, obj, inputs: dict) -> tuple[str, str, dict]:
    """Step 2 for any exercise: run ``check.observe`` on the student's ``obj``, never raising.

    Args:
        exercise: its :class:`helpers.exercises.Exercise` entry (name, object_name, kind).
        check: its check module.
        obj: what the student's notebook defines (a function, a class, a placeholder, anything).
        inputs: what ``check.make_inputs`` drew.

    Returns:
        (status, message, observed): status ``"ok"`` (observed holds plain values for the judge),
        ``"not_done"`` or ``"error"`` (message says what went wrong).
    """
    if is_placeholder(obj):
        return "not_done", "", {}
    if exercise.kind == "class" and not isinstance(obj, type) and callable(obj):
        pass  # the class's own check says what is wrong
    elif not callable(obj):
        return (
            "error",
            (
                f"expects the function `{exercise.object_name}` itself, got a value of type "
                f"{type(obj).__name__}: pass the function, "
                f"e.g. checks.{exercise.name}({exercise.object_name})"
            ),
            {},
        )
    try:
        with isolated_state():
            return "ok", "", check.observe(obj, inputs)
    except ExerciseNotDone:
        return "not_done", "", {}
    except StudentError as error:
        return "error", str(error), {}
    except (Exception, SystemExit) as error:  # the student's object misbehaved in some other way
        return "error", f"{type(error).__name__} while running your code: {shorten(error)}", {}


def judge_exercise(
    exercise, check: ModuleType, inputs: dict, status: str, message: str, observed: dict
) -> CheckResult:
    """Step 3 for any exercise: the verdict from what :func:`observe_exercise` returned.

    ``status`` may also be ``"missing"`` (the notebook does not define the object). Observed values of
    an unexpected form (forged, or from a broken answer) fail with a reason; this never raises.
    """
    name = exercise.name
    if status == "not_done":
        return CheckResult.undone(name)
    if status == "missing":
        reason = f"`{exercise.object_name}` is not defined"
    elif status == "ok":
        try:
            reason = check.judge(inputs, observed)
        except Exception as error:  # noqa: BLE001 - observed values of an unexpected form
            reason = f"returned results that could not be checked ({type(error).__name__}: {shorten(error)})"
    else:
        reason = message or "failed"
    if reason is None:
        return CheckResult.success(name)
    return CheckResult.failure(name, reason)
