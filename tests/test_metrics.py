"""Tests for helpers.metrics, on hand-computed cases and synthetic data with known answers."""

import numpy as np
import pytest
import torch

from helpers.metrics import (
    circular_error,
    fraction_correct,
    fraction_explainable_variance_explained,
    fraction_variance_explained,
    opposite_group_ratio,
    split_half_ceiling,
)

# ----------------------------------------------------------------------------- circular_error


@pytest.mark.parametrize(
    ("decoded", "true", "expected"),
    [
        (359.0, 1.0, -2.0),
        (1.0, 359.0, 2.0),
        (10.0, 10.0, 0.0),
        (100.0, 10.0, 90.0),
        (190.0, 10.0, -180.0),  # exactly half a circle maps to the lower end of [-180, 180)
        (-170.0, 170.0, 20.0),
        (725.0, 0.0, 5.0),
    ],
)
def test_circular_error_wraps_hand_computed_cases(decoded, true, expected):
    assert circular_error(decoded, true) == pytest.approx(expected)


def test_circular_error_with_period_180_treats_opposite_orientations_as_equal():
    assert circular_error(181.0, 1.0, period=180) == pytest.approx(0.0)
    assert circular_error(175.0, 5.0, period=180) == pytest.approx(-10.0)


def test_circular_error_is_elementwise_within_range_and_accepts_tensors():
    rng = np.random.default_rng(0)
    decoded = rng.uniform(-720, 720, size=(50, 1))
    true = rng.uniform(0, 360, size=(50, 1))
    error = circular_error(torch.tensor(decoded, requires_grad=True), torch.tensor(true))
    assert isinstance(error, np.ndarray) and error.shape == (50, 1)
    assert np.all(error >= -180) and np.all(error < 180)
    # Wrapping only adds whole turns.
    turns = (decoded - true - error) / 360
    assert np.allclose(turns, np.round(turns))


def test_circular_error_refuses_column_against_vector():
    with pytest.raises(ValueError, match=r"reshape\(-1\)"):
        circular_error(np.zeros((4, 1)), np.zeros(4))


@pytest.mark.parametrize("period", [0, -360, float("nan")])
def test_circular_error_rejects_non_positive_period(period):
    with pytest.raises(ValueError, match="period"):
        circular_error(1.0, 2.0, period=period)


def test_circular_error_rejects_nan_angles():
    with pytest.raises(ValueError, match="decoded_deg contains NaN"):
        circular_error(np.array([np.nan, 1.0]), np.array([0.0, 1.0]))


# ----------------------------------------------------------------------------- fraction_correct


def test_fraction_correct_hand_computed():
    assert fraction_correct([0, 1, 2, 3], [0, 1, 0, 0]) == pytest.approx(0.5)
    assert fraction_correct(torch.tensor([4, 4, 4]), torch.tensor([4, 4, 4])) == 1.0
    assert isinstance(fraction_correct([1], [2]), float)


def test_fraction_correct_shape_mismatch_names_the_fix():
    scores = torch.zeros(5, 3)
    with pytest.raises(ValueError, match=r"argmax\(dim=1\)"):
        fraction_correct(scores, torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="shape"):
        fraction_correct(np.zeros((5, 1)), np.zeros(5))


def test_fraction_correct_rejects_empty_input():
    with pytest.raises(ValueError, match="empty"):
        fraction_correct([], [])


# ----------------------------------------------------------------------------- variance explained


def test_perfect_prediction_explains_all_variance():
    rng = np.random.default_rng(1)
    target = rng.normal(size=(30, 4))
    assert np.allclose(fraction_variance_explained(target.copy(), target), 1.0)


def test_fraction_variance_explained_hand_computed_and_per_neuron():
    target = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
    prediction = np.array([[2.0, 1.0], [2.0, 1.0], [2.0, 1.0]])
    # neuron 0: predicting the mean -> 0; neuron 1: SSE = 9, SS_total = 6 -> 1 - 9/6 = -0.5
    assert np.allclose(fraction_variance_explained(prediction, target), [0.0, -0.5])


def test_fraction_variance_explained_constant_neuron_is_nan_not_a_crash():
    target = np.column_stack([np.arange(5.0), np.full(5, 3.0)])
    prediction = np.zeros_like(target)
    with np.errstate(all="raise"):  # no hidden division by zero either
        result = fraction_variance_explained(prediction, target)
    assert np.isfinite(result[0]) and np.isnan(result[1])


def test_fraction_variance_explained_accepts_grad_tensors_and_single_curves():
    target = torch.linspace(0, 1, 10)
    prediction = (target + 0.1).requires_grad_()
    result = fraction_variance_explained(prediction, target)
    expected = 1 - 10 * 0.01 / float(((target - target.mean()) ** 2).sum())
    assert result.shape == () and float(result) == pytest.approx(expected, rel=1e-5)


def test_fraction_variance_explained_rejects_transposed_or_mismatched_input():
    with pytest.raises(ValueError, match="shape"):
        fraction_variance_explained(np.zeros((5, 3)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="stimuli x neurons"):
        fraction_variance_explained(np.zeros((1, 5)), np.zeros((1, 5)))


# ----------------------------------------------------------------------------- split-half ceiling


def _simulated_halves(n_stimuli, n_neurons, signal_sd, noise_sd, seed):
    rng = np.random.default_rng(seed)
    signal = signal_sd * rng.normal(size=(n_stimuli, n_neurons))
    train = signal + noise_sd * rng.normal(size=signal.shape)
    test = signal + noise_sd * rng.normal(size=signal.shape)
    return signal, train, test


def test_ceiling_of_noise_only_neurons_is_near_zero():
    _, train, test = _simulated_halves(200, 300, signal_sd=0.0, noise_sd=1.0, seed=2)
    ceiling = split_half_ceiling(train, test)
    assert ceiling.shape == (300,)
    assert abs(np.mean(ceiling)) < 0.02
    assert np.any(ceiling < 0)  # a noisy estimate, documented as able to go negative


def test_ceiling_matches_the_known_signal_fraction():
    # signal variance 1, noise variance 1 -> half of the test variance is stimulus-driven.
    _, train, test = _simulated_halves(500, 200, signal_sd=1.0, noise_sd=1.0, seed=3)
    assert np.mean(split_half_ceiling(train, test)) == pytest.approx(0.5, abs=0.02)
    # noise variance 1/3 -> 3/4.
    _, train, test = _simulated_halves(500, 200, signal_sd=1.0, noise_sd=np.sqrt(1 / 3), seed=4)
    assert np.mean(split_half_ceiling(train, test)) == pytest.approx(0.75, abs=0.02)


def test_ceiling_hand_computed():
    train = np.array([[1.0], [2.0], [3.0]])
    test = np.array([[2.0], [2.0], [5.0]])
    # centred: train (-1, 0, 1), test (-1, -1, 2); covariance sum 3, variance sum 6
    assert np.allclose(split_half_ceiling(train, test), [0.5])


def test_ceiling_is_nan_for_constant_test_responses():
    train = np.array([[1.0, 1.0], [2.0, 3.0], [3.0, 2.0]])
    test = np.array([[1.0, 7.0], [2.0, 7.0], [3.0, 7.0]])
    ceiling = split_half_ceiling(train, test)
    assert ceiling[0] == pytest.approx(1.0) and np.isnan(ceiling[1])


def test_true_signal_explains_all_explainable_variance():
    signal, train, test = _simulated_halves(500, 200, signal_sd=1.0, noise_sd=1.0, seed=5)
    fraction = fraction_explainable_variance_explained(signal, train, test)
    assert fraction.shape == (200,)
    assert np.median(fraction) == pytest.approx(1.0, abs=0.05)
    # whereas the raw fraction of variance explained is capped near the ceiling of 0.5
    assert np.median(fraction_variance_explained(signal, test)) == pytest.approx(0.5, abs=0.05)


def test_explainable_fraction_is_nan_where_ceiling_is_not_positive():
    train = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    test = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])  # neuron 1: halves anti-correlated
    prediction = np.array([[1.5, 2.0], [2.0, 2.0], [2.5, 2.0]])
    fraction = fraction_explainable_variance_explained(prediction, train, test)
    # neuron 0: ceiling 1, FVE = 1 - 0.5 / 2 = 0.75
    assert fraction[0] == pytest.approx(0.75)
    assert np.isnan(fraction[1])


def test_explainable_fraction_checks_prediction_shape():
    responses = np.zeros((5, 3))
    with pytest.raises(ValueError, match="prediction"):
        fraction_explainable_variance_explained(np.zeros((3, 5)), responses, responses)


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="numbers"):
        fraction_variance_explained(np.array(["a", "b"]), np.array(["a", "b"]))


# ----------------------------------------------------------------------------- opposite_group_ratio

PREFERRED = np.arange(0, 360, 0.5)  # every 5-degree bin holds ten neurons


def _band(centre_deg: float) -> np.ndarray:
    return np.exp(-0.5 * (circular_error(PREFERRED, centre_deg) / 10) ** 2)


def test_two_equal_bands_180_degrees_apart_give_one_and_a_single_band_about_zero():
    weights = np.stack([_band(90) + _band(270), _band(90), _band(90) + 0.5 * _band(265)])
    ratio = opposite_group_ratio(torch.tensor(weights), PREFERRED)
    assert ratio[0] == pytest.approx(1.0)
    assert abs(ratio[1]) < 1e-3
    assert ratio[2] == pytest.approx(0.5, abs=0.05)  # within 30 degrees of the opposite counts


def test_a_band_only_90_degrees_away_is_not_a_second_group():
    assert opposite_group_ratio([_band(90) + 0.9 * _band(180)], PREFERRED)[0] < 0.01


def test_opposite_group_ratio_names_mismatched_shapes_and_empty_bins():
    with pytest.raises(ValueError, match="one preferred orientation per neuron"):
        opposite_group_ratio(np.zeros((2, 10)), PREFERRED)
    with pytest.raises(ValueError, match="holds no neuron"):
        opposite_group_ratio(np.zeros((1, 3)), [0.0, 10.0, 20.0])
