"""Exercise ``preferred_orientation(resp, stimuli_deg, sigma_bins=5) -> (n_neurons,)`` degrees.

``resp`` holds one tuning curve per neuron (stimuli x neurons), ``stimuli_deg`` the stimuli's
orientations in degrees (n_stimuli x 1). The function smooths each tuning curve with a Gaussian of
``sigma_bins`` bins, circularly (0 and 360 degrees are the same orientation), and returns, per neuron,
the orientation in degrees where its smoothed curve peaks.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from .common import as_array, call

__all__ = ["make_inputs", "observe", "judge", "mistakes"]

_STIMULI, _STEP, _NEURONS, _SIGMA_OTHER = 90, 4.0, 28, 1.0


def _smooth(resp: np.ndarray, sigma: float, mode: str = "wrap", axis: int = 0) -> np.ndarray:
    """Gaussian smoothing of float64 tuning curves, ``sigma`` in bins."""
    return gaussian_filter1d(np.asarray(resp, dtype=np.float64), float(sigma), axis=axis, mode=mode)


def make_inputs(rng: np.random.Generator) -> dict:
    """Tuning curves (stimuli x neurons) built so that every typical mistake gives other peaks.

    Four kinds of neuron, in a random order: a plateau split across 0/360 degrees (non-circular
    smoothing moves or loses its peak), a broad bump plus a one-bin spike (no smoothing picks the
    spike), a broad bump plus a narrow tall one (the narrow one wins only for small sigma_bins), and
    two random bumps. Gains and offsets differ per neuron, so smoothing across neurons changes peaks.
    """
    for _ in range(100):
        inputs = _candidate(rng)
        if _discriminates(inputs):
            return inputs
    raise RuntimeError("could not draw tuning curves that tell the mistakes apart; please report this bug")


def _candidate(rng: np.random.Generator) -> dict:
    n, index = _STIMULI, np.arange(_STIMULI)

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
    kinds = np.resize(np.arange(5), _NEURONS)
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
    stimuli = offset + _STEP * np.arange(n)
    return {
        "resp": np.stack(curves, axis=1).astype(np.float32),
        "stimuli_deg": stimuli.astype(np.float32).reshape(-1, 1),
        "sigma_other": _SIGMA_OTHER,
    }


def mistakes(resp: np.ndarray, sigma: float, default_call: bool) -> list[tuple[str, np.ndarray]]:
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


def _discriminates(inputs: dict) -> bool:
    """Does every typical mistake give a clearly wrong peak for at least two neurons?"""
    resp = inputs["resp"].astype(np.float64)
    sigma = inputs["sigma_other"]
    # The default call tells every mistake apart; the call with another sigma_bins, ignoring it.
    wrong_answers = [(5.0, curves) for _, curves in mistakes(resp, 5.0, True)]
    wrong_answers.append((sigma, _smooth(resp, 5.0)))
    for sigma_used, curves in wrong_answers:
        reference = _smooth(resp, sigma_used)
        if np.count_nonzero(~_near_max(reference, curves.argmax(axis=0), tol=0.01)) < 2:
            return False
    return True


def observe(fn, inputs: dict) -> dict:
    """The preferred orientations ``fn`` returns with the default and with another ``sigma_bins``."""
    resp, stimuli = inputs["resp"], inputs["stimuli_deg"]
    first = call(
        "preferred_orientation(resp, stimuli_deg)",
        fn,
        torch.from_numpy(resp.copy()),
        torch.from_numpy(stimuli.copy()),
    )
    first = as_array(first, "preferred_orientation(resp, stimuli_deg)")
    sigma = inputs["sigma_other"]
    what = f"preferred_orientation(resp, stimuli_deg, sigma_bins={sigma:g})"
    second = call(what, fn, torch.from_numpy(resp.copy()), torch.from_numpy(stimuli.copy()), sigma_bins=sigma)
    return {"pref_default": first, "pref_sigma": as_array(second, what)}


def judge(inputs: dict, observed: dict) -> str | None:
    """None when both calls peak where the circularly smoothed curves do, else what is wrong."""
    resp = np.asarray(inputs["resp"], dtype=np.float64)
    stimuli = np.asarray(inputs["stimuli_deg"], dtype=np.float64).reshape(-1)
    n_stimuli, n_neurons = resp.shape
    for key, sigma, default_call in (
        ("pref_default", 5.0, True),
        ("pref_sigma", inputs["sigma_other"], False),
    ):
        got = np.asarray(observed[key], dtype=np.float64)
        which = "" if default_call else f" (with sigma_bins={sigma:g})"
        if got.shape == (n_stimuli,):
            return (
                f"returns one value per stimulus{which} (shape {got.shape}) instead of one per neuron: take "
                "the peak of each neuron's tuning curve, i.e. the argmax over stimuli (axis 0), not over "
                "neurons"
            )
        if got.shape in ((n_neurons, 1), (1, n_neurons)):
            return (
                f"returns shape {got.shape}{which}; return a flat array of shape (n_neurons,) = "
                f"({n_neurons},)"
            )
        if got.shape != (n_neurons,):
            return (
                f"returns shape {got.shape}{which}; expected one orientation per neuron, shape ({n_neurons},)"
            )
        if not np.all(np.isfinite(got)):
            return f"returns NaN or infinite values{which}"
        reference = _smooth(resp, sigma)
        as_index = np.rint(got).astype(np.int64)
        if np.all(np.abs(got - as_index) < 1e-6) and np.all((as_index >= 0) & (as_index < n_stimuli)):
            if np.all(_near_max(reference, as_index)) and not np.allclose(stimuli[as_index], got, atol=1e-3):
                return (
                    f"returns the index of each peak{which}, not its orientation: look the orientation "
                    "(in degrees) up in stimuli_deg"
                )
        chosen = _stimulus_index(got, stimuli)
        if chosen is None:
            radians = _stimulus_index(np.rad2deg(got), stimuli)
            if radians is not None and np.all(_near_max(reference, radians)):
                return f"returns radians{which}; return degrees, as in stimuli_deg"
            return (
                f"returns values{which} that are not stimulus orientations (e.g. {got[0]:.4g}): return, for "
                "each neuron, the orientation in stimuli_deg where its smoothed tuning curve peaks"
            )
        right = _near_max(reference, chosen)
        if np.all(right):
            continue
        for reason, curves in mistakes(resp, sigma, default_call):
            if np.all(_near_max(curves, chosen)):
                return reason + ("" if default_call else f" (seen with sigma_bins={sigma:g})")
        wrong = np.flatnonzero(~right)
        return (
            f"gives a different preferred orientation than the peak of the Gaussian-smoothed tuning curve "
            f"for {wrong.size} of {n_neurons} neurons{which} (e.g. neuron {wrong[0]}: "
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
