"""The course's exercises, listed once. Everything that needs the list reads it from here.

The notebook generator (``scripts/make_notebooks.py``), the self-checks (``helpers.checks``), the
grader (``helpers.grade``), the docs table (``docs/notebooks.md``, kept equal by a test) and the tests
all take the exercises, their order, their notebooks and their points from :data:`EXERCISES`.

To add an exercise: a solution cell with its markers in ``solutions/``, one entry here, one check
module in ``helpers/checks/`` (README, "Adding or editing an exercise").
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Exercise", "EXERCISES", "get", "names", "in_notebook"]


@dataclass(frozen=True)
class Exercise:
    """One exercise: what the student writes, where, what it is worth, and which module checks it.

    Attributes:
        name: the stable name (cell metadata ``"exercise"``, ``checks.<name>``, grade columns).
        notebook: the solution notebook's stem, e.g. ``"01_decoding"``.
        object_name: what the exercise cell defines, e.g. ``"make_classifier"``.
        kind: ``"function"`` or ``"class"``.
        points: what the exercise is worth when graded.
        check_module: the module in ``helpers/checks/`` that checks it (its stem).
        seed: the self-check's fixed inputs; the grader draws fresh ones.
        summary: one line for the docs table: what the student completes.
    """

    name: str
    notebook: str
    object_name: str
    kind: str
    points: int
    check_module: str
    seed: int
    summary: str

    def __post_init__(self):
        if self.kind not in ("function", "class"):
            raise ValueError(f"exercise {self.name!r}: kind is 'function' or 'class', not {self.kind!r}")
        if not isinstance(self.points, int) or self.points < 0:
            raise ValueError(f"exercise {self.name!r}: points must be an int >= 0, not {self.points!r}")


#: In the course's order (the grade table's columns follow it).
EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        name="preferred_orientation",
        notebook="01_decoding",
        object_name="preferred_orientation",
        kind="function",
        points=2,
        check_module="preferred_orientation",
        seed=101,
        summary=(
            "`preferred_orientation(resp, stimuli_deg, sigma_bins=5) -> (n_neurons,)` degrees: "
            "Gaussian-smooth each tuning curve over stimuli (axis 0), take the argmax"
        ),
    ),
    Exercise(
        name="classifier",
        notebook="01_decoding",
        object_name="make_classifier",
        kind="function",
        points=3,
        check_module="classifier",
        seed=102,
        summary=(
            "`make_classifier(n_inputs, n_classes, n_hidden=20) -> (net, loss_fn)`: a "
            "`DeepNetSoftmax` and `nn.NLLLoss()`"
        ),
    ),
    Exercise(
        name="regularized_loss",
        notebook="01_decoding",
        object_name="regularized_loss",
        kind="function",
        points=2,
        check_module="regularized_loss",
        seed=103,
        summary=(
            "`regularized_loss(output, target, weights, L2_penalty=0.0, L1_penalty=0.0)`: NLL plus "
            "L2 and L1 penalties on `weights` (the input layer's)"
        ),
    ),
    Exercise(
        name="conv_fc_encoder",
        notebook="02_encoding",
        object_name="ConvFC",
        kind="class",
        points=3,
        check_module="conv_fc_encoder",
        seed=104,
        summary=(
            "`class ConvFC(nn.Module)`: `__init__(n_neurons, c_in=1, c_out=6, K=7, image_shape=(12, 16), "
            "filters=None)` with `self.conv`, `self.out_layer`; `forward(s)` (n, 1, 12, 16) -> (n, n_neurons)"
        ),
    ),
)

_BY_NAME = {exercise.name: exercise for exercise in EXERCISES}
if len(_BY_NAME) != len(EXERCISES):
    raise ValueError("two exercises share a name in helpers/exercises.py: each name must be unique")


def names() -> list[str]:
    """The exercises' stable names, in the course's order."""
    return [exercise.name for exercise in EXERCISES]


def get(name: str) -> Exercise:
    """The exercise called ``name``; a ``KeyError`` that lists the known names otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(
            f"no exercise called {name!r}; the exercises are {names()} (helpers/exercises.py)"
        ) from None


def in_notebook(stem: str) -> list[Exercise]:
    """The exercises of the notebook ``stem`` (e.g. ``"01_decoding"``), in order."""
    return [exercise for exercise in EXERCISES if exercise.notebook == stem]
