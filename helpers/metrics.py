"""Measures of decoding and encoding performance.

Every function accepts numpy arrays, torch tensors (also ones that require grad or live on a
GPU) or plain sequences, and returns numpy arrays or Python floats.

Conventions: response matrices are (stimuli x neurons), i.e. axis 0 runs over stimuli and
axis 1 over neurons; angles are in **degrees** unless a function says otherwise.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d


def to_array(values, name: str) -> np.ndarray:
    """A tensor / array / sequence as a numpy array (tensors are detached and moved to the CPU)."""
    if hasattr(values, "detach"):  # a torch tensor: drop the graph and move to the CPU
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} must be an array or tensor of numbers, got {type(values).__name__}."
        ) from error
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got an array of dtype {array.dtype}.")
    return array


def _check_finite(array: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(array)):
        raise ValueError(
            f"{name} contains NaN or infinite values. Check where it came from "
            "(for model outputs, a training run whose loss diverged)."
        )


def _check_same_shape(first: np.ndarray, first_name: str, second: np.ndarray, second_name: str) -> None:
    if first.shape != second.shape:
        raise ValueError(
            f"{first_name} has shape {first.shape} but {second_name} has shape {second.shape}; "
            "they must match element for element. If one is an n x 1 column and the other has "
            "length n, use .reshape(-1) on both (broadcasting them would silently compare every "
            "pair)."
        )


def _check_response_matrix(array: np.ndarray, name: str) -> None:
    if array.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be (stimuli x neurons) or a single tuning curve of length n_stimuli, "
            f"got {array.ndim} dimensions with shape {array.shape}."
        )
    if array.shape[0] < 2:
        raise ValueError(
            f"{name} has {array.shape[0]} stimuli along axis 0; variance over stimuli needs at least 2. "
            "Is the matrix transposed (it must be stimuli x neurons)?"
        )


def _response_matrix_pair(first, first_name: str, second, second_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Two (stimuli x neurons) matrices of the same shape as float arrays, checked and finite."""
    first_array = to_array(first, first_name).astype(float)
    second_array = to_array(second, second_name).astype(float)
    _check_same_shape(first_array, first_name, second_array, second_name)
    _check_response_matrix(second_array, second_name)
    _check_finite(first_array, first_name)
    _check_finite(second_array, second_name)
    return first_array, second_array


def circular_error(decoded_deg, true_deg, period: float = 360):
    """Signed circular difference ``decoded - true``, wrapped into [-period/2, period/2).

    Orientations on a circle: decoding 359 degrees for a true 1 degree is an error of -2 degrees,
    not 358. Use ``period=180`` for axial orientations, where 0 and 180 degrees are the same.

    Args:
        decoded_deg: decoded angles in **degrees**, any shape.
        true_deg: true angles in **degrees**, the same shape as ``decoded_deg`` (or a scalar).
        period: length of the circle in degrees (360 for directions, 180 for axial orientations).

    Returns:
        numpy float array of the common shape (a Python float for scalar inputs): the error in
        **degrees**, in [-period/2, period/2). Its absolute value is the angular distance.

    Raises:
        ValueError: if the shapes differ (an n x 1 column against a length-n vector would otherwise
            broadcast to n x n), ``period`` is not positive, or an input is NaN / infinite.
    """
    decoded = to_array(decoded_deg, "decoded_deg").astype(float)
    true = to_array(true_deg, "true_deg").astype(float)
    if decoded.ndim > 0 and true.ndim > 0:
        _check_same_shape(decoded, "decoded_deg", true, "true_deg")
    _check_finite(decoded, "decoded_deg")
    _check_finite(true, "true_deg")
    if isinstance(period, bool) or not np.isscalar(period) or not np.isfinite(period) or period <= 0:
        raise ValueError(f"period must be a positive number of degrees (360 or 180), got {period!r}.")
    half = period / 2
    error = np.mod(decoded - true + half, period) - half
    if error.ndim == 0:
        return float(error)
    return error


def fraction_correct(predicted_classes, true_classes) -> float:
    """Fraction of stimuli whose predicted class equals the true class.

    Args:
        predicted_classes: predicted class index per stimulus, shape (n_stimuli,), e.g.
            ``log_probabilities.argmax(dim=1)``.
        true_classes: true class index per stimulus, the same shape.

    Returns:
        float in [0, 1] (not a percentage).

    Raises:
        ValueError: if the shapes differ (e.g. class scores of shape (n_stimuli, n_classes) passed
            instead of class indices) or there are no stimuli.
    """
    predicted = to_array(predicted_classes, "predicted_classes")
    true = to_array(true_classes, "true_classes")
    if predicted.shape != true.shape:
        hint = ""
        if predicted.ndim == true.ndim + 1:
            hint = " If predicted_classes holds one score per class, take .argmax(dim=1) first."
        raise ValueError(
            f"predicted_classes has shape {predicted.shape} but true_classes has shape {true.shape}; "
            f"pass one class index per stimulus in both.{hint}"
        )
    if predicted.size == 0:
        raise ValueError("predicted_classes and true_classes are empty; there is nothing to score.")
    return float(np.mean(predicted == true))


def opposite_group_ratio(weights, preferred_deg) -> np.ndarray:
    """How strongly each hidden unit weighs a second group of neurons, 180 degrees from its first.

    What a reader of W_in sorted by preferred orientation looks at: each unit's mean input weight over
    the neurons of each 5-degree bin of preferred orientation (smoothed over +-1 bin, wrapping at
    360); the first group is the highest bin, the second the highest bin within 30 degrees of the
    opposite orientation.

    Args:
        weights: input weights, shape (hidden units, neurons), e.g. the rows of W_in of the units
            that learned.
        preferred_deg: each neuron's preferred orientation in degrees, shape (neurons,).

    Returns:
        per unit, second group / first group: 1 for two equal groups 180 degrees apart, 0 or below
        for none.
    """
    weights = to_array(weights, "weights").astype(float)
    preferred = to_array(preferred_deg, "preferred_deg").ravel()
    if weights.ndim != 2 or weights.shape[1] != preferred.size:
        raise ValueError(
            f"weights has shape {weights.shape} and preferred_deg {preferred.size} values; pass "
            "(hidden units, neurons) weights and one preferred orientation per neuron."
        )
    n_bins = 72
    bins = (preferred // 5).astype(int) % n_bins
    sums = np.stack([np.bincount(bins, weights=row, minlength=n_bins) for row in weights])
    counts = np.bincount(bins, minlength=n_bins)
    if not counts.all():
        raise ValueError("some 5-degree bin of preferred_deg holds no neuron; pass a whole population.")
    profiles = gaussian_filter1d(sums / counts, 1, axis=1, mode="wrap")
    first = profiles.argmax(1)
    near_opposite = (first[:, None] + n_bins // 2 + np.arange(-6, 7)[None, :]) % n_bins
    rows = np.arange(len(first))[:, None]
    return profiles[rows, near_opposite].max(1) / profiles[rows[:, 0], first]


def fraction_variance_explained(prediction, target) -> np.ndarray:
    """Fraction of each neuron's variance over stimuli that the prediction explains.

    For each neuron (column), ``1 - SSE / SS_total`` with
    ``SSE = sum_s (target - prediction)^2`` and ``SS_total = sum_s (target - mean_s target)^2``.
    1 is a perfect prediction; 0 is no better than predicting the neuron's mean response;
    negative values are worse than that. Dimensionless (the response units cancel).

    Args:
        prediction: predicted responses, (stimuli x neurons), or one tuning curve (stimuli,).
        target: measured responses, the same shape.

    Returns:
        numpy float array of shape (neurons,) (a 0-d array for a single tuning curve). A neuron whose
        target is constant over stimuli has no variance to explain: its entry is NaN (no warning,
        no error); use ``np.nanmean`` / ``np.isfinite`` when summarising.

    Raises:
        ValueError: on a shape mismatch, fewer than 2 stimuli, or NaN / infinite inputs.
    """
    predicted, measured = _response_matrix_pair(prediction, "prediction", target, "target")
    squared_error = np.sum((measured - predicted) ** 2, axis=0)
    total_sum_of_squares = np.sum((measured - measured.mean(axis=0)) ** 2, axis=0)
    return _ratio_or_nan(squared_error, total_sum_of_squares, lambda sse, ss: 1 - sse / ss)


def _ratio_or_nan(numerator: np.ndarray, denominator: np.ndarray, formula) -> np.ndarray:
    """Apply ``formula(numerator, denominator)`` where denominator > 0, NaN elsewhere."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    usable = denominator > 0
    result = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    result[usable] = formula(numerator[usable], denominator[usable])
    return result


def split_half_ceiling(resp_train, resp_test) -> np.ndarray:
    """Per neuron, the fraction of the test tuning curve's variance that is driven by the stimulus.

    Each half of the data is the same stimulus-driven tuning curve plus independent trial noise:
    ``train = signal + noise_1`` and ``test = signal + noise_2``. Over stimuli,
    ``cov(train, test) ~ var(signal)`` (the independent noises average out) while
    ``var(test) = var(signal) + var(noise_2)``. So ``cov(train, test) / var(test)`` estimates
    the stimulus-driven fraction of the test variance: the best fraction of variance explained
    that any model of the stimulus can reach on the test half (an upper bound, or ceiling).

    It is an estimate from finitely many stimuli: for a neuron with no tuning it scatters around 0
    and can be negative, and for a well-tuned neuron it can slightly exceed 1.

    Args:
        resp_train: responses of the first half of the trials, (stimuli x neurons).
        resp_test: responses of the other, independent half, the same shape.

    Returns:
        numpy float array of shape (neurons,), dimensionless; NaN for a neuron whose test responses
        are constant over stimuli (no variance).

    Raises:
        ValueError: on a shape mismatch, fewer than 2 stimuli, or NaN / infinite inputs.
    """
    train, test = _response_matrix_pair(resp_train, "resp_train", resp_test, "resp_test")
    train_centred = train - train.mean(axis=0)
    test_centred = test - test.mean(axis=0)
    covariance = np.sum(train_centred * test_centred, axis=0)
    test_variance = np.sum(test_centred**2, axis=0)
    return _ratio_or_nan(covariance, test_variance, lambda cov, var: cov / var)


def fraction_explainable_variance_explained(prediction, resp_train, resp_test) -> np.ndarray:
    """Fraction of variance explained on the test half, relative to what is explainable.

    ``fraction_variance_explained(prediction, resp_test) / split_half_ceiling(resp_train, resp_test)``
    per neuron. About 1 means the model predicts the test tuning curve as well as the noise in
    the data allows; 0 means no better than the mean. Dimensionless.

    Args:
        prediction: the model's predicted responses, (stimuli x neurons).
        resp_train: responses of the half of the trials the model was fitted to, the same shape.
        resp_test: responses of the held-out half, the same shape.

    Returns:
        numpy float array of shape (neurons,). NaN for neurons whose ceiling is not positive (no
        detectable stimulus-driven variance, so the ratio is meaningless) or whose test responses
        are constant. Where the ceiling is small but positive the ratio is noisy and can be far
        outside [0, 1].

    Raises:
        ValueError: on a shape mismatch, fewer than 2 stimuli, or NaN / infinite inputs.
    """
    predicted = to_array(prediction, "prediction")
    test = to_array(resp_test, "resp_test")
    _check_same_shape(predicted, "prediction", test, "resp_test")
    explained = fraction_variance_explained(predicted, test)
    ceiling = split_half_ceiling(resp_train, test)
    return _ratio_or_nan(explained, np.nan_to_num(ceiling, nan=0.0), lambda fve, cap: fve / cap)
