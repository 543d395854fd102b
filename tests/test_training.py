"""Tests for helpers.training: the loops, stimulus classes and device choice.

Small networks and data throughout, so the whole file runs in seconds.
"""

from __future__ import annotations

import copy
import functools
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.settings import ENV_PROGRESS
from helpers.training import History, get_device, stimulus_class, train, train_encoding_model

LINE = re.compile(r"^iteration (\d+)/(\d+) \| train loss: (-?\d+\.\d{3})(?: \| test loss: (-?\d+\.\d{3}))?$")


@pytest.fixture(autouse=True)
def _progress_env_unset(monkeypatch):
    """Each test starts without NMA_DECODING_PROGRESS, whatever the caller's shell has."""
    monkeypatch.delenv(ENV_PROGRESS, raising=False)


# --------------------------------------------------------------------------------------------
# Toy problems
# --------------------------------------------------------------------------------------------


class TinyNet(nn.Module):
    """Decoder-shaped: responses (n x n_in) -> hidden ReLU -> outputs (n x n_out)."""

    def __init__(self, n_in=8, n_hidden=6, n_out=1):
        super().__init__()
        self.in_layer = nn.Linear(n_in, n_hidden)
        self.out_layer = nn.Linear(n_hidden, n_out)

    def forward(self, r):
        return self.out_layer(torch.relu(self.in_layer(r)))


def toy_regression(n=40, n_in=8, seed=0):
    """Targets that a linear read-out explains well: (n x n_in) inputs, (n x 1) targets."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, n_in, generator=gen)
    y = x @ torch.randn(n_in, 1, generator=gen) + 0.05 * torch.randn(n, 1, generator=gen)
    return x, y


class SmallConvFC(nn.Module):
    """Encoding-model-shaped: images (n x 1 x H x W) -> conv -> flatten -> out_layer -> (n x n_neurons)."""

    def __init__(self, n_neurons=40, c_out=2, height=6, width=8, kernel=3):
        super().__init__()
        self.conv = nn.Conv2d(1, c_out, kernel_size=kernel, padding=kernel // 2)
        self.out_layer = nn.Linear(c_out * height * width, n_neurons)
        nn.init.normal_(self.out_layer.weight, std=0.1)

    def forward(self, s):
        return self.out_layer(self.conv(s).flatten(1))


def encoding_data(n_stimuli=12, n_neurons=40, height=6, width=8, seed=1):
    gen = torch.Generator().manual_seed(seed)
    stimuli = torch.randn(n_stimuli, 1, height, width, generator=gen)
    resp_train = torch.randn(n_stimuli, n_neurons, generator=gen)
    resp_test = resp_train + 0.3 * torch.randn(n_stimuli, n_neurons, generator=gen)
    return stimuli, resp_train, resp_test


def make_encoder(seed=0, **kwargs):
    torch.manual_seed(seed)
    return SmallConvFC(**kwargs)


def reference_encoding_loop(
    net, stimuli, resp_train, resp_test, *, n_iter, learning_rate, momentum, L2, L1, form="seed"
):
    """The plain way: penalties inside the autograd loss, torch.optim.SGD on all parameters.

    ``form="seed"`` writes the loss as the original tutorial's ``regularized_MSE_loss`` does
    (``loss = MSE; loss += L1 + L2``); ``form="sum"`` as ``MSE + L2 + L1`` in one expression.
    """
    optimizer = torch.optim.SGD(net.parameters(), lr=learning_rate, momentum=momentum)
    train_loss, test_loss = [], []
    for _ in range(n_iter):
        weight = net.out_layer.weight
        prediction = net(stimuli)
        L2_term = L2 * torch.square(weight).sum()
        L1_term = L1 * torch.abs(weight).sum()
        if form == "seed":
            loss = F.mse_loss(prediction, resp_train)
            loss += L1_term + L2_term
        else:
            loss = F.mse_loss(prediction, resp_train) + L2_term + L1_term
        with torch.no_grad():
            test_loss.append((F.mse_loss(prediction, resp_test) + L1_term + L2_term).item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_loss.append(loss.item())
    return np.array(train_loss), np.array(test_loss)


def assert_same_parameters(net_a, net_b, rtol=1e-5):
    for (name, a), (_, b) in zip(net_a.named_parameters(), net_b.named_parameters(), strict=True):
        scale = b.detach().abs().max().item()
        diff = (a.detach() - b.detach()).abs().max().item()
        assert diff <= rtol * scale, f"{name}: max |diff| {diff:.3g} > {rtol} * max |value| {scale:.3g}"


# --------------------------------------------------------------------------------------------
# get_device
# --------------------------------------------------------------------------------------------


def test_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device() == torch.device("cuda")


# --------------------------------------------------------------------------------------------
# stimulus_class
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "n_classes", "expected"),
    [
        (0.0, 20, 0),
        (17.999, 20, 0),
        (18.0, 20, 1),
        (359.9, 20, 19),
        (354.0, 60, 59),
        (180.0, 2, 1),
        (5.0, 1, 0),
    ],
)
def test_stimulus_class_edges(orientation, n_classes, expected):
    assert stimulus_class(torch.tensor([orientation]), n_classes).tolist() == [expected]


def test_stimulus_class_matches_the_tutorial_digitize_on_a_grid():
    orientations = np.concatenate([np.arange(0, 360, 0.5), np.arange(0, 360, 360 / 7)])
    for n_classes in (1, 2, 7, 12, 20, 60):
        digitize = np.digitize(orientations, np.linspace(0, 360, n_classes + 1)) - 1
        got = stimulus_class(orientations, n_classes).numpy()
        np.testing.assert_array_equal(got, digitize, err_msg=f"n_classes={n_classes}")


def test_stimulus_class_column_and_vector_agree_and_give_long():
    column = torch.arange(0, 360, 6, dtype=torch.float32).reshape(-1, 1)
    from_column = stimulus_class(column, 20)
    assert from_column.dtype == torch.long
    assert from_column.shape == (60,)
    assert torch.equal(from_column, stimulus_class(column[:, 0], 20))
    assert torch.equal(from_column, torch.arange(60) // 3)


@pytest.mark.parametrize("bad", [360.0, -0.1, 400.0])
def test_stimulus_class_rejects_angles_outside_range_and_names_the_fix(bad):
    with pytest.raises(ValueError, match=r"\[0, 360\).*% 360"):
        stimulus_class(torch.tensor([10.0, bad]), 20)


def test_stimulus_class_rejects_nan_bad_shape_and_bad_n_classes():
    with pytest.raises(ValueError, match="NaN"):
        stimulus_class([10.0, float("nan")], 20)
    with pytest.raises(ValueError, match=r"\(n,\) or \(n, 1\)"):
        stimulus_class(torch.zeros(5, 2), 20)
    for bad in (0, -3, 2.5, True, "20"):
        with pytest.raises(ValueError, match="n_classes"):
            stimulus_class([10.0], bad)


# --------------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------------


def test_train_reduces_loss_on_toy_regression():
    x, y = toy_regression()
    torch.manual_seed(0)
    net = TinyNet()
    history = train(net, nn.MSELoss(), x, y, n_iter=300, learning_rate=0.05, momentum=0.9, progress=False)
    assert isinstance(history, History)
    assert history.test_loss is None
    assert history.train_loss.shape == (300,)
    assert np.isfinite(history.train_loss).all()
    assert history.train_loss[-1] < 0.05 * history.train_loss[0]
    # The network itself was trained (not only the numbers recorded).
    with torch.no_grad():
        assert F.mse_loss(net(x), y).item() < 0.05 * history.train_loss[0]


def test_train_matches_a_plain_loop_with_test_loss_every_iteration():
    """Whole histories equal an independent loop; the loss can be a penalised closure."""
    x, y = toy_regression(seed=0)
    x_test, y_test = toy_regression(seed=0, n=20)
    torch.manual_seed(3)
    net = TinyNet()
    net_ref = copy.deepcopy(net)

    def penalised(output, target, weights, L2):
        return F.mse_loss(output, target) + L2 * torch.square(weights).sum()

    loss_fn = functools.partial(penalised, weights=net.in_layer.weight, L2=0.01)
    history = train(
        net,
        loss_fn,
        x,
        y,
        n_iter=7,
        learning_rate=0.05,
        momentum=0.5,
        test_data=x_test,
        test_labels=y_test,
        progress=False,
        print_every=0,
    )

    ref_loss = functools.partial(penalised, weights=net_ref.in_layer.weight, L2=0.01)
    optimizer = torch.optim.SGD(net_ref.parameters(), lr=0.05, momentum=0.5)
    train_ref, test_ref = [], []
    for _ in range(7):
        with torch.no_grad():
            test_ref.append(ref_loss(net_ref(x_test), y_test).item())
        loss = ref_loss(net_ref(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_ref.append(loss.item())

    assert history.test_loss is not None and history.test_loss.shape == (7,)
    assert not np.isnan(history.test_loss).any()
    np.testing.assert_allclose(history.train_loss, train_ref, rtol=1e-6)
    np.testing.assert_allclose(history.test_loss, test_ref, rtol=1e-6)
    assert_same_parameters(net, net_ref, rtol=1e-6)


def test_last_test_loss_is_the_network_before_the_last_update():
    """test_loss[k] is the loss of the network after k updates, computed independently here."""
    x, y = toy_regression()
    x_test, y_test = toy_regression(seed=5, n=15)
    torch.manual_seed(0)
    net_a = TinyNet()
    net_b = copy.deepcopy(net_a)
    kwargs = dict(learning_rate=0.05, momentum=0.9, test_data=x_test, test_labels=y_test, progress=False)
    history_a = train(net_a, nn.MSELoss(), x, y, n_iter=6, **kwargs)
    train(net_b, nn.MSELoss(), x, y, n_iter=5, **kwargs)
    with torch.no_grad():
        assert history_a.test_loss[-1] == pytest.approx(F.mse_loss(net_b(x_test), y_test).item(), rel=1e-6)
        assert history_a.train_loss[-1] == pytest.approx(F.mse_loss(net_b(x), y).item(), rel=1e-6)


@pytest.mark.parametrize("n_iter", [1, 2, 5, 9])
def test_train_short_runs_work(n_iter):
    """The original loop crashed for n_iter < 10 (a warm-up branch using `self`)."""
    x, y = toy_regression()
    torch.manual_seed(0)
    net = TinyNet()
    before = net.in_layer.weight.detach().clone()
    history = train(
        net,
        nn.MSELoss(),
        x,
        y,
        n_iter=n_iter,
        learning_rate=0.01,
        momentum=0.9,
        test_data=x,
        test_labels=y,
        progress=False,
    )
    assert history.train_loss.shape == history.test_loss.shape == (n_iter,)
    assert np.isfinite(history.train_loss).all() and np.isfinite(history.test_loss).all()
    assert not torch.equal(before, net.in_layer.weight)


def test_train_classification_with_stimulus_class_labels():
    gen = torch.Generator().manual_seed(0)
    orientations = torch.arange(0, 360, 6, dtype=torch.float32).reshape(-1, 1)
    labels = stimulus_class(orientations, 4)
    responses = F.one_hot(labels, 4).float() @ torch.randn(4, 10, generator=gen)
    responses += 0.1 * torch.randn(responses.shape, generator=gen)
    torch.manual_seed(0)
    net = nn.Sequential(TinyNet(n_in=10, n_hidden=12, n_out=4), nn.LogSoftmax(dim=1))
    history = train(net, nn.NLLLoss(), responses, labels, n_iter=200, learning_rate=0.2, progress=False)
    assert history.train_loss[-1] < 0.2 * history.train_loss[0]
    with torch.no_grad():
        assert (net(responses).argmax(1) == labels).float().mean().item() > 0.9


# Progress bar and printed lines ---------------------------------------------------------------


def run_small(**kwargs):
    x, y = toy_regression()
    torch.manual_seed(0)
    return train(
        TinyNet(), nn.MSELoss(), x, y, n_iter=10, learning_rate=0.01, test_data=x, test_labels=y, **kwargs
    )


def test_progress_false_writes_no_bar(capfd):
    run_small(progress=False, print_every=0)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_progress_env_var_zero_switches_bar_off(capfd, monkeypatch):
    monkeypatch.setenv(ENV_PROGRESS, "0")
    run_small(print_every=0)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_progress_on_by_default_and_argument_overrides_env(capfd, monkeypatch):
    run_small(print_every=0)
    err = capfd.readouterr().err
    assert "10/10" in err and "train loss" in err
    monkeypatch.setenv(ENV_PROGRESS, "0")
    run_small(progress=True, print_every=0)
    assert "10/10" in capfd.readouterr().err


@pytest.mark.parametrize("progress", [False, True])
def test_print_every_lines(capfd, progress):
    history = run_small(progress=progress, print_every=5)
    lines = [line for line in capfd.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 2
    for line, iteration in zip(lines, (5, 10), strict=True):
        match = LINE.match(line)
        assert match, line
        assert (int(match[1]), int(match[2])) == (iteration, 10)
        assert match[3] == f"{history.train_loss[iteration - 1]:.3f}"
        assert match[4] == f"{history.test_loss[iteration - 1]:.3f}"


@pytest.mark.parametrize(
    ("n_iter", "expected"), [(10, [2, 4, 6, 8, 10]), (3, [1, 2, 3]), (1, [1]), (12, [2, 4, 6, 8, 10, 12])]
)
def test_print_every_default_is_five_checkpoints(capfd, n_iter, expected):
    x, y = toy_regression()
    train(TinyNet(), nn.MSELoss(), x, y, n_iter=n_iter, learning_rate=0.01, progress=False)
    lines = capfd.readouterr().out.splitlines()
    assert [int(LINE.match(line)[1]) for line in lines] == expected
    assert all(LINE.match(line)[4] is None for line in lines)  # no test data, no test loss


def test_bad_print_every_is_refused():
    for bad in (-1, 2.5, "5"):
        with pytest.raises(ValueError, match="print_every"):
            run_small(progress=False, print_every=bad)


# Bad input ------------------------------------------------------------------------------------


def test_train_refuses_bad_input_with_clear_messages():
    x, y = toy_regression()
    net = TinyNet()
    kwargs = dict(n_iter=2, learning_rate=0.01, progress=False)
    with pytest.raises(ValueError, match="train_data has 40 rows but train_labels has 39"):
        train(net, nn.MSELoss(), x, y[:-1], **kwargs)
    with pytest.raises(ValueError, match="test_labels is missing"):
        train(net, nn.MSELoss(), x, y, test_data=x, **kwargs)
    with pytest.raises(ValueError, match="test_data has 40 rows but test_labels has 3"):
        train(net, nn.MSELoss(), x, y, test_data=x, test_labels=y[:3], **kwargs)
    with pytest.raises(TypeError, match="torch tensor"):
        train(net, nn.MSELoss(), x.numpy(), y, **kwargs)
    with pytest.raises(ValueError, match=r"float64.*\.to\(torch.float32\)"):
        train(net, nn.MSELoss(), x.double(), y, **kwargs)
    with pytest.raises(TypeError, match=r"class MSELoss.*nn\.MSELoss\(\)"):
        train(net, nn.MSELoss, x, y, **kwargs)
    with pytest.raises(ValueError, match="single number"):
        train(net, nn.MSELoss(reduction="none"), x, y, **kwargs)
    with pytest.raises(ValueError, match="does not depend on the network"):
        train(net, lambda out, target: F.mse_loss(out.detach(), target), x, y, **kwargs)
    with pytest.raises(ValueError, match="nothing to train"):
        train(nn.ReLU(), nn.MSELoss(), x, y, **kwargs)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="n_iter"):
            train(net, nn.MSELoss(), x, y, n_iter=bad, learning_rate=0.01, progress=False)
    for bad in (0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="learning_rate"):
            train(net, nn.MSELoss(), x, y, n_iter=2, learning_rate=bad, progress=False)
    for bad in (1.0, -0.5):
        with pytest.raises(ValueError, match="momentum"):
            train(net, nn.MSELoss(), x, y, momentum=bad, **kwargs)


def test_divergence_is_reported_not_recorded_as_nan():
    x, y = toy_regression()
    torch.manual_seed(0)
    with pytest.raises(FloatingPointError, match="Lower learning_rate"):
        train(TinyNet(), nn.MSELoss(), 1e3 * x, y, n_iter=50, learning_rate=10.0, progress=False)


# --------------------------------------------------------------------------------------------
# train_encoding_model
# --------------------------------------------------------------------------------------------


def assert_identical_parameters(net_a, net_b):
    for (name, a), (_, b) in zip(net_a.named_parameters(), net_b.named_parameters(), strict=True):
        if not torch.equal(a, b):
            diff = (a.detach() - b.detach()).abs().max().item()
            raise AssertionError(f"{name} differs from the plain loop's: max |diff| {diff:.3g} (expected 0)")


@pytest.mark.parametrize("form", ["seed", "sum"])
@pytest.mark.parametrize(
    ("momentum", "L2", "L1", "learning_rate"),
    [(0.9, 5e-4, 1e-6, 0.2), (0.9, 1e-2, 1e-3, 0.5), (0.0, 5e-4, 1e-6, 0.5), (0.5, 0.0, 0.0, 0.5)],
)
def test_encoding_model_equals_plain_autograd_loop_bit_for_bit(momentum, L2, L1, learning_rate, form):
    # Same float32 operations in the same order as autograd + SGD, so the same numbers: with L1 a
    # last-bit difference would flip sign(W) later on and grow (to ~3e-3 over the tutorial's run).
    stimuli, resp_train, resp_test = encoding_data()
    net = make_encoder()
    net_ref = copy.deepcopy(net)
    settings = dict(n_iter=25, learning_rate=learning_rate, momentum=momentum)
    history = train_encoding_model(
        net,
        stimuli,
        resp_train,
        resp_test,
        L2_penalty=L2,
        L1_penalty=L1,
        progress=False,
        print_every=0,
        **settings,
    )
    train_ref, test_ref = reference_encoding_loop(
        net_ref, stimuli, resp_train, resp_test, L2=L2, L1=L1, form=form, **settings
    )
    assert_identical_parameters(net, net_ref)
    np.testing.assert_allclose(history.train_loss, train_ref, rtol=1e-5)
    np.testing.assert_allclose(history.test_loss, test_ref, rtol=1e-5)
    # The run actually moved the weights (the comparison above is not between two untouched nets).
    assert not torch.allclose(net.out_layer.weight, make_encoder().out_layer.weight)


def test_encoding_model_with_frozen_convolution_equals_plain_loop():
    stimuli, resp_train, resp_test = encoding_data()
    net = make_encoder()
    for p in (*net.conv.parameters(), net.out_layer.bias):
        p.requires_grad_(False)
    net_ref = copy.deepcopy(net)
    history = train_encoding_model(
        net,
        stimuli,
        resp_train,
        resp_test,
        n_iter=4,
        learning_rate=0.5,
        L2_penalty=1e-2,
        L1_penalty=1e-3,
        progress=False,
        print_every=0,
    )
    train_ref, _ = reference_encoding_loop(
        net_ref, stimuli, resp_train, resp_test, n_iter=4, learning_rate=0.5, momentum=0.9, L2=1e-2, L1=1e-3
    )
    np.testing.assert_allclose(history.train_loss, train_ref, rtol=1e-5)
    assert_identical_parameters(net, net_ref)
    assert torch.equal(net.conv.weight, make_encoder().conv.weight)


def test_encoding_model_uses_both_penalties():
    stimuli, resp_train, resp_test = encoding_data()
    common = dict(n_iter=30, learning_rate=0.2, progress=False, print_every=0)
    nets = {}
    for name, L2, L1 in (("none", 0.0, 0.0), ("L2", 0.5, 0.0), ("L1", 0.0, 0.05)):
        nets[name] = make_encoder()
        train_encoding_model(
            nets[name], stimuli, resp_train, resp_test, L2_penalty=L2, L1_penalty=L1, **common
        )
    weights = {name: net.out_layer.weight.detach() for name, net in nets.items()}
    assert weights["L2"].square().sum() < 0.8 * weights["none"].square().sum()
    assert weights["L1"].abs().sum() < 0.8 * weights["none"].abs().sum()


def test_encoding_penalty_values_are_accurate_on_a_large_weight_matrix():
    """The penalties in the recorded loss equal float64 sums (a float32 norm over 2.3 M weights is
    off by ~1e-4)."""
    gen = torch.Generator().manual_seed(0)
    stimuli = torch.randn(5, 1, 12, 16, generator=gen)
    resp = torch.randn(5, 2000, generator=gen)
    net = make_encoder(n_neurons=2000, c_out=6, height=12, width=16, kernel=7)
    weight = net.out_layer.weight.detach().double()
    expected = 0.3 * weight.square().sum().item() + 0.02 * weight.abs().sum().item()
    common = dict(n_iter=1, progress=False, print_every=0)
    plain = train_encoding_model(
        copy.deepcopy(net), stimuli, resp, resp, L2_penalty=0, L1_penalty=0, **common
    )
    penalised = train_encoding_model(net, stimuli, resp, resp, L2_penalty=0.3, L1_penalty=0.02, **common)
    penalty = penalised.train_loss[0] - plain.train_loss[0]
    assert penalty == pytest.approx(expected, rel=1e-7)
    assert penalised.test_loss[0] - plain.test_loss[0] == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("n_iter", [1, 3, 9])
def test_encoding_model_short_runs(n_iter):
    stimuli, resp_train, resp_test = encoding_data()
    net = make_encoder()
    history = train_encoding_model(
        net, stimuli, resp_train, resp_test, n_iter=n_iter, learning_rate=0.2, progress=False
    )
    assert history.train_loss.shape == history.test_loss.shape == (n_iter,)
    assert np.isfinite(history.train_loss).all() and np.isfinite(history.test_loss).all()


def test_encoding_model_test_loss_is_test_objective_at_the_same_weights():
    stimuli, resp_train, resp_test = encoding_data()
    net = make_encoder()
    history = train_encoding_model(
        net, stimuli, resp_train, resp_test, n_iter=5, learning_rate=0.5, progress=False
    )
    # One more run of 1 iteration starts from the trained weights: its losses are those of the final net.
    final = train_encoding_model(copy.deepcopy(net), stimuli, resp_train, resp_test, n_iter=1, progress=False)
    weight = net.out_layer.weight.detach().double()
    penalty = 5e-4 * weight.square().sum().item() + 1e-6 * weight.abs().sum().item()
    with torch.no_grad():
        prediction = net(stimuli)
        assert final.test_loss[0] == pytest.approx(
            F.mse_loss(prediction, resp_test).item() + penalty, rel=1e-6
        )
        assert final.train_loss[0] == pytest.approx(
            F.mse_loss(prediction, resp_train).item() + penalty, rel=1e-6
        )
    assert history.train_loss[-1] > final.train_loss[0]  # it kept improving


def test_encoding_model_restores_the_network_after_success_and_after_error():
    stimuli, resp_train, resp_test = encoding_data()
    net = make_encoder()
    train_encoding_model(net, stimuli, resp_train, resp_test, n_iter=2, progress=False, print_every=0)
    assert net.out_layer.weight.requires_grad
    assert not net.out_layer._forward_hooks
    with pytest.raises(FloatingPointError, match="learning_rate"):
        train_encoding_model(
            net, stimuli, 1e4 * resp_train, resp_test, n_iter=30, learning_rate=50.0, progress=False
        )
    assert net.out_layer.weight.requires_grad
    assert not net.out_layer._forward_hooks
    # Still an ordinary network: autograd reaches the out_layer weight again.
    net.zero_grad()
    net(stimuli).sum().backward()
    assert net.out_layer.weight.grad is not None


def test_encoding_model_prints_checkpoints(capfd):
    stimuli, resp_train, resp_test = encoding_data()
    history = train_encoding_model(
        make_encoder(), stimuli, resp_train, resp_test, n_iter=10, learning_rate=0.2, progress=False
    )
    out, err = capfd.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert [int(LINE.match(line)[1]) for line in lines] == [2, 4, 6, 8, 10]
    assert LINE.match(lines[-1])[4] == f"{history.test_loss[-1]:.3f}"


class NoOutLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.readout = nn.Linear(96, 40)

    def forward(self, s):
        return self.readout(s.flatten(1))


class TwiceOutLayer(SmallConvFC):
    def forward(self, s):
        hidden = self.conv(s).flatten(1)
        return self.out_layer(hidden) + self.out_layer(hidden)


def test_encoding_model_refuses_bad_input_with_clear_messages():
    stimuli, resp_train, resp_test = encoding_data()
    net = make_encoder()
    kwargs = dict(n_iter=2, progress=False)
    with pytest.raises(ValueError, match="stimuli has 12 rows but resp_train has 11"):
        train_encoding_model(net, stimuli, resp_train[:-1], resp_test[:-1], **kwargs)
    with pytest.raises(ValueError, match="resp_test has shape"):
        train_encoding_model(net, stimuli, resp_train, resp_test[:-1], **kwargs)
    with pytest.raises(ValueError, match=r"out_features = 40.*\(12, 39\)"):
        train_encoding_model(net, stimuli, resp_train[:, :39], resp_test[:, :39], **kwargs)
    with pytest.raises(ValueError, match="out_layer.*has none"):
        train_encoding_model(NoOutLayer(), stimuli, resp_train, resp_test, **kwargs)
    with pytest.raises(ValueError, match="L1_penalty"):
        train_encoding_model(net, stimuli, resp_train, resp_test, L1_penalty=-1.0, **kwargs)
    with pytest.raises(ValueError, match="float64"):
        train_encoding_model(net, stimuli.double(), resp_train, resp_test, **kwargs)
    with pytest.raises(RuntimeError, match="more than once"):
        train_encoding_model(TwiceOutLayer(), stimuli, resp_train, resp_test, **kwargs)
    frozen = make_encoder()
    frozen.out_layer.weight.requires_grad_(False)
    with pytest.raises(ValueError, match="requires_grad"):
        train_encoding_model(frozen, stimuli, resp_train, resp_test, **kwargs)
