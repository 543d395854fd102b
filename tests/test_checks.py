"""helpers.checks on right answers, on the typical wrong ones (each failing for the right reason), on
undone exercises, on code that raises, and on the plain-file route the grader uses
(helpers.grade.transport)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter1d
from torch import nn

from helpers import checks, exercises
from helpers.grade import transport
from helpers.grade.grading import judge_outputs
from helpers.placeholders import not_done

# ---------------------------------------------------------------- preferred_orientation


def pref_right(resp, stimuli_deg, sigma_bins=5):
    smoothed = gaussian_filter1d(np.asarray(resp), sigma_bins, axis=0, mode="wrap")
    return np.asarray(stimuli_deg).reshape(-1)[smoothed.argmax(axis=0)]


def pref_right_torch(resp, stimuli_deg, sigma_bins=5):
    """Another right answer: circular padding and a kernel truncated at 3 sigma, all in torch, float32."""
    radius = int(3 * sigma_bins + 0.5)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(offsets**2) / (2 * sigma_bins**2))
    kernel = (kernel / kernel.sum()).reshape(1, 1, -1)
    curves = resp.T.unsqueeze(1)  # neurons x 1 x stimuli
    padded = torch.nn.functional.pad(curves, (radius, radius), mode="circular")
    smoothed = torch.nn.functional.conv1d(padded, kernel).squeeze(1).T
    return stimuli_deg[smoothed.argmax(dim=0), 0]


def pref_over_neurons(resp, stimuli_deg, sigma_bins=5):
    smoothed = gaussian_filter1d(np.asarray(resp), sigma_bins, axis=0, mode="wrap")
    return smoothed.argmax(axis=1).astype(float)


def pref_indices(resp, stimuli_deg, sigma_bins=5):
    return gaussian_filter1d(np.asarray(resp), sigma_bins, axis=0, mode="wrap").argmax(axis=0)


def pref_unsmoothed(resp, stimuli_deg, sigma_bins=5):
    return np.asarray(stimuli_deg).reshape(-1)[np.asarray(resp).argmax(axis=0)]


def pref_not_circular(resp, stimuli_deg, sigma_bins=5):  # scipy's default mode is "reflect"
    smoothed = gaussian_filter1d(np.asarray(resp), sigma_bins, axis=0)
    return np.asarray(stimuli_deg).reshape(-1)[smoothed.argmax(axis=0)]


def pref_zero_padded(resp, stimuli_deg, sigma_bins=5):
    offsets = np.arange(-20, 21)
    kernel = np.exp(-(offsets**2) / (2 * sigma_bins**2))
    kernel /= kernel.sum()
    resp = np.asarray(resp)
    smoothed = np.stack([np.convolve(resp[:, i], kernel, mode="same") for i in range(resp.shape[1])], axis=1)
    return np.asarray(stimuli_deg).reshape(-1)[smoothed.argmax(axis=0)]


def pref_across_neurons(resp, stimuli_deg, sigma_bins=5):
    smoothed = gaussian_filter1d(np.asarray(resp), sigma_bins, axis=1, mode="wrap")
    return np.asarray(stimuli_deg).reshape(-1)[smoothed.argmax(axis=0)]


def pref_column(resp, stimuli_deg, sigma_bins=5):
    smoothed = gaussian_filter1d(np.asarray(resp), sigma_bins, axis=0, mode="wrap")
    return stimuli_deg[smoothed.argmax(axis=0)]  # a torch column (n_neurons, 1)


def pref_fixed_sigma(resp, stimuli_deg, sigma_bins=5):
    return pref_right(resp, stimuli_deg, 5)


def pref_argmin(resp, stimuli_deg, sigma_bins=5):
    smoothed = gaussian_filter1d(np.asarray(resp), sigma_bins, axis=0, mode="wrap")
    return np.asarray(stimuli_deg).reshape(-1)[smoothed.argmin(axis=0)]


def pref_radians(resp, stimuli_deg, sigma_bins=5):
    return np.deg2rad(pref_right(resp, stimuli_deg, sigma_bins))


def pref_raises(resp, stimuli_deg, sigma_bins=5):
    return resp.argmax(axis=7)


def pref_returns_text(resp, stimuli_deg, sigma_bins=5):
    return "ninety degrees"


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise 'x': fill this in")


@pytest.mark.parametrize("fn", [pref_right, pref_right_torch])
def test_preferred_orientation_passes_right_answers(fn, capsys):
    result = checks.preferred_orientation(fn)
    assert result and result.passed and result.reason == ""
    assert capsys.readouterr().out.strip() == "✓ preferred_orientation looks right"


@pytest.mark.parametrize(
    ("fn", "phrase"),
    [
        (pref_over_neurons, "one value per stimulus"),
        (pref_indices, "index of each peak"),
        (pref_unsmoothed, "does not smooth"),
        (pref_not_circular, "without wrapping around"),
        (pref_zero_padded, "without wrapping around"),
        (pref_across_neurons, "across neurons"),
        (pref_column, "flat array"),
        (pref_fixed_sigma, "ignores sigma_bins"),
        (pref_argmin, "minimum"),
        (pref_radians, "radians"),
        (pref_raises, "raised"),
        (pref_returns_text, "not an array"),
    ],
)
def test_preferred_orientation_names_the_mistake(fn, phrase, capsys):
    result = checks.preferred_orientation(fn)
    assert not result and not result.not_done
    assert phrase in result.reason
    printed = capsys.readouterr().out
    assert printed.startswith("✗ preferred_orientation: ") and phrase in printed
    assert "Traceback" not in printed and "mode='wrap'" not in printed  # says what is wrong, not the answer


def test_preferred_orientation_every_mistake_is_told_apart_on_fresh_inputs():
    """The grader draws new tuning curves for each submission: the diagnosis must hold on any of them."""
    for seed in range(8):
        inputs = checks.make_inputs("preferred_orientation", np.random.default_rng(seed))
        assert checks.check("preferred_orientation", pref_right_torch, inputs)
        assert "without wrapping" in checks.check("preferred_orientation", pref_not_circular, inputs).reason
        assert "does not smooth" in checks.check("preferred_orientation", pref_unsmoothed, inputs).reason
        assert "ignores sigma_bins" in checks.check("preferred_orientation", pref_fixed_sigma, inputs).reason


# ---------------------------------------------------------------- classifier


class DeepNetSoftmax(nn.Module):
    def __init__(self, n_inputs, n_hidden, n_classes, relu=True, last=None):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)
        self.out_layer = nn.Linear(n_hidden, n_classes)
        self.relu = relu
        self.last = last if last is not None else nn.LogSoftmax(dim=1)

    def forward(self, r):
        h = self.in_layer(r)
        return self.last(self.out_layer(torch.relu(h) if self.relu else h))


def cls_right(n_inputs, n_classes, n_hidden=20):
    return DeepNetSoftmax(n_inputs, n_hidden, n_classes), nn.NLLLoss()


def cls_sequential(n_inputs, n_classes, n_hidden=20):
    net = nn.Sequential(
        nn.Linear(n_inputs, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_classes), nn.LogSoftmax(dim=1)
    )
    return net, torch.nn.functional.nll_loss


def cls_hidden_10(n_inputs, n_classes, n_hidden=10):
    return DeepNetSoftmax(n_inputs, n_hidden, n_classes), nn.NLLLoss()


def cls_ignores_n_hidden(n_inputs, n_classes, n_hidden=20):
    return DeepNetSoftmax(n_inputs, 20, n_classes), nn.NLLLoss()


def cls_softmax(n_inputs, n_classes, n_hidden=20):
    return DeepNetSoftmax(n_inputs, n_hidden, n_classes, last=nn.Softmax(dim=1)), nn.NLLLoss()


def cls_raw(n_inputs, n_classes, n_hidden=20):
    return DeepNetSoftmax(n_inputs, n_hidden, n_classes, last=nn.Identity()), nn.NLLLoss()


def cls_dim0(n_inputs, n_classes, n_hidden=20):
    return DeepNetSoftmax(n_inputs, n_hidden, n_classes, last=nn.LogSoftmax(dim=0)), nn.NLLLoss()


def cls_no_relu(n_inputs, n_classes, n_hidden=20):
    return DeepNetSoftmax(n_inputs, n_hidden, n_classes, relu=False), nn.NLLLoss()


def cls_cross_entropy(n_inputs, n_classes, n_hidden=20):
    return DeepNetSoftmax(n_inputs, n_hidden, n_classes), nn.CrossEntropyLoss()


def cls_summed(n_inputs, n_classes, n_hidden=20):
    return DeepNetSoftmax(n_inputs, n_hidden, n_classes), nn.NLLLoss(reduction="sum")


def cls_mse(n_inputs, n_classes, n_hidden=20):
    return DeepNetSoftmax(n_inputs, n_hidden, n_classes), nn.MSELoss()


def cls_net_only(n_inputs, n_classes, n_hidden=20):
    return DeepNetSoftmax(n_inputs, n_hidden, n_classes)


@pytest.mark.parametrize("fn", [cls_right, cls_sequential])
def test_classifier_passes_right_answers(fn):
    assert checks.classifier(fn)


@pytest.mark.parametrize(
    ("fn", "phrase"),
    [
        (cls_hidden_10, "hidden layer has 10 units"),
        (cls_ignores_n_hidden, "ignores n_hidden"),
        (cls_softmax, "outputs probabilities (a softmax)"),
        (cls_raw, "raw scores"),
        (cls_dim0, "over stimuli (dim 0)"),
        (cls_no_relu, "no ReLU"),
        (cls_cross_entropy, "own log-softmax"),
        (cls_summed, "sums over stimuli"),
        (cls_mse, "loss_fn(scores, classes) raised"),
        (cls_net_only, "(net, loss_fn)"),
    ],
)
def test_classifier_names_the_mistake(fn, phrase, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the check keeps the student's code's warnings out of the verdict
        result = checks.classifier(fn)
    assert not result and phrase in result.reason
    assert capsys.readouterr().out.startswith("✗ classifier: ")


# ---------------------------------------------------------------- regularized_loss


def reg_right(output, target, weights, L2_penalty=0.0, L1_penalty=0.0):  # noqa: N803 - the exercise's names
    loss = nn.NLLLoss()(output, target)
    return loss + L2_penalty * torch.square(weights).sum() + L1_penalty * torch.abs(weights).sum()


def reg_right_functional(output, target, weights, L2_penalty=0.0, L1_penalty=0.0):  # noqa: N803
    return (
        torch.nn.functional.nll_loss(output, target)
        + L1_penalty * weights.abs().sum()
        + L2_penalty * weights.pow(2).sum()
    )


def make_reg(l2=None, l1=None, data=None, result=None):
    def regularized_loss(output, target, weights, L2_penalty=0.0, L1_penalty=0.0):  # noqa: N803
        loss = (data or nn.NLLLoss())(output, target)
        loss = loss + (l2(weights, output) if l2 else L2_penalty * torch.square(weights).sum()) * (
            L2_penalty if l2 else 1
        )
        loss = loss + (l1(weights, output) if l1 else L1_penalty * torch.abs(weights).sum()) * (
            L1_penalty if l1 else 1
        )
        return result(loss) if result else loss

    return regularized_loss


def reg_swapped(output, target, weights, L2_penalty=0.0, L1_penalty=0.0):  # noqa: N803
    loss = nn.NLLLoss()(output, target)
    return loss + L1_penalty * torch.square(weights).sum() + L2_penalty * torch.abs(weights).sum()


def reg_in_place(output, target, weights, L2_penalty=0.0, L1_penalty=0.0):  # noqa: N803
    loss = reg_right(output, target, weights, L2_penalty, L1_penalty)
    with torch.no_grad():
        weights.mul_(0.5)
    return loss


@pytest.mark.parametrize("fn", [reg_right, reg_right_functional])
def test_regularized_loss_passes_right_answers(fn):
    assert checks.regularized_loss(fn)


@pytest.mark.parametrize(
    ("fn", "phrase"),
    [
        (make_reg(l2=lambda w, o: 0 * w.sum()), "ignores its L2 penalty"),
        (make_reg(l1=lambda w, o: 0 * w.sum()), "ignores its L1 penalty"),
        (make_reg(l1=lambda w, o: (w**2).sum()), "L1 term squares the weights"),
        (make_reg(l2=lambda w, o: w.abs().sum()), "L2 term sums absolute values"),
        (make_reg(l2=lambda w, o: w.norm()), "norm of the weights"),
        (make_reg(l2=lambda w, o: (w**2).mean()), "averages the squared weights"),
        (make_reg(l2=lambda w, o: (o**2).sum()), "on the network's output"),
        (make_reg(l1=lambda w, o: o.abs().sum()), "on the network's output"),
        (make_reg(data=nn.CrossEntropyLoss()), "own log-softmax"),
        (make_reg(data=nn.NLLLoss(reduction="sum")), "sums over stimuli"),
        (make_reg(result=lambda loss: loss.item()), "plain number"),
        (make_reg(result=lambda loss: loss.detach()), "does not carry gradients"),
        (reg_swapped, "swapped"),
        (reg_in_place, "in place"),
    ],
)
def test_regularized_loss_names_the_mistake(fn, phrase):
    result = checks.regularized_loss(fn)
    assert not result and phrase in result.reason


# ---------------------------------------------------------------- conv_fc_encoder


class ConvFCRight(nn.Module):
    def __init__(self, n_neurons, c_in=1, c_out=6, K=7, image_shape=(12, 16), filters=None):  # noqa: N803
        super().__init__()
        height, width = image_shape
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=K, padding=K // 2)
        self.out_layer = self.make_out_layer(c_out * height * width, n_neurons)
        if filters is not None:
            self.conv.weight = nn.Parameter(torch.as_tensor(filters, dtype=torch.float32).clone())
            self.conv.bias = nn.Parameter(torch.zeros(c_out))

    def make_out_layer(self, n_units, n_neurons):
        return nn.Linear(n_units, n_neurons)

    def forward(self, s):
        return self.out_layer(self.conv(s).flatten(start_dim=1))


class ConvFCView(ConvFCRight):
    def forward(self, s):
        a = self.conv(s)
        return self.out_layer(a.view(-1, int(np.prod(a.shape[1:]))))


class ConvFCNoOutLayer(ConvFCRight):
    def __init__(self, n_neurons, **kwargs):
        super().__init__(n_neurons, **kwargs)
        del self.out_layer


class ConvFCWrongSize(ConvFCRight):
    def make_out_layer(self, n_units, n_neurons):
        return nn.Linear(12 * 16, n_neurons)


class ConvFCSwapped(ConvFCRight):
    def make_out_layer(self, n_units, n_neurons):
        return nn.Linear(n_neurons, n_units)


class ConvFCNotLinear(ConvFCRight):
    def make_out_layer(self, n_units, n_neurons):
        return nn.Conv1d(n_units, n_neurons, 1)


class ConvFCHardCoded(ConvFCRight):
    def make_out_layer(self, n_units, n_neurons):
        return nn.Linear(6 * 12 * 16, n_neurons)


class ConvFCFlattenAll(ConvFCRight):
    def forward(self, s):
        return self.out_layer(self.conv(s).flatten())


class ConvFCFlattenBatch(ConvFCRight):
    def forward(self, s):
        return self.out_layer(self.conv(s).reshape(-1, 1152)).reshape(1, -1)


class ConvFCReLU(ConvFCRight):
    def forward(self, s):
        return self.out_layer(torch.relu(self.conv(s)).flatten(1))


class ConvFCChannelsLast(ConvFCRight):
    def forward(self, s):
        return self.out_layer(self.conv(s).permute(0, 2, 3, 1).flatten(1))


class ConvFCNoFilters(ConvFCRight):
    def __init__(self, n_neurons, c_in=1, c_out=6, K=7, image_shape=(12, 16), filters=None):  # noqa: N803
        super().__init__(n_neurons, c_in, c_out, K, image_shape, None)


class ConvFCStub(ConvFCRight):
    def make_out_layer(self, n_units, n_neurons):
        raise NotImplementedError("Exercise 'conv_fc_encoder': create self.out_layer")


class ConvFCForwardStub(ConvFCRight):
    def forward(self, s):
        raise NotImplementedError("Exercise 'conv_fc_encoder': flatten and map")


@pytest.mark.parametrize("cls", [ConvFCRight, ConvFCView])
def test_conv_fc_encoder_passes_right_answers(cls):
    assert checks.conv_fc_encoder(cls)


@pytest.mark.parametrize(
    ("cls", "phrase"),
    [
        (ConvFCNoOutLayer, "no `out_layer`"),
        (ConvFCWrongSize, "maps 192 inputs to 11 outputs"),
        (ConvFCSwapped, "wrong way round"),
        (ConvFCNotLinear, "fully connected"),
        (ConvFCHardCoded, "does not follow c_out"),
        (ConvFCFlattenAll, "flatten each stimulus"),
        (ConvFCFlattenBatch, "flatten each stimulus"),
        (ConvFCReLU, "ReLU"),
        (ConvFCChannelsLast, "channels-last"),
        (ConvFCNoFilters, "filters"),
        (pref_right, "should be a class"),
    ],
)
def test_conv_fc_encoder_names_the_mistake(cls, phrase):
    result = checks.conv_fc_encoder(cls)
    assert not result and phrase in result.reason


# ---------------------------------------------------------------- not done, robustness, state


@pytest.mark.parametrize(
    ("check", "undone"),
    [
        (checks.preferred_orientation, stub),
        (checks.classifier, stub),
        (checks.regularized_loss, stub),
        (checks.conv_fc_encoder, ConvFCStub),
        (checks.conv_fc_encoder, ConvFCForwardStub),
        (checks.preferred_orientation, not_done("preferred_orientation", "preferred_orientation")),
        (checks.conv_fc_encoder, not_done("conv_fc_encoder", "ConvFC")),
    ],
    ids=["function", "factory", "loss", "class-init", "class-forward", "placeholder", "class-placeholder"],
)
def test_an_undone_exercise_is_reported_kindly(check, undone, capsys):
    result = check(undone)
    assert not result and result.not_done
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1 and "Traceback" not in printed
    assert "not done yet: complete the exercise above, then run this cell again" in printed


def test_a_check_never_raises_whatever_the_answer_does():
    def exits(*args, **kwargs):
        raise SystemExit(3)

    class Weird:
        def __init__(self, *args, **kwargs):
            raise KeyError("boom")

    every = (checks.preferred_orientation, checks.classifier, checks.regularized_loss, checks.conv_fc_encoder)
    for check in every:
        for answer in (exits, Weird, None, 42, lambda *a, **k: None):
            result = check(answer)
            assert isinstance(result, checks.CheckResult) and not result.passed and result.reason


def test_a_result_is_truthy_only_when_passed_and_shows_once_in_a_notebook():
    assert checks.CheckResult(True, "✓ x looks right") and not checks.CheckResult(False, "✗ x: wrong")
    assert str(checks.CheckResult(False, "✗ x: wrong")) == "✗ x: wrong"
    assert checks.CheckResult(True, "m")._ipython_display_() is None  # the printed line is all a cell shows


def test_checks_leave_the_notebooks_random_streams_alone():
    torch.manual_seed(5)
    np.random.seed(5)
    expected = torch.rand(3), np.random.rand(3)
    torch.manual_seed(5)
    np.random.seed(5)
    checks.classifier(cls_right)
    checks.conv_fc_encoder(ConvFCRight)
    assert torch.equal(torch.rand(3), expected[0]) and np.array_equal(np.random.rand(3), expected[1])


def test_the_checks_are_named_after_the_exercises_of_docs_notebooks_md():
    from pathlib import Path

    table = (Path(__file__).resolve().parents[1] / "docs" / "notebooks.md").read_text(encoding="utf-8")
    for exercise in exercises.EXERCISES:
        assert f"| `{exercise.name}` |" in table and callable(getattr(checks, exercise.name))
        assert f"{exercise.object_name}(" in table


def test_each_exercise_of_the_registry_has_a_documented_check_made_from_its_module():
    import importlib
    import inspect

    assert set(exercises.names()) <= set(checks.__all__)
    for exercise in exercises.EXERCISES:
        wrapper = getattr(checks, exercise.name)
        module = importlib.import_module(f"helpers.checks.{exercise.check_module}")
        assert inspect.isfunction(wrapper) and wrapper.__name__ == exercise.name
        assert inspect.getdoc(module) in wrapper.__doc__
        assert list(inspect.signature(wrapper).parameters) == [exercise.object_name]
        assert {"make_inputs", "observe", "judge"} <= set(module.__all__)


# ---------------------------------------------------------------- the grader's route: plain files


def run_in_kernel_route(folder, name, namespace):
    """What the grading kernel does for exercise ``name``: the driver, run in ``namespace`` as globals."""
    (folder / "out").mkdir(parents=True, exist_ok=True)
    exec(transport.driver_code(exercises.get(name), folder), namespace)


@pytest.mark.parametrize(
    ("name", "right", "wrong", "phrase", "undone"),
    [
        ("preferred_orientation", pref_right, pref_unsmoothed, "does not smooth", stub),
        ("classifier", cls_right, cls_softmax, "softmax", stub),
        ("regularized_loss", reg_right, reg_swapped, "swapped", stub),
        ("conv_fc_encoder", ConvFCRight, ConvFCSwapped, "wrong way round", ConvFCForwardStub),
    ],
)
def test_the_kernel_side_and_the_judge_talk_through_plain_files(tmp_path, name, right, wrong, phrase, undone):
    object_name = exercises.get(name).object_name
    inputs = checks.make_inputs(name, np.random.default_rng(12345))
    for answer, expected in ((right, None), (wrong, phrase), (undone, "not done yet")):
        folder = tmp_path / f"{name}-{getattr(answer, '__name__', 'x')}"
        transport.save_plain(folder / "in", inputs)
        run_in_kernel_route(folder, name, {object_name: answer})
        assert not list((folder / "out").glob("*.pkl"))
        result = judge_outputs(name, inputs, folder, "out")
        assert result.passed == (expected is None)
        if expected:
            assert expected in result.reason
    run_in_kernel_route(folder, name, {})
    assert "is not defined" in judge_outputs(name, inputs, folder, "out").reason


def test_the_kernel_side_loads_the_check_code_from_its_files(tmp_path, monkeypatch):
    """A notebook that patches the imported checks (or plants a module under their names) changes nothing."""
    import sys
    import types

    from helpers.checks import common

    monkeypatch.setattr(common, "observe_exercise", lambda *args, **kwargs: ("ok", "", {"values": 1}))
    monkeypatch.setitem(sys.modules, "helpers.checks.regularized_loss", types.ModuleType("fake"))
    inputs = checks.make_inputs("regularized_loss", np.random.default_rng(4))
    transport.save_plain(tmp_path / "in", inputs)
    run_in_kernel_route(tmp_path, "regularized_loss", {"regularized_loss": reg_swapped})
    assert "swapped" in judge_outputs("regularized_loss", inputs, tmp_path, "out").reason
    assert not [key for key in sys.modules if key.startswith("_nma_grade_")]


def test_the_judge_uses_its_own_inputs_not_the_files(tmp_path):
    """Outputs computed on other inputs (e.g. a submission that rewrote the input files) fail."""
    inputs = checks.make_inputs("preferred_orientation", np.random.default_rng(1))
    other_inputs = checks.make_inputs("preferred_orientation", np.random.default_rng(2))
    transport.save_plain(tmp_path / "in", other_inputs)
    run_in_kernel_route(tmp_path, "preferred_orientation", {"preferred_orientation": pref_right})
    assert not judge_outputs("preferred_orientation", inputs, tmp_path, "out")


def test_the_judge_survives_missing_forged_or_pickled_outputs(tmp_path):
    inputs = checks.make_inputs("classifier", np.random.default_rng(3))
    assert "did not finish" in judge_outputs("classifier", inputs, tmp_path, ".").reason
    (tmp_path / "status.json").write_text(json.dumps({"status": "ok", "message": ""}))
    np.save(tmp_path / "forward.npy", np.array([object()], dtype=object), allow_pickle=True)
    result = judge_outputs("classifier", inputs, tmp_path, ".")
    assert not result.passed and "could not be read" in result.reason
    (tmp_path / "forward.npy").unlink()
    (tmp_path / "facts.json").write_text(json.dumps({"is_module": True, "n_linear": "many"}))
    result = judge_outputs("classifier", inputs, tmp_path, ".")
    assert not result.passed and result.reason
