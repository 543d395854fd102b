"""Self-checks for the exercises: ``checks.<exercise name>(<the student's function or class>)``.

Students call, in the cell after each exercise::

    from helpers import checks
    checks.preferred_orientation(preferred_orientation)
    checks.classifier(make_classifier)
    checks.regularized_loss(regularized_loss)
    checks.conv_fc_encoder(ConvFC)

Each check runs the student's function or class on small inputs of its own (synthetic tuning curves
with known peaks, random weights, ...), compares what comes back with a reference it computes itself,
prints a one-line verdict (what is wrong, in plain words, never the solution) and returns a
:class:`CheckResult`, which is truthy when the answer is right. Before the exercise is done (its code
still raises ``NotImplementedError``, or a ``not_done`` placeholder is passed) it says so kindly. A
check never raises: anything the student's code raises becomes a failed result with its message.

Every exercise is checked in three steps, kept apart so that the grader (``python -m helpers.grade``)
can run the middle one in the submission's sandboxed kernel and the other two in its own process:

1. :func:`make_inputs`: the inputs (plain numpy arrays and numbers). The self-check uses the
   exercise's fixed seed; the grader draws a fresh secret one per submission.
2. :func:`observe`: calls the student's object on those inputs; returns a status and only plain
   values (numpy arrays, and JSON-able facts such as layer shapes). Nothing else leaves the kernel.
3. :func:`judge`: computes the reference from the inputs and compares; returns the verdict.

One function per exercise of :data:`helpers.exercises.EXERCISES` is made below, from the registry:
exercise ``e`` is checked by the module ``helpers/checks/<e.check_module>.py`` (its ``make_inputs``,
``observe`` and ``judge``; its docstring is the check's). Adding an exercise needs its registry entry
and that module, nothing here.
"""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType

import numpy as np

from helpers import exercises

from .common import CheckResult, judge_exercise, observe_exercise, shorten

_API = ["CheckResult", "check", "make_inputs", "observe", "judge"]
__all__ = [*_API, *exercises.names()]


def _load_check_modules() -> dict[str, ModuleType]:
    """Each exercise's check module, by exercise name, imported before any wrapper is made.

    A check module may share its exercise's name (``helpers.checks.classifier``): importing it binds
    that name on this package, so every module is imported first and the wrappers bound after. The
    attribute ``checks.classifier`` is then the check function (so is ``import helpers.checks.classifier
    as x``); the module itself is ``importlib.import_module("helpers.checks.classifier")``.
    """
    return {
        exercise.name: importlib.import_module(f"{__name__}.{exercise.check_module}")
        for exercise in exercises.EXERCISES
    }


_CHECK_MODULES = _load_check_modules()


def _check_module(name: str) -> ModuleType:
    """The check module of exercise ``name``; a KeyError that lists the exercises otherwise."""
    exercises.get(name)
    return _CHECK_MODULES[name]


def make_inputs(name: str, rng: np.random.Generator) -> dict:
    """Fresh inputs for exercise ``name`` drawn with ``rng``: plain numpy arrays and numbers."""
    return _check_module(name).make_inputs(rng)


def observe(name: str, obj, inputs: dict) -> tuple[str, str, dict]:
    """Run the student's ``obj`` for exercise ``name`` on ``inputs``; never raises.

    Returns (status, message, observed): status ``"ok"``, ``"not_done"`` or ``"error"`` (message
    says what went wrong), observed the plain values :func:`judge` needs.
    """
    return observe_exercise(exercises.get(name), _check_module(name), obj, inputs)


def judge(name: str, inputs: dict, status: str, message: str, observed: dict) -> CheckResult:
    """The verdict for exercise ``name`` from what :func:`observe` returned on ``inputs``.

    ``status`` may also be ``"missing"`` (the notebook does not define the object). Never raises.
    """
    return judge_exercise(exercises.get(name), _check_module(name), inputs, status, message, observed)


def check(name: str, obj, inputs: dict | None = None) -> CheckResult:
    """Check the student's ``obj`` for exercise ``name``, on the check's own inputs unless given.

    Returns the verdict without printing it; never raises.
    """
    try:
        if inputs is None:
            inputs = make_inputs(name, np.random.default_rng(exercises.get(name).seed))
        status, message, observed = observe(name, obj, inputs)
        return judge(name, inputs, status, message, observed)
    except Exception as error:  # noqa: BLE001 - a check must never crash the student's notebook
        reason = f"the check itself failed ({type(error).__name__}: {shorten(error)}); please report this"
        return CheckResult.failure(name, reason)


def _self_check(exercise: exercises.Exercise):
    """The notebook's check for ``exercise``: print the one-line verdict, return the CheckResult."""

    def self_check(obj, /) -> CheckResult:
        result = check(exercise.name, obj)
        print(result.message)
        return result

    self_check.__name__ = self_check.__qualname__ = exercise.name
    self_check.__module__ = __name__
    asked = inspect.getdoc(_CHECK_MODULES[exercise.name]) or exercise.summary
    self_check.__doc__ = (
        f"Check your answer to exercise '{exercise.name}': "
        f"``checks.{exercise.name}({exercise.object_name})``.\n\n{asked}\n\n"
        "Prints a one-line verdict (what is wrong, never the solution) and returns a CheckResult, "
        "truthy when the answer is right."
    )
    parameter = inspect.Parameter(exercise.object_name, inspect.Parameter.POSITIONAL_ONLY)
    self_check.__signature__ = inspect.Signature([parameter], return_annotation=CheckResult)
    return self_check


for _exercise in exercises.EXERCISES:
    if _exercise.name in (*_API, "common"):
        raise ValueError(
            f"exercise {_exercise.name!r} would hide helpers.checks.{_exercise.name}: rename it in "
            "helpers/exercises.py"
        )
    globals()[_exercise.name] = _self_check(_exercise)
del _exercise
