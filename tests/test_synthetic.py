"""Tests of the synthetic stand-in (helpers/data/synthetic.py).

Each published or measured number of the real recording that the stand-in is meant to meet (the
table in the docstring of helpers/data/synthetic.py, with its sources) is measured here on the generated
files, with the tolerance it is met to. The full-size files are generated once per test session
(module-scoped fixture); the tests of determinism and of the preprocessing use small populations.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.ndimage import gaussian_filter1d
from torch import nn

from helpers import metrics
from helpers.data import synthetic

REAL_MSE_DECODER_LOSS = {10: 12219.761, 20: 1672.732, 30: 548.096, 40: 235.619, 50: 144.001}
"""Training loss the tutorial prints on the real 1-degree file at iterations 10..50."""

SMALL = synthetic.StandInParams(n_neurons=600, seed=7)
"""A small population (3 chunks of neurons) for the fast exact tests."""


# ---------------------------------------------------------------------------------------------
# Measurements (what an analyst of the real data would do)
# ---------------------------------------------------------------------------------------------


def split_half_r(resp_train: np.ndarray, resp_test: np.ndarray) -> np.ndarray:
    """Pearson correlation of each neuron's two tuning curves: (60, N) twice -> (N,)."""
    a = resp_train - resp_train.mean(0)
    b = resp_test - resp_test.mean(0)
    return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))


def fold(resp_1deg: np.ndarray, width: int) -> np.ndarray:
    """Average a (360, N) 1-degree tuning curve into `width`-degree bins, then fold 180-360 onto 0-180.

    Returns (180 / width, N); bin k covers orientations [k * width, (k + 1) * width) degrees.
    """
    binned = resp_1deg.reshape(360 // width, width, -1).mean(1)
    half = binned.shape[0] // 2
    return (binned[:half] + binned[half:]) / 2


KAPPA_GRID = np.geomspace(0.1, 100, 100)
"""Concentrations tried by von_mises_fit (log-spaced, 7 % apart)."""


def von_mises_fit(curves: np.ndarray, kappas: np.ndarray = KAPPA_GRID):
    """Least-squares fit of ``a + b exp(kappa (cos 2(theta - pref) - 1))``, b > 0, to folded curves.

    Args:
        curves: (n, N) responses at n equally spaced orientations covering [0, 180) degrees.
        kappas: concentrations to try. The fit is exact in a and b, on this grid in kappa, and on
            the data's grid in pref (circular cross-correlation via FFT gives all prefs at once).

    Returns:
        kappa (N,), preferred orientation (N,) in degrees (bin centre), R^2 (N,) of the best fit.
    """
    n = curves.shape[0]
    centred = (curves - curves.mean(0)).T.copy()  # (N, n): FFT along the contiguous axis
    total_ss = (centred**2).sum(1)
    spectrum = np.fft.rfft(centred, axis=1)
    angle = np.deg2rad(2 * np.arange(n) * 180 / n)
    rows = np.arange(centred.shape[0])
    best = np.full(centred.shape[0], -np.inf)
    best_kappa = np.zeros(centred.shape[0])
    best_shift = np.zeros(centred.shape[0], dtype=int)
    for kappa in kappas:
        template = np.exp(kappa * (np.cos(angle) - 1))
        template -= template.mean()
        template /= np.sqrt((template**2).sum())
        corr = np.fft.irfft(spectrum * np.conj(np.fft.rfft(template)), n=n, axis=1)
        shift = corr.argmax(1)
        value = corr[rows, shift]
        better = value > best
        best[better], best_kappa[better], best_shift[better] = value[better], kappa, shift[better]
    r2 = np.clip(best, 0, None) ** 2 / np.where(total_ss > 0, total_ss, 1)
    return best_kappa, (best_shift + 0.5) * 180 / n, r2


def half_width_deg(kappa: np.ndarray) -> np.ndarray:
    """Half-width at half-height (degrees) of exp(kappa (cos 2x - 1)) above its trough."""
    level = np.log((1 + np.exp(-2 * kappa)) / 2) / kappa + 1
    return np.rad2deg(np.arccos(level) / 2)


class DeepNetReLU(nn.Module):
    """The tutorial's decoder: neurons -> 10 ReLU hidden units -> one output (degrees)."""

    def __init__(self, n_inputs: int, n_hidden: int):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)
        self.out_layer = nn.Linear(n_hidden, 1)

    def forward(self, r):
        return self.out_layer(torch.relu(self.in_layer(r)))


def tutorial_mse_decoder(resp: np.ndarray, stimuli: np.ndarray) -> tuple[DeepNetReLU, dict[int, float]]:
    """Train the tutorial's MSE decoder exactly as the tutorial does: (network, loss at iterations 10..50)."""
    resp_all = torch.tensor(resp, dtype=torch.float32)
    stimuli_all = torch.tensor(stimuli, dtype=torch.float32).unsqueeze(1)
    np.random.seed(4)
    torch.manual_seed(4)
    n_stimuli = resp_all.shape[0]
    itrain = torch.randperm(n_stimuli)[: int(0.6 * n_stimuli)]
    np.random.seed(1)
    torch.manual_seed(1)
    net = DeepNetReLU(resp_all.shape[1], 10)
    loss_fn = nn.MSELoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-4)
    losses = {}
    for i in range(50):
        loss = loss_fn(net(resp_all[itrain]), stimuli_all[itrain])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (i + 1) % 10 == 0:
            losses[i + 1] = loss.item()
    return net, losses


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files():
    return synthetic.generate()


@pytest.fixture(scope="module")
def resp1(files):
    return files[synthetic.BINNED_FILE]["resp"]


@pytest.fixture(scope="module")
def split(files):
    f = files[synthetic.SPLIT_FILE]
    return f["resp_train"], f["resp_test"]


@pytest.fixture(scope="module")
def mse_decoder(resp1, files):
    return tutorial_mse_decoder(resp1, files[synthetic.BINNED_FILE]["stimuli"])


@pytest.fixture(scope="module")
def reliability(split):
    return split_half_r(*split)


@pytest.fixture(scope="module")
def small_trials():
    return synthetic.simulate_trials(SMALL)


# ---------------------------------------------------------------------------------------------
# Format, determinism, preprocessing
# ---------------------------------------------------------------------------------------------


def test_files_have_the_real_names_keys_shapes_and_dtypes(files):
    assert set(files) == {synthetic.BINNED_FILE, synthetic.SPLIT_FILE}
    one = files[synthetic.BINNED_FILE]
    assert set(one) == {"resp", "stimuli"}
    assert one["resp"].shape == (360, 23589) and one["resp"].dtype == np.float32
    assert one["stimuli"].dtype == np.float32
    np.testing.assert_array_equal(one["stimuli"], np.arange(360))
    six = files[synthetic.SPLIT_FILE]
    assert set(six) == {"resp_train", "resp_test", "stimuli"}
    for key in ("resp_train", "resp_test"):
        assert six[key].shape == (60, 23589) and six[key].dtype == np.float32
        assert np.isfinite(six[key]).all()
    assert np.isfinite(one["resp"]).all()
    np.testing.assert_array_equal(six["stimuli"], np.arange(0, 360, 6))
    assert six["stimuli"].dtype == np.float32


def test_same_bytes_every_call_whatever_the_thread_count():
    first = synthetic.generate(SMALL, n_workers=1)
    for workers in (2, 3):
        again = synthetic.generate(SMALL, n_workers=workers)
        for name, arrays in first.items():
            for key, value in arrays.items():
                assert value.tobytes() == again[name][key].tobytes(), (name, key, workers)
    other = synthetic.generate(dataclasses.replace(SMALL, seed=8), n_workers=1)
    assert not np.array_equal(first[synthetic.BINNED_FILE]["resp"], other[synthetic.BINNED_FILE]["resp"])


def test_params_are_frozen_and_checked():
    params = synthetic.StandInParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.seed = 3
    with pytest.raises(ValueError, match="n_trials"):
        synthetic.StandInParams(n_trials=100)
    with pytest.raises(ValueError, match="shared_fraction"):
        synthetic.StandInParams(shared_fraction=1.0)
    assert isinstance(synthetic.GENERATOR_VERSION, int) and synthetic.GENERATOR_VERSION >= 1


def test_trials_are_stratified_and_split_in_equal_halves(small_trials):
    ori = small_trials.orientation_deg
    assert ori.shape == (4598,) and ori.min() >= 0 and ori.max() < 360
    per_bin = np.bincount(np.floor(ori).astype(int), minlength=360)
    assert per_bin.min() == 12 and per_bin.max() == 13  # 4598 / 360 = 12.8 trials a bin
    assert (small_trials.half == 0).sum() == (small_trials.half == 1).sum() == 2299
    # The halves are a random split, not e.g. by orientation: both cover the circle evenly.
    for h in (0, 1):
        assert stats.kstest(ori[small_trials.half == h] / 360, "uniform").pvalue > 0.01


def test_files_are_single_trials_zscored_then_binned(small_trials):
    """The binned files equal the tutorial's preprocessing applied to the simulated single trials."""
    r = small_trials.resp.astype(np.float64)
    z = (r - r.mean(0)) / r.std(0)  # z-score each neuron over all trials
    ori = small_trials.orientation_deg
    files = synthetic.generate(SMALL)
    one_deg = np.array([z[np.floor(ori) == b].mean(0) for b in range(360)])
    np.testing.assert_allclose(files[synthetic.BINNED_FILE]["resp"], one_deg, atol=2e-5)
    six = files[synthetic.SPLIT_FILE]
    for half, key in ((0, "resp_train"), (1, "resp_test")):
        zh, oh = z[small_trials.half == half], ori[small_trials.half == half]
        expected = np.array([zh[np.floor(oh / 6) == b].mean(0) for b in range(60)])
        np.testing.assert_allclose(six[key], expected, atol=2e-5)
    # Binning before z-scoring would give every neuron SD 1 across bins; the right order gives far less.
    assert np.median(files[synthetic.BINNED_FILE]["resp"].std(0)) < 0.6


def test_both_files_come_from_the_same_trials(resp1, split):
    """6-degree averages of the 1-degree file match the mean of the two halves (up to bin counts)."""
    six_from_one = resp1.reshape(60, 6, -1).mean(1)
    halves = (split[0] + split[1]) / 2
    diff = np.abs(six_from_one - halves)
    assert np.median(diff) < 0.01 and diff.max() < 0.5
    r = split_half_r(six_from_one, halves)
    assert np.median(r) > 0.99


# ---------------------------------------------------------------------------------------------
# Single-trial noise (small population)
# ---------------------------------------------------------------------------------------------


def test_single_trial_noise_is_large_skewed_and_partly_shared(small_trials):
    r = small_trials.resp.astype(np.float64)
    z = (r - r.mean(0)) / r.std(0)
    bins = np.floor(small_trials.orientation_deg / 6).astype(int)
    tuning = np.array([z[bins == b].mean(0) for b in range(60)])
    resid = z - tuning[bins]
    explained = 1 - (resid**2).mean(0)
    # Most single-trial variance is not stimulus-driven (real: single-neuron SNR is low).
    assert np.median(explained) < 0.2 and np.percentile(explained, 90) < 0.4
    # Skewed like deconvolved calcium responses.
    assert np.median(stats.skew(r, axis=0)) > 2
    # Shared: trial-to-trial fluctuations are positively correlated across neurons, and more
    # so than after shuffling each neuron's residuals within bins (which keeps everything else).
    iu = np.triu_indices(r.shape[1], 1)
    mean_corr = np.corrcoef(resid.T)[iu].mean()
    rng = np.random.default_rng(0)
    shuffled = resid.copy()
    for b in range(60):
        idx = np.flatnonzero(bins == b)
        shuffled[idx] = np.take_along_axis(resid[idx], rng.random((idx.size, r.shape[1])).argsort(0), 0)
    assert mean_corr > 0.003
    assert abs(np.corrcoef(shuffled.T)[iu].mean()) < 0.001
    top = np.linalg.eigvalsh(np.cov(resid.T))[-1]
    top_shuffled = np.linalg.eigvalsh(np.cov(shuffled.T))[-1]
    assert top > 2 * top_shuffled


def test_shared_noise_shows_in_the_split_file(split):
    """Train-minus-test differences (noise only) have a dominant shared direction across neurons."""
    diff = split[0] - split[1]
    diff = diff - diff.mean(0)
    eig = np.linalg.eigvalsh(diff @ diff.T)
    rng = np.random.default_rng(1)
    shuffled = np.take_along_axis(diff, rng.random(diff.shape).argsort(0), 0)
    eig_shuffled = np.linalg.eigvalsh(shuffled @ shuffled.T)
    assert eig[-1] / eig.mean() > 1.3 * eig_shuffled[-1] / eig_shuffled.mean()


# ---------------------------------------------------------------------------------------------
# Tuning (full-size files)
# ---------------------------------------------------------------------------------------------


def test_preferred_orientations_are_uniform(resp1):
    """Real: SD of preferences folded to 0-180 is 52.3 deg (52.0 for uniform); tutorial's estimate."""
    preferred = gaussian_filter1d(resp1, 5, axis=0).argmax(0)
    folded = preferred % 180
    assert abs(folded.std() - 52.0) < 1.0
    share = np.bincount(folded // 20, minlength=9) / folded.size
    assert np.all(np.abs(share - 1 / 9) < 0.01)


def test_tuning_is_double_peaked_with_the_second_peak_usually_lower(split, reliability):
    """Preferred 6-degree bin from resp_train; both peaks read off resp_test (independent trials).

    Direction selectivity was not published for this recording; the design gives a median
    second-to-first peak ratio of about 0.5.
    """
    train, test = split
    sel = reliability > 0.5
    cols = np.arange(train.shape[1])[sel]
    first = train[:, sel].argmax(0)
    second = (first + 30) % 60
    base = np.median(test[:, sel], 0)
    ratio = (test[second, cols] - base) / (test[first, cols] - base)
    assert 0.35 < np.median(ratio) < 0.7  # second peak usually lower (0.50) ...
    assert np.mean(ratio > 0.25) > 0.7  # ... but present: two peaks 180 degrees apart (0.76)
    assert np.mean(ratio < 1) > 0.7  # (0.78)
    # Halfway between the peaks the response is lower than at either peak.
    trough = test[(first + 15) % 60, cols]
    assert np.median(test[second, cols] - trough) > 0.1


def test_tuning_width(resp1, reliability):
    """Real: kappa median 3.8 (IQR 1.3-8.2), half-width ~17 deg (IQR 12-31), 5-degree bins folded."""
    kappa, _, _ = von_mises_fit(fold(resp1, 5))
    reliable = reliability > 0.5
    q25, q50, q75 = np.percentile(kappa[reliable], [25, 50, 75])
    assert 3.3 < q50 < 4.3
    assert 1.0 < q25 < 1.6
    assert 7.0 < q75 < 9.5
    w25, w50, w75 = np.percentile(half_width_deg(kappa[reliable]), [25, 50, 75])
    assert 15 < w50 < 20 and 10 < w25 < 14 and 26 < w75 < 34


def test_split_half_reliability(reliability):
    """Real: median 0.79; > 0.5 for 85 %; > 0.2 for 98 %; < 0 for 0.5 %."""
    assert 0.76 < np.median(reliability) < 0.82
    assert 0.82 < np.mean(reliability > 0.5) < 0.90
    assert 0.97 < np.mean(reliability > 0.2) < 0.99
    assert 0.002 < np.mean(reliability < 0) < 0.01


def test_untuned_fraction(resp1):
    """Real: about 2 % of neurons have tuning fit R^2 < 0.1 (here: fit to the 1-degree curve folded)."""
    _, _, r2 = von_mises_fit(fold(resp1, 1), kappas=KAPPA_GRID[::2])  # R^2 needs no fine kappa grid
    assert 0.01 < np.mean(r2 < 0.1) < 0.03


def test_value_range(split):
    """Per-neuron SD of binned responses well below 1; curves mostly inside the tutorial's -0.5..2.4."""
    train = split[0]
    sd = train.std(0)
    assert np.median(sd) < 0.5 and np.percentile(sd, 99) < 1
    inside = ((train > -0.5) & (train < 2.4)).all(0)
    assert inside.mean() > 0.93
    assert ((train > -0.5) & (train < 2.4)).mean() > 0.998


# ---------------------------------------------------------------------------------------------
# What the tutorial does with it
# ---------------------------------------------------------------------------------------------


def test_tutorial_mse_decoder_learns_like_on_the_real_data(mse_decoder):
    """Each checkpoint within a factor 1.5 of the real loss (faster early, slower late), decreasing."""
    _, losses = mse_decoder
    values = [losses[i] for i in sorted(REAL_MSE_DECODER_LOSS)]
    assert all(later < earlier for earlier, later in zip(values, values[1:], strict=False))
    for iteration, real in REAL_MSE_DECODER_LOSS.items():
        assert real / 1.5 < losses[iteration] < real * 1.5, (iteration, losses[iteration], real)


def test_population_precision_is_information_limited():
    """Real: discrimination threshold about 0.3-0.35 deg; here from the model's linear Fisher information."""
    threshold = synthetic.linear_fisher_threshold_deg()
    assert 0.28 < threshold < 0.35
    no_jitter = dataclasses.replace(synthetic.StandInParams(), ori_jitter_deg=0.0)
    assert synthetic.linear_fisher_threshold_deg(no_jitter) < threshold - 0.05
    # Information-limiting: with the jitter, a quarter of the neurons loses much less precision
    # than the sqrt(4) = 2x that independent noise would cost.
    quarter = synthetic.linear_fisher_threshold_deg(n_neurons=23589 // 4)
    quarter_no_jitter = synthetic.linear_fisher_threshold_deg(no_jitter, n_neurons=23589 // 4)
    no_jitter_all = synthetic.linear_fisher_threshold_deg(no_jitter)
    assert quarter / threshold < 0.8 * quarter_no_jitter / no_jitter_all
    assert math.isclose(quarter_no_jitter / no_jitter_all, 2, rel_tol=0.15)


@pytest.mark.xfail(
    strict=True,
    reason="not met: on the stand-in each active hidden unit of the MSE decoder weighs one group "
    "(median second/first 0.06); the recording shows two groups 180 degrees apart",
)
def test_active_hidden_units_weigh_two_groups_180_degrees_apart(resp1, files, mse_decoder):
    """Real (the tutorial's text on the recording): each active unit weighs two groups 180 deg apart."""
    net, _ = mse_decoder
    stimuli = files[synthetic.BINNED_FILE]["stimuli"]
    preferred = stimuli[gaussian_filter1d(resp1, 5, axis=0, mode="wrap").argmax(0)]  # as the tutorial
    with torch.no_grad():
        activity = torch.relu(net.in_layer(torch.tensor(resp1))).numpy()  # (stimuli, hidden)
    active = activity.max(0) > 0.1 * activity.max()
    ratio = metrics.opposite_group_ratio(net.in_layer.weight.detach().numpy()[active], preferred)
    assert active.sum() >= 5
    assert np.median(ratio) > 0.5, np.round(ratio, 2)
