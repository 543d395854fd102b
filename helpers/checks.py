"""Self-checks for the exercises, one function per exercise, and the logic the grader uses.

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

1. ``make_inputs(rng)``: the inputs (plain numpy arrays and numbers). The self-check uses a fixed
   seed; the grader draws a fresh secret one per submission.
2. ``observe(obj, inputs)``: calls the student's object on those inputs and returns only plain
   numbers (numpy arrays, and JSON-able facts such as layer shapes). Nothing else leaves the kernel.
3. ``judge(inputs, observed)``: computes the reference from the inputs and compares; returns ``None``
   when right, else the reason.

The self-check runs the three in the notebook's process; the grader runs step 2 through
``_kernel_run`` (inputs and outputs as .npy/.json files) and steps 1 and 3 itself.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import re
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter1d
from torch import nn

__all__ = ["CheckResult", "preferred_orientation", "classifier", "regularized_loss", "conv_fc_encoder"]

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

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    def _ipython_display_(self) -> None:
        # The check has printed the verdict already; a notebook shows nothing more for the result.
        return None


class _NotDone(Exception):
    """The student's code raised NotImplementedError: the exercise is not done yet."""


class _StudentError(Exception):
    """The student's code raised, or returned something that cannot be checked; the message says which."""


def _short(error: BaseException, limit: int = 300) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _call(what: str, func, *args, **kwargs):
    """``func(*args, **kwargs)``, turning what the student's code raises into _NotDone / _StudentError."""
    try:
        return func(*args, **kwargs)
    except NotImplementedError as error:
        raise _NotDone(str(error)) from None
    except (Exception, SystemExit) as error:  # anything a wrong answer can raise, exit() included
        raise _StudentError(f"{what} raised {type(error).__name__}: {_short(error)}") from None


def _array(value, what: str) -> np.ndarray:
    """A returned tensor / array / sequence of numbers as a float64 numpy array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.is_complex():
            raise _StudentError(f"{what} returned complex numbers")
        value = value.double().numpy()
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - any conversion failure means "not numbers"
        array = np.asarray(None, dtype=object)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise _StudentError(f"{what} returned a {type(value).__name__}, not an array or tensor of numbers")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise _StudentError(f"{what} returned complex numbers")
    return array.astype(np.float64)


def _scalar(value, what: str) -> float:
    array = _array(value, what)
    if array.size != 1:
        raise _StudentError(f"{what} returned {array.size} numbers (shape {array.shape}), not one loss value")
    return float(array.reshape(()))


def _close(a, b, rtol: float = RTOL, atol: float = ATOL) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (
        a.shape == b.shape and bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=rtol, atol=atol))
    )


def _shape(values) -> tuple[int, ...]:
    return tuple(int(n) for n in values)


@contextlib.contextmanager
def _isolated_state():
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


def _smooth(resp: np.ndarray, sigma: float, mode: str = "wrap", axis: int = 0) -> np.ndarray:
    return gaussian_filter1d(np.asarray(resp, dtype=np.float64), float(sigma), axis=axis, mode=mode)


# ------------------------------------------------------------------ preferred_orientation

_PREF_STIMULI, _PREF_STEP, _PREF_NEURONS, _PREF_SIGMA_OTHER = 90, 4.0, 28, 1.0


def _pref_inputs(rng: np.random.Generator) -> dict:
    """Tuning curves (stimuli x neurons) built so that every typical mistake gives other peaks.

    Four kinds of neuron, in a random order: a plateau split across 0/360 degrees (non-circular
    smoothing moves or loses its peak), a broad bump plus a one-bin spike (no smoothing picks the
    spike), a broad bump plus a narrow tall one (the narrow one wins only for small sigma_bins), and
    two random bumps. Gains and offsets differ per neuron, so smoothing across neurons changes peaks.
    """
    for _ in range(100):
        inputs = _pref_candidate(rng)
        if _pref_discriminates(inputs):
            return inputs
    raise RuntimeError("could not draw tuning curves that tell the mistakes apart; please report this bug")


def _pref_candidate(rng: np.random.Generator) -> dict:
    n, index = _PREF_STIMULI, np.arange(_PREF_STIMULI)

    def distance(center):
        d = np.abs(index - center) % n
        return np.minimum(d, n - d)

    def bump(center, sd):
        return np.exp(-(distance(center) ** 2) / (2 * sd**2))

    def plateau(start, width):
        curve = np.zeros(n)
        curve[(start + np.arange(width)) % n] = 1.0
        return curve

    curves = []
    kinds = np.resize(np.arange(5), _PREF_NEURONS)
    rng.shuffle(kinds)
    for kind in kinds:
        far = lambda c: (c + n // 2 + rng.integers(-8, 9)) % n  # noqa: E731 - a position across the circle
        if kind in (0, 1):  # a plateau split across the wrap-around, a lower competitor across the circle
            width = int(rng.choice([9, 11, 13]))
            at_start = int(rng.integers(1, 3)) if kind == 0 else width // 2
            if rng.random() < 0.5:
                at_start = width - at_start
            start = (n - (width - at_start)) % n
            curve = plateau(start, width) + 0.8 * plateau(far(start), width)
        elif kind == 2:  # a broad bump and a tall one-bin spike
            center = rng.integers(n)
            curve = bump(center, 6.0)
            curve[far(center)] += 1.8
        elif kind == 3:  # a broad bump and a narrow tall bump: which wins depends on sigma_bins
            center = rng.integers(n)
            curve = bump(center, 6.0) + 2.5 * bump(far(center), 0.7)
        else:  # two bumps of random widths and heights
            center = rng.integers(n)
            curve = bump(center, rng.uniform(3, 8)) + rng.uniform(0.5, 0.8) * bump(
                far(center), rng.uniform(3, 8)
            )
        curve = curve + rng.normal(0, 0.01, n)
        curves.append(rng.uniform(0.5, 2.0) * curve + rng.uniform(0.0, 1.0))
    offset = float(rng.integers(0, 8)) * 0.5
    stimuli = offset + _PREF_STEP * np.arange(n)
    return {
        "resp": np.stack(curves, axis=1).astype(np.float32),
        "stimuli_deg": stimuli.astype(np.float32).reshape(-1, 1),
        "sigma_other": _PREF_SIGMA_OTHER,
    }


def _pref_variants(resp: np.ndarray, sigma: float, default_call: bool) -> list[tuple[str, np.ndarray]]:
    """Typical mistakes: (what is wrong, the curves whose argmax over axis 0 such an answer takes)."""
    not_circular = (
        "smooths without wrapping around the circle: 0 and 360 degrees are the same orientation, so "
        "each tuning curve must be smoothed as a circular signal (look at the `mode` argument)"
    )
    variants = [("does not smooth the tuning curves before taking the peak, so noise picks it", resp)]
    variants += [
        (not_circular, _smooth(resp, sigma, mode)) for mode in ("reflect", "nearest", "mirror", "constant")
    ]
    across = "smooths across neurons (axis 1) instead of along each tuning curve (over stimuli, axis 0)"
    variants += [(across, _smooth(resp, sigma, mode, axis=1)) for mode in ("reflect", "wrap")]
    variants.append(
        ("takes the minimum of each smoothed tuning curve, not its maximum", -_smooth(resp, sigma))
    )
    if not default_call:
        variants.insert(
            0,
            (
                f"ignores sigma_bins: called with sigma_bins={sigma:g} it still smooths as with the "
                "default 5",
                _smooth(resp, 5.0),
            ),
        )
    return variants


def _near_max(curves: np.ndarray, chosen: np.ndarray, tol: float = 1e-3) -> np.ndarray:
    """Per neuron: is stimulus ``chosen`` (nearly) the peak of that neuron's curve in ``curves``?"""
    columns = np.arange(curves.shape[1])
    top, bottom = curves.max(axis=0), curves.min(axis=0)
    return curves[chosen, columns] >= top - tol * np.maximum(top - bottom, 1e-12)


def _pref_discriminates(inputs: dict) -> bool:
    """Does every typical mistake give a clearly wrong peak for at least two neurons?"""
    resp = inputs["resp"].astype(np.float64)
    sigma = inputs["sigma_other"]
    # The default call tells every mistake apart; the call with another sigma_bins, ignoring it.
    mistakes = [(5.0, curves) for _, curves in _pref_variants(resp, 5.0, True)]
    mistakes.append((sigma, _smooth(resp, 5.0)))
    for sigma_used, curves in mistakes:
        reference = _smooth(resp, sigma_used)
        if np.count_nonzero(~_near_max(reference, curves.argmax(axis=0), tol=0.01)) < 2:
            return False
    return True


def _pref_observe(fn, inputs: dict) -> dict:
    resp, stimuli = inputs["resp"], inputs["stimuli_deg"]
    first = _call(
        "preferred_orientation(resp, stimuli_deg)",
        fn,
        torch.from_numpy(resp.copy()),
        torch.from_numpy(stimuli.copy()),
    )
    first = _array(first, "preferred_orientation(resp, stimuli_deg)")
    sigma = inputs["sigma_other"]
    what = f"preferred_orientation(resp, stimuli_deg, sigma_bins={sigma:g})"
    second = _call(
        what, fn, torch.from_numpy(resp.copy()), torch.from_numpy(stimuli.copy()), sigma_bins=sigma
    )
    return {"pref_default": first, "pref_sigma": _array(second, what)}


def _pref_judge(inputs: dict, observed: dict) -> str | None:
    resp = np.asarray(inputs["resp"], dtype=np.float64)
    stimuli = np.asarray(inputs["stimuli_deg"], dtype=np.float64).reshape(-1)
    n_stimuli, n_neurons = resp.shape
    for key, sigma, default_call in (
        ("pref_default", 5.0, True),
        ("pref_sigma", inputs["sigma_other"], False),
    ):
        got = np.asarray(observed[key], dtype=np.float64)
        call = "" if default_call else f" (with sigma_bins={sigma:g})"
        if got.shape == (n_stimuli,):
            return (
                f"returns one value per stimulus{call} (shape {got.shape}) instead of one per neuron: take "
                "the peak of each neuron's tuning curve, i.e. the argmax over stimuli (axis 0), not over "
                "neurons"
            )
        if got.shape in ((n_neurons, 1), (1, n_neurons)):
            return (
                f"returns shape {got.shape}{call}; return a flat array of shape (n_neurons,) = ({n_neurons},)"
            )
        if got.shape != (n_neurons,):
            return (
                f"returns shape {got.shape}{call}; expected one orientation per neuron, shape ({n_neurons},)"
            )
        if not np.all(np.isfinite(got)):
            return f"returns NaN or infinite values{call}"
        reference = _smooth(resp, sigma)
        as_index = np.rint(got).astype(np.int64)
        if np.all(np.abs(got - as_index) < 1e-6) and np.all((as_index >= 0) & (as_index < n_stimuli)):
            if np.all(_near_max(reference, as_index)) and not np.allclose(stimuli[as_index], got, atol=1e-3):
                return (
                    f"returns the index of each peak{call}, not its orientation: look the orientation "
                    "(in degrees) up in stimuli_deg"
                )
        chosen = _stimulus_index(got, stimuli)
        if chosen is None:
            radians = _stimulus_index(np.rad2deg(got), stimuli)
            if radians is not None and np.all(_near_max(reference, radians)):
                return f"returns radians{call}; return degrees, as in stimuli_deg"
            return (
                f"returns values{call} that are not stimulus orientations (e.g. {got[0]:.4g}): return, for "
                "each neuron, the orientation in stimuli_deg where its smoothed tuning curve peaks"
            )
        right = _near_max(reference, chosen)
        if np.all(right):
            continue
        for reason, curves in _pref_variants(resp, sigma, default_call):
            if np.all(_near_max(curves, chosen)):
                return reason + ("" if default_call else f" (seen with sigma_bins={sigma:g})")
        wrong = np.flatnonzero(~right)
        return (
            f"gives a different preferred orientation than the peak of the Gaussian-smoothed tuning curve "
            f"for {wrong.size} of {n_neurons} neurons{call} (e.g. neuron {wrong[0]}: "
            f"{got[wrong[0]]:g} degrees)"
        )
    return None


def _stimulus_index(values: np.ndarray, stimuli: np.ndarray) -> np.ndarray | None:
    """The index in ``stimuli`` of each value (same orientation modulo 360), or None if one has none."""
    difference = np.abs(values[:, None] - stimuli[None, :]) % 360.0
    difference = np.minimum(difference, 360.0 - difference)
    index = difference.argmin(axis=1)
    if np.all(difference[np.arange(values.size), index] < 1e-3):
        return index
    return None


# ------------------------------------------------------------------ classifier

_CLS_INPUTS, _CLS_CLASSES, _CLS_HIDDEN, _CLS_HIDDEN_OTHER, _CLS_STIMULI = 13, 6, 20, 7, 9


def _cls_inputs(rng: np.random.Generator) -> dict:
    def normal(scale, *shape):
        return rng.normal(0, scale, shape).astype(np.float32)

    return {
        "n_inputs": _CLS_INPUTS,
        "n_classes": _CLS_CLASSES,
        "n_hidden_other": _CLS_HIDDEN_OTHER,
        "responses": normal(1.5, _CLS_STIMULI, _CLS_INPUTS),
        "in_weight": normal(0.4, _CLS_HIDDEN, _CLS_INPUTS),
        "in_bias": normal(0.3, _CLS_HIDDEN),
        "out_weight": normal(0.5, _CLS_CLASSES, _CLS_HIDDEN),
        "out_bias": normal(0.3, _CLS_CLASSES),
        "scores": normal(2.0, 10, _CLS_CLASSES),
        "classes": rng.integers(0, _CLS_CLASSES, 10).astype(np.int64),
    }


def _linear_layers(net: nn.Module):
    """(input layer, output layer, number of nn.Linear layers): `in_layer`/`out_layer` when named so."""
    linears = [module for module in net.modules() if isinstance(module, nn.Linear)]
    first = getattr(net, "in_layer", None) if isinstance(getattr(net, "in_layer", None), nn.Linear) else None
    last = getattr(net, "out_layer", None) if isinstance(getattr(net, "out_layer", None), nn.Linear) else None
    first = first or (linears[0] if linears else None)
    last = last or (linears[-1] if linears else None)
    return first, last, len(linears)


def _pair(made, what: str):
    if not isinstance(made, (tuple, list)) or len(made) != 2:
        raise _StudentError(
            f"{what} returned {type(made).__name__}; it should return two things: (net, loss_fn)"
        )
    return made


def _load(parameter, value: np.ndarray) -> None:
    with torch.no_grad():
        parameter.copy_(torch.from_numpy(value))


def _cls_observe(make_classifier, inputs: dict) -> dict:
    n_in, n_classes = int(inputs["n_inputs"]), int(inputs["n_classes"])
    what = f"make_classifier({n_in}, {n_classes})"
    net, loss_fn = _pair(_call(what, make_classifier, n_in, n_classes), what)
    observed: dict = {"net_type": type(net).__name__, "is_module": isinstance(net, nn.Module)}
    if not isinstance(net, nn.Module):
        return observed
    first, last, count = _linear_layers(net)
    observed["n_linear"] = count
    if count:
        observed["in_shape"] = list(first.weight.shape)
        observed["out_shape"] = list(last.weight.shape)
        observed["in_bias"] = first.bias is not None
        observed["out_bias"] = last.bias is not None
    if (
        count >= 2
        and observed["in_shape"] == [_CLS_HIDDEN, n_in]
        and observed["out_shape"] == [n_classes, _CLS_HIDDEN]
    ):
        _load(first.weight, inputs["in_weight"])
        _load(last.weight, inputs["out_weight"])
        if first.bias is not None:
            _load(first.bias, inputs["in_bias"])
        if last.bias is not None:
            _load(last.bias, inputs["out_bias"])
        net.eval()
        with torch.no_grad():
            responses = torch.from_numpy(inputs["responses"].copy()).to(first.weight.device)
            output = _call("net(responses)", net, responses)
        observed["forward"] = _array(output, "net(responses)")
    other = int(inputs["n_hidden_other"])
    what_other = f"make_classifier({n_in}, {n_classes}, n_hidden={other})"
    net_other, _ = _pair(_call(what_other, make_classifier, n_in, n_classes, n_hidden=other), what_other)
    if isinstance(net_other, nn.Module) and _linear_layers(net_other)[0] is not None:
        observed["in_shape_other"] = list(_linear_layers(net_other)[0].weight.shape)
    if not callable(loss_fn):
        raise _StudentError(
            f"{what} returned a loss_fn that is a {type(loss_fn).__name__}, not a loss function"
        )
    classes = torch.from_numpy(inputs["classes"].copy())
    with torch.no_grad():
        loss = _call("loss_fn(scores, classes)", loss_fn, torch.from_numpy(inputs["scores"].copy()), classes)
    observed["loss"] = np.asarray(_scalar(loss, "loss_fn(scores, classes)"))
    return observed


def _cls_reference(inputs: dict, observed: dict, *, relu=True, normalise="log_softmax", dim=1) -> np.ndarray:
    x = torch.from_numpy(np.asarray(inputs["responses"], dtype=np.float64))
    in_bias = (
        torch.from_numpy(np.asarray(inputs["in_bias"], dtype=np.float64)) if observed.get("in_bias") else None
    )
    out_bias = (
        torch.from_numpy(np.asarray(inputs["out_bias"], dtype=np.float64))
        if observed.get("out_bias")
        else None
    )
    hidden = F.linear(x, torch.from_numpy(np.asarray(inputs["in_weight"], dtype=np.float64)), in_bias)
    if relu:
        hidden = torch.relu(hidden)
    scores = F.linear(hidden, torch.from_numpy(np.asarray(inputs["out_weight"], dtype=np.float64)), out_bias)
    if normalise == "log_softmax":
        scores = F.log_softmax(scores, dim=dim)
    elif normalise == "softmax":
        scores = F.softmax(scores, dim=dim)
    return scores.numpy()


def _cls_judge(inputs: dict, observed: dict) -> str | None:
    n_in, n_classes = int(inputs["n_inputs"]), int(inputs["n_classes"])
    if not observed.get("is_module"):
        return (
            "make_classifier should return (net, loss_fn) with net a torch network (nn.Module), got a "
            f"{observed.get('net_type')}"
        )
    count = int(observed.get("n_linear", 0))
    if count < 2:
        return f"the network has {count} linear layer(s); it needs an input and an output layer (nn.Linear)"
    hidden, inputs_taken = _shape(observed["in_shape"])
    if inputs_taken != n_in:
        return (
            f"the input layer takes {inputs_taken} inputs; it should take n_inputs = {n_in} (one per neuron)"
        )
    if hidden != _CLS_HIDDEN:
        return f"the hidden layer has {hidden} units; with the default n_hidden it should have {_CLS_HIDDEN}"
    out_shape = _shape(observed["out_shape"])
    if out_shape != (n_classes, _CLS_HIDDEN):
        return (
            f"the output layer maps {out_shape[1]} inputs to {out_shape[0]} outputs; it should map the "
            f"{_CLS_HIDDEN} hidden units to n_classes = {n_classes} outputs"
        )
    other = int(inputs["n_hidden_other"])
    if "in_shape_other" in observed and _shape(observed["in_shape_other"])[0] != other:
        return (
            f"ignores n_hidden: make_classifier({n_in}, {n_classes}, n_hidden={other}) still builds "
            f"{_shape(observed['in_shape_other'])[0]} hidden units"
        )
    got = np.asarray(observed.get("forward"))
    expected_shape = (len(inputs["responses"]), n_classes)
    if got.shape != expected_shape:
        return (
            f"the network's output has shape {got.shape}; expected (n_stimuli, n_classes) = {expected_shape}"
        )
    if not _close(got, _cls_reference(inputs, observed)):
        variants = [
            (
                "the network outputs probabilities (a softmax); NLLLoss needs log-probabilities "
                "(a log-softmax)",
                {"normalise": "softmax"},
            ),
            (
                "the network outputs raw scores; its last step should turn them into log-probabilities over "
                "classes (a log-softmax)",
                {"normalise": None},
            ),
            ("the log-softmax normalises over stimuli (dim 0) instead of over classes (dim 1)", {"dim": 0}),
            (
                "the network outputs probabilities normalised over stimuli (dim 0); it should output "
                "log-probabilities over classes (dim 1)",
                {"normalise": "softmax", "dim": 0},
            ),
            ("the hidden layer has no ReLU", {"relu": False}),
        ]
        for reason, options in variants:
            if _close(got, _cls_reference(inputs, observed, **options)):
                return reason
        return (
            "the network's outputs are not the log-probabilities of a hidden layer of ReLUs followed by an "
            "output layer and a log-softmax over classes"
        )
    scores = torch.from_numpy(np.asarray(inputs["scores"], dtype=np.float64))
    classes = torch.from_numpy(np.asarray(inputs["classes"], dtype=np.int64))
    loss = float(np.asarray(observed["loss"]))
    if _close(loss, F.nll_loss(scores, classes).item()):
        return None
    if _close(loss, F.cross_entropy(scores, classes).item()):
        return (
            "loss_fn applies its own log-softmax (cross-entropy on raw scores); the network already outputs "
            "log-probabilities, so the loss should be the negative log likelihood (NLLLoss)"
        )
    if _close(loss, F.nll_loss(scores, classes, reduction="sum").item()):
        return "loss_fn sums over stimuli; it should average (as NLLLoss does by default)"
    if _close(loss, -F.nll_loss(scores, classes).item()):
        return "loss_fn has the wrong sign: the loss is minus the mean log-probability of the true class"
    return "loss_fn is not the negative log likelihood of the true classes (NLLLoss)"


# ------------------------------------------------------------------ regularized_loss


def _reg_inputs(rng: np.random.Generator) -> dict:
    log_probs = torch.log_softmax(torch.from_numpy(rng.normal(0, 2.0, (12, 5))), dim=1).numpy()
    return {
        "log_probs": log_probs.astype(np.float32),
        "scores": rng.normal(0, 2.0, (12, 5)).astype(np.float32),
        "target": rng.integers(0, 5, 12).astype(np.int64),
        "weights": rng.normal(0, 1.0, (6, 9)).astype(np.float32),
        "L2_penalty": round(float(rng.uniform(0.05, 0.3)), 4),
        "L1_penalty": round(float(rng.uniform(0.02, 0.2)), 4),
    }


_REG_CALLS = ("none", "L2", "L1", "both", "scores")


def _reg_observe(fn, inputs: dict) -> dict:
    l2, l1 = float(inputs["L2_penalty"]), float(inputs["L1_penalty"])
    penalties = {
        "none": {},
        "L2": {"L2_penalty": l2},
        "L1": {"L1_penalty": l1},
        "both": {"L2_penalty": l2, "L1_penalty": l1},
        "scores": {},
    }
    values, observed = [], {}
    for call in _REG_CALLS:
        kwargs = penalties[call]
        output = inputs["scores"] if call == "scores" else inputs["log_probs"]
        weights = torch.tensor(inputs["weights"], requires_grad=True)
        args = "".join(f", {key}={value:g}" for key, value in kwargs.items())
        what = f"regularized_loss({'scores' if call == 'scores' else 'output'}, target, weights{args})"
        with torch.enable_grad():
            loss = _call(
                what,
                fn,
                torch.from_numpy(output.copy()),
                torch.from_numpy(inputs["target"].copy()),
                weights,
                **kwargs,
            )
            values.append(_scalar(loss, what))
            if not np.array_equal(weights.detach().numpy(), inputs["weights"]):
                observed["changed_weights"] = True
            elif call == "both":
                observed["is_tensor"] = isinstance(loss, torch.Tensor)
                observed["has_grad"] = False
                if isinstance(loss, torch.Tensor) and loss.requires_grad and loss.numel() == 1:
                    _call(f"{what}.backward()", loss.reshape(()).backward)
                    if weights.grad is not None:
                        observed["has_grad"] = True
                        observed["grad"] = weights.grad.double().numpy()
    observed["values"] = np.asarray(values)
    return observed


def _reg_judge(inputs: dict, observed: dict) -> str | None:
    values = np.asarray(observed["values"], dtype=np.float64)
    if values.shape != (len(_REG_CALLS),):
        return "could not read the loss values"
    v_none, v_l2, v_l1, v_both, v_scores = values
    if observed.get("changed_weights"):
        return "changes `weights` in place; compute the penalties without modifying the weights"
    log_probs = torch.from_numpy(np.asarray(inputs["log_probs"], dtype=np.float64))
    scores = torch.from_numpy(np.asarray(inputs["scores"], dtype=np.float64))
    target = torch.from_numpy(np.asarray(inputs["target"], dtype=np.int64))
    w = np.asarray(inputs["weights"], dtype=np.float64)
    out = log_probs.numpy()
    a, b = float(inputs["L2_penalty"]), float(inputs["L1_penalty"])
    nll = F.nll_loss(log_probs, target).item()
    if not _close(v_none, nll):
        if _close(v_none, F.nll_loss(log_probs, target, reduction="sum").item()):
            return "the data term sums over stimuli; it should average (as NLLLoss does by default)"
        if _close(v_none, -nll):
            return "the data term has the wrong sign: it should be the negative log likelihood"
        if _close(v_none, F.mse_loss(log_probs, F.one_hot(target, 5).double()).item()):
            return "the data term is a mean squared error; it should be the negative log likelihood (NLLLoss)"
        return (
            "with both penalties at their defaults the loss is not the negative log likelihood of output "
            "and target (NLLLoss): the data term is wrong, or a default penalty is not 0"
        )
    if _close(v_scores, F.cross_entropy(scores, target).item()) and not _close(
        v_scores, F.nll_loss(scores, target).item()
    ):
        return (
            "the data term applies its own log-softmax (cross-entropy); the network already outputs "
            "log-probabilities, so use the negative log likelihood (NLLLoss)"
        )
    if not _close(v_scores, F.nll_loss(scores, target).item()):
        return "the data term is not the negative log likelihood of output and target (NLLLoss)"
    l2_term, l1_term = v_l2 - v_none, v_l1 - v_none
    squares, absolutes = float((w**2).sum()), float(np.abs(w).sum())
    if not _close(l2_term, a * squares, atol=1e-4):
        if _close(l2_term, a * absolutes, atol=1e-4) and _close(l1_term, b * squares, atol=1e-4):
            return (
                "L1_penalty and L2_penalty are swapped: L2 scales the squared weights, L1 the absolute ones"
            )
        guesses = [
            (0.0, "ignores its L2 penalty: L2_penalty > 0 adds nothing to the loss"),
            (a * absolutes, "the L2 term sums absolute values; L2 is the sum of squared weights"),
            (
                a * math.sqrt(squares),
                "the L2 term is the norm of the weights; L2 is the sum of squared weights",
            ),
            (a * float((w**2).mean()), "the L2 term averages the squared weights; it should sum them"),
            (a * float((out**2).sum()), "the L2 penalty is on the network's output, not on `weights`"),
            (a * float(np.abs(out).sum()), "the L2 penalty is on the network's output, not on `weights`"),
            (a * a * squares, "the L2 term squares L2_penalty as well; only the weights are squared"),
        ]
        return _first_match(
            l2_term, guesses, "the L2 term is not L2_penalty times the sum of squared `weights`"
        )
    if not _close(l1_term, b * absolutes, atol=1e-4):
        guesses = [
            (0.0, "ignores its L1 penalty: L1_penalty > 0 adds nothing to the loss"),
            (b * squares, "the L1 term squares the weights; L1 is the sum of their absolute values"),
            (b * float(w.sum()), "the L1 term sums the weights themselves; L1 sums their absolute values"),
            (b * float(np.abs(w).mean()), "the L1 term averages the absolute weights; it should sum them"),
            (b * float(np.abs(out).sum()), "the L1 penalty is on the network's output, not on `weights`"),
            (b * float((out**2).sum()), "the L1 penalty is on the network's output, not on `weights`"),
        ]
        return _first_match(
            l1_term, guesses, "the L1 term is not L1_penalty times the sum of absolute `weights`"
        )
    if not _close(v_both, nll + a * squares + b * absolutes, atol=1e-4):
        return "with both penalties set, the loss is not the data term plus both penalty terms"
    if not observed.get("is_tensor"):
        return "returns a plain number, not a torch tensor: training needs a tensor to call .backward() on"
    if not observed.get("has_grad"):
        return (
            "the loss does not carry gradients back to `weights` (computed with .item(), numpy or a "
            "detached copy?); build it from torch operations on the tensors themselves"
        )
    expected_grad = 2 * a * w + b * np.sign(w)
    if not _close(observed.get("grad"), expected_grad, atol=1e-4):
        return "the gradient of the loss with respect to `weights` is not that of the two penalties"
    return None


def _first_match(value: float, guesses, otherwise: str) -> str:
    for expected, reason in guesses:
        if _close(value, expected, atol=1e-4):
            return reason
    return otherwise


# ------------------------------------------------------------------ conv_fc_encoder

_ENC_NEURONS, _ENC_STIMULI, _ENC_SHAPE, _ENC_C_OUT, _ENC_K = 11, 5, (12, 16), 6, 7
_ENC_OTHER = {"c_out": 3, "K": 5}


def _enc_inputs(rng: np.random.Generator) -> dict:
    def normal(scale, *shape):
        return rng.normal(0, scale, shape).astype(np.float32)

    flat = _ENC_C_OUT * _ENC_SHAPE[0] * _ENC_SHAPE[1]
    return {
        "n_neurons": _ENC_NEURONS,
        "stimuli": normal(1.0, _ENC_STIMULI, 1, *_ENC_SHAPE),
        "conv_weight": normal(0.2, _ENC_C_OUT, 1, _ENC_K, _ENC_K),
        "conv_bias": normal(0.1, _ENC_C_OUT),
        "out_weight": normal(0.05, _ENC_NEURONS, flat),
        "out_bias": normal(0.1, _ENC_NEURONS),
        "filters": normal(0.2, _ENC_C_OUT, 1, _ENC_K, _ENC_K),
    }


def _layer_facts(net, prefix: str, observed: dict) -> None:
    conv = getattr(net, "conv", None) if hasattr(net, "conv") else None
    observed[f"{prefix}conv"] = list(conv.weight.shape) if isinstance(conv, nn.Conv2d) else None
    has_out = True
    try:
        out_layer = net.out_layer
    except AttributeError:
        has_out, out_layer = False, None
    observed[f"{prefix}has_out_layer"] = has_out
    observed[f"{prefix}out_type"] = type(out_layer).__name__
    observed[f"{prefix}out_shape"] = (
        list(out_layer.weight.shape) if isinstance(out_layer, nn.Linear) else None
    )


def _enc_observe(ConvFC, inputs: dict) -> dict:  # noqa: N803 - the student's class keeps its name
    if not isinstance(ConvFC, type):
        raise _StudentError(f"ConvFC should be a class (an nn.Module), got a {type(ConvFC).__name__}")
    if not issubclass(ConvFC, nn.Module):
        raise _StudentError("ConvFC should be a subclass of nn.Module")
    n = int(inputs["n_neurons"])
    net = _call(f"ConvFC({n})", ConvFC, n)
    observed: dict = {}
    _layer_facts(net, "", observed)
    flat = _ENC_C_OUT * _ENC_SHAPE[0] * _ENC_SHAPE[1]
    if observed["conv"] == [_ENC_C_OUT, 1, _ENC_K, _ENC_K] and observed["out_shape"] == [n, flat]:
        _load(net.conv.weight, inputs["conv_weight"])
        if net.conv.bias is not None:
            _load(net.conv.bias, inputs["conv_bias"])
        _load(net.out_layer.weight, inputs["out_weight"])
        observed["out_bias"] = net.out_layer.bias is not None
        if net.out_layer.bias is not None:
            _load(net.out_layer.bias, inputs["out_bias"])
        observed["conv_bias"] = net.conv.bias is not None
        net.eval()
        stimuli = torch.from_numpy(inputs["stimuli"].copy()).to(net.conv.weight.device)  # a net put on a GPU
        try:
            with torch.no_grad():
                observed["forward"] = _array(_call("net(stimuli)", net, stimuli), "net(stimuli)")
                one = _call("net(one_stimulus)", net, stimuli[:1].clone())
                observed["forward_one"] = _array(one, "net(one_stimulus)")
        except _StudentError as error:
            hint = ""
            if "shape" in str(error) or "size" in str(error):
                hint = (
                    f" (does forward flatten each stimulus's conv output into one row of {flat} values, "
                    "keeping one row per stimulus?)"
                )
            raise _StudentError(f"{error}{hint}") from None
    what = f"ConvFC({n}, c_out={_ENC_OTHER['c_out']}, K={_ENC_OTHER['K']})"
    _layer_facts(_call(what, ConvFC, n, **_ENC_OTHER), "other_", observed)
    filters = torch.from_numpy(inputs["filters"].copy())
    with_filters = _call(f"ConvFC({n}, filters=filters)", ConvFC, n, filters=filters)
    conv = getattr(with_filters, "conv", None)
    if isinstance(conv, nn.Conv2d):
        observed["filtered_weight"] = _array(conv.weight, "conv.weight")
    return observed


def _enc_reference(inputs: dict, observed: dict, *, relu=False, channels_last=False) -> np.ndarray:
    def tensor(key):
        return torch.from_numpy(np.asarray(inputs[key], dtype=np.float64))

    conv_bias = tensor("conv_bias") if observed.get("conv_bias", True) else None
    out_bias = tensor("out_bias") if observed.get("out_bias", True) else None
    a = F.conv2d(tensor("stimuli"), tensor("conv_weight"), conv_bias, padding=_ENC_K // 2)
    if relu:
        a = torch.relu(a)
    if channels_last:
        a = a.permute(0, 2, 3, 1)
    return F.linear(a.reshape(a.shape[0], -1), tensor("out_weight"), out_bias).numpy()


def _enc_judge(inputs: dict, observed: dict) -> str | None:
    n = int(inputs["n_neurons"])
    flat = _ENC_C_OUT * _ENC_SHAPE[0] * _ENC_SHAPE[1]
    if not observed.get("has_out_layer"):
        return "ConvFC(n_neurons) has no `out_layer`: define self.out_layer in __init__"
    if observed.get("out_shape") is None:
        return f"self.out_layer is a {observed.get('out_type')}; it should be a fully connected nn.Linear"
    if observed.get("conv") != [_ENC_C_OUT, 1, _ENC_K, _ENC_K]:
        return (
            f"self.conv has weight shape {observed.get('conv')}; with c_in=1, c_out=6, K=7 it should be "
            f"{[_ENC_C_OUT, 1, _ENC_K, _ENC_K]}"
        )
    out_shape = _shape(observed["out_shape"])
    if out_shape == (flat, n):
        return (
            f"out_layer is the wrong way round (weight shape {out_shape}): it should take the {flat} "
            "values of a "
            f"stimulus's flattened conv output and give n_neurons = {n} responses"
        )
    if out_shape != (n, flat):
        return (
            f"out_layer maps {out_shape[1]} inputs to {out_shape[0]} outputs; it should map the "
            "flattened conv "
            f"output (c_out x 12 x 16 = {flat} values per stimulus) to n_neurons = {n}"
        )
    got, one = np.asarray(observed["forward"]), np.asarray(observed["forward_one"])
    n_stimuli = len(inputs["stimuli"])
    if got.shape != (n_stimuli, n):
        return (
            f"forward returns shape {got.shape} for {n_stimuli} stimuli; expected (n_stimuli, n_neurons) = "
            f"({n_stimuli}, {n}): flatten each stimulus's conv output on its own"
        )
    if one.shape != (1, n):
        return (
            f"forward returns shape {one.shape} for a single stimulus; expected (1, {n}): flatten each "
            "stimulus's conv output on its own, keeping the stimulus axis"
        )
    if not _close(got, _enc_reference(inputs, observed)):
        if _close(got, _enc_reference(inputs, observed, relu=True)):
            return "forward applies a ReLU after the convolution; conv output goes straight to out_layer"
        if _close(got, _enc_reference(inputs, observed, channels_last=True)):
            return (
                "forward flattens the conv output channels-last; flatten each stimulus as (channel, row, "
                "column), the layout out_layer's weights are read in"
            )
        return (
            "forward's output is not out_layer applied to each stimulus's flattened conv output "
            "(conv -> flatten per stimulus -> out_layer)"
        )
    if not _close(one, got[:1]):
        return "forward gives a different response to a stimulus when it is passed on its own"
    other_flat = _ENC_OTHER["c_out"] * _ENC_SHAPE[0] * _ENC_SHAPE[1]
    other = observed.get("other_out_shape")
    if other is None or _shape(other) != (n, other_flat):
        return (
            f"out_layer's size does not follow c_out: ConvFC({n}, c_out={_ENC_OTHER['c_out']}, "
            f"K={_ENC_OTHER['K']}) has out_layer weight shape {other}; it should take c_out x 12 x 16 = "
            f"{other_flat} values per stimulus"
        )
    if "filtered_weight" in observed and not _close(observed["filtered_weight"], inputs["filters"]):
        return "ConvFC(n_neurons, filters=...) does not use the given filters as the conv weights"
    return None


# ------------------------------------------------------------------ the registry and the checks


@dataclass(frozen=True)
class _Exercise:
    name: str
    object_name: str  # what the exercise defines in the notebook
    is_class: bool
    make_inputs: Callable[[np.random.Generator], dict]
    observe: Callable[[object, dict], dict]
    judge: Callable[[dict, dict], str | None]
    seed: int  # the self-check's inputs; the grader draws its own


EXERCISES = {
    spec.name: spec
    for spec in (
        _Exercise(
            "preferred_orientation",
            "preferred_orientation",
            False,
            _pref_inputs,
            _pref_observe,
            _pref_judge,
            101,
        ),
        _Exercise("classifier", "make_classifier", False, _cls_inputs, _cls_observe, _cls_judge, 102),
        _Exercise("regularized_loss", "regularized_loss", False, _reg_inputs, _reg_observe, _reg_judge, 103),
        _Exercise("conv_fc_encoder", "ConvFC", True, _enc_inputs, _enc_observe, _enc_judge, 104),
    )
}


def _is_placeholder(obj) -> bool:
    try:
        from helpers.placeholders import _NotDone as Placeholder
    except ImportError:  # pragma: no cover - helpers is always importable next to this module
        return False
    return isinstance(obj, Placeholder)


def _observe(spec: _Exercise, obj, inputs: dict) -> tuple[str, str, dict]:
    """Run the student's object: ("ok" | "not_done" | "error", message, observed plain values)."""
    if _is_placeholder(obj):
        return "not_done", "", {}
    if spec.is_class and not isinstance(obj, type) and callable(obj):
        pass  # _enc_observe says what is wrong
    elif not callable(obj):
        return (
            "error",
            (
                f"expects the function `{spec.object_name}` itself, got a value of type "
                f"{type(obj).__name__}: pass "
                "the function, "
                f"e.g. checks.{spec.name}({spec.object_name})"
            ),
            {},
        )
    try:
        with _isolated_state():
            return "ok", "", spec.observe(obj, inputs)
    except _NotDone:
        return "not_done", "", {}
    except _StudentError as error:
        return "error", str(error), {}
    except (Exception, SystemExit) as error:  # the student's object misbehaved in some other way
        return "error", f"{type(error).__name__} while running your code: {_short(error)}", {}


def _verdict(spec: _Exercise, inputs: dict, status: str, message: str, observed: dict) -> CheckResult:
    name = spec.name
    if status == "not_done":
        return CheckResult(False, f"{TODO_MARK} {name}: {NOT_DONE}", "not done yet", not_done=True)
    if status == "missing":
        reason = f"`{spec.object_name}` is not defined"
    elif status == "ok":
        try:
            reason = spec.judge(inputs, observed)
        except Exception as error:  # noqa: BLE001 - observed values of an unexpected form
            reason = f"returned results that could not be checked ({type(error).__name__}: {_short(error)})"
    else:
        reason = message or "failed"
    if reason is None:
        return CheckResult(True, f"{PASS_MARK} {name} looks right")
    return CheckResult(False, f"{FAIL_MARK} {name}: {reason}", reason)


def check(name: str, obj, inputs: dict | None = None) -> CheckResult:
    """Check the student's object for exercise ``name`` (on the check's own inputs unless given)."""
    spec = EXERCISES[name]
    try:
        if inputs is None:
            inputs = spec.make_inputs(np.random.default_rng(spec.seed))
        status, message, observed = _observe(spec, obj, inputs)
        return _verdict(spec, inputs, status, message, observed)
    except Exception as error:  # noqa: BLE001 - a check must never crash the student's notebook
        reason = f"the check itself failed ({type(error).__name__}: {_short(error)}); please report this"
        return CheckResult(False, f"{FAIL_MARK} {name}: {reason}", reason)


def _announce(result: CheckResult) -> CheckResult:
    print(result.message)
    return result


def preferred_orientation(fn) -> CheckResult:
    """Check ``preferred_orientation(resp, stimuli_deg, sigma_bins=5) -> (n_neurons,)`` degrees."""
    return _announce(check("preferred_orientation", fn))


def classifier(make_classifier) -> CheckResult:
    """Check ``make_classifier(n_inputs, n_classes, n_hidden=20) -> (net, loss_fn)``."""
    return _announce(check("classifier", make_classifier))


def regularized_loss(fn) -> CheckResult:
    """Check ``regularized_loss(output, target, weights, L2_penalty=0.0, L1_penalty=0.0)``."""
    return _announce(check("regularized_loss", fn))


def conv_fc_encoder(ConvFC) -> CheckResult:  # noqa: N803 - the student's class keeps its name
    """Check ``class ConvFC(nn.Module)``: ``ConvFC(n_neurons, ...)``, ``forward(s) -> (n, n_neurons)``."""
    return _announce(check("conv_fc_encoder", ConvFC))


# ------------------------------------------------------------------ plain files (grader <-> kernel)

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
FACTS_FILE, STATUS_FILE = "facts.json", "status.json"
MAX_FILE_BYTES = 64 * 1024 * 1024


def save_plain(folder, values: dict) -> None:
    """Arrays as ``<key>.npy`` (never pickled), everything else as JSON in facts.json."""
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
    _write_json(folder / FACTS_FILE, facts)


def load_plain(folder) -> dict:
    """What save_plain wrote: .npy files loaded without pickle, facts.json; anything else is ignored."""
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


def _write_json(path: Path, value) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(value, stream, allow_nan=True)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_json(path: Path):
    if not path.is_file() or path.is_symlink() or path.stat().st_size > 1024 * 1024:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def _kernel_run(name: str, namespace: dict, folder: str) -> None:
    """In the grading kernel: run the notebook's object for exercise ``name`` on folder/in, write folder/out.

    The grader reads only what this writes (plain arrays and JSON) and judges it in its own process.
    status.json is written last, so a missing one means this did not finish.
    """
    spec = EXERCISES[name]
    folder = Path(folder)
    inputs = load_plain(folder / "in")
    if spec.object_name in namespace:
        status, message, observed = _observe(spec, namespace[spec.object_name], inputs)
    else:
        status, message, observed = "missing", "", {}
    plain = {}
    for key, value in observed.items():
        if isinstance(value, np.ndarray) and value.dtype != object:
            plain[key] = value
        elif isinstance(value, (bool, int, float, str, list, type(None))):
            plain[key] = value
    save_plain(folder / "out", plain)
    _write_json(folder / "out" / STATUS_FILE, {"status": status, "message": message})


def _judge_files(name: str, inputs: dict, folder) -> CheckResult:
    """In the grader: the verdict for exercise ``name`` from what _kernel_run wrote into ``folder``."""
    spec = EXERCISES[name]
    status = _read_json(Path(folder) / STATUS_FILE)
    if not isinstance(status, dict) or status.get("status") not in ("ok", "not_done", "error", "missing"):
        reason = "the grader's run of this exercise did not finish"
        return CheckResult(False, f"{FAIL_MARK} {name}: {reason}", reason)
    try:
        observed = load_plain(folder)
    except Exception as error:  # noqa: BLE001 - unreadable outputs are the submission's failure
        reason = f"its outputs could not be read ({_short(error)})"
        return CheckResult(False, f"{FAIL_MARK} {name}: {reason}", reason)
    message = status.get("message") if isinstance(status.get("message"), str) else ""
    return _verdict(spec, inputs, status["status"], _short(message, 400), observed)
