"""Exercise ``make_classifier(n_inputs, n_classes, n_hidden=20) -> (net, loss_fn)``.

``net`` is a ``DeepNetSoftmax``: an input layer of ``n_hidden`` ReLUs (``nn.Linear(n_inputs,
n_hidden)``), an output layer (``nn.Linear(n_hidden, n_classes)``) and a log-softmax over classes, so
it maps responses (n_stimuli, n_inputs) to log-probabilities (n_stimuli, n_classes); ``loss_fn`` is
the negative log likelihood, ``nn.NLLLoss()``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .common import StudentError, as_array, as_scalar, as_shape, call, load_parameter, mistaken_output

__all__ = ["make_inputs", "observe", "judge", "OUTPUT_MISTAKES", "LOSS_MISTAKES"]

_INPUTS, _CLASSES, _HIDDEN, _HIDDEN_OTHER, _STIMULI = 13, 6, 20, 7, 9


def make_inputs(rng: np.random.Generator) -> dict:
    """Sizes, responses to classify, layer weights to load into the net, and scores for the loss."""

    def normal(scale, *shape):
        return rng.normal(0, scale, shape).astype(np.float32)

    return {
        "n_inputs": _INPUTS,
        "n_classes": _CLASSES,
        "n_hidden_other": _HIDDEN_OTHER,
        "responses": normal(1.5, _STIMULI, _INPUTS),
        "in_weight": normal(0.4, _HIDDEN, _INPUTS),
        "in_bias": normal(0.3, _HIDDEN),
        "out_weight": normal(0.5, _CLASSES, _HIDDEN),
        "out_bias": normal(0.3, _CLASSES),
        "scores": normal(2.0, 10, _CLASSES),
        "classes": rng.integers(0, _CLASSES, 10).astype(np.int64),
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
    """``made`` if it is a (net, loss_fn) pair, else a StudentError saying what it is."""
    if not isinstance(made, (tuple, list)) or len(made) != 2:
        raise StudentError(
            f"{what} returned {type(made).__name__}; it should return two things: (net, loss_fn)"
        )
    return made


def observe(make_classifier, inputs: dict) -> dict:
    """The net's layer shapes, its output with the check's weights loaded, and the loss on given scores."""
    n_in, n_classes = int(inputs["n_inputs"]), int(inputs["n_classes"])
    what = f"make_classifier({n_in}, {n_classes})"
    net, loss_fn = _pair(call(what, make_classifier, n_in, n_classes), what)
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
        and observed["in_shape"] == [_HIDDEN, n_in]
        and observed["out_shape"] == [n_classes, _HIDDEN]
    ):
        load_parameter(first.weight, inputs["in_weight"])
        load_parameter(last.weight, inputs["out_weight"])
        if first.bias is not None:
            load_parameter(first.bias, inputs["in_bias"])
        if last.bias is not None:
            load_parameter(last.bias, inputs["out_bias"])
        net.eval()
        with torch.no_grad():
            responses = torch.from_numpy(inputs["responses"].copy()).to(first.weight.device)
            output = call("net(responses)", net, responses)
        observed["forward"] = as_array(output, "net(responses)")
    other = int(inputs["n_hidden_other"])
    what_other = f"make_classifier({n_in}, {n_classes}, n_hidden={other})"
    net_other, _ = _pair(call(what_other, make_classifier, n_in, n_classes, n_hidden=other), what_other)
    if isinstance(net_other, nn.Module) and _linear_layers(net_other)[0] is not None:
        observed["in_shape_other"] = list(_linear_layers(net_other)[0].weight.shape)
    if not callable(loss_fn):
        raise StudentError(
            f"{what} returned a loss_fn that is a {type(loss_fn).__name__}, not a loss function"
        )
    classes = torch.from_numpy(inputs["classes"].copy())
    with torch.no_grad():
        loss = call("loss_fn(scores, classes)", loss_fn, torch.from_numpy(inputs["scores"].copy()), classes)
    observed["loss"] = np.asarray(as_scalar(loss, "loss_fn(scores, classes)"))
    return observed


def _reference(inputs: dict, observed: dict, *, relu=True, normalise="log_softmax", dim=1) -> np.ndarray:
    """The float64 output (n_stimuli, n_classes) of the net as asked, or of one of its mistakes."""
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


#: Typical mistakes in the net's output: (what is wrong, the options of ``_reference`` that compute it).
OUTPUT_MISTAKES = (
    (
        "the network outputs probabilities (a softmax); NLLLoss needs log-probabilities (a log-softmax)",
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
)

#: Typical mistakes in the loss: (what is wrong, the loss such a loss_fn gives on (scores, classes)).
LOSS_MISTAKES = (
    (
        "loss_fn applies its own log-softmax (cross-entropy on raw scores); the network already outputs "
        "log-probabilities, so the loss should be the negative log likelihood (NLLLoss)",
        lambda scores, classes: F.cross_entropy(scores, classes).item(),
    ),
    (
        "loss_fn sums over stimuli; it should average (as NLLLoss does by default)",
        lambda scores, classes: F.nll_loss(scores, classes, reduction="sum").item(),
    ),
    (
        "loss_fn has the wrong sign: the loss is minus the mean log-probability of the true class",
        lambda scores, classes: -F.nll_loss(scores, classes).item(),
    ),
)


def judge(inputs: dict, observed: dict) -> str | None:
    """None when the layers, the output and the loss are as asked, else the first thing that is wrong."""
    return (
        _layers_problem(inputs, observed)
        or _output_problem(inputs, observed)
        or _loss_problem(inputs, observed)
    )


def _layers_problem(inputs: dict, observed: dict) -> str | None:
    n_in, n_classes = int(inputs["n_inputs"]), int(inputs["n_classes"])
    if not observed.get("is_module"):
        return (
            "make_classifier should return (net, loss_fn) with net a torch network (nn.Module), got a "
            f"{observed.get('net_type')}"
        )
    count = int(observed.get("n_linear", 0))
    if count < 2:
        return f"the network has {count} linear layer(s); it needs an input and an output layer (nn.Linear)"
    hidden, inputs_taken = as_shape(observed["in_shape"])
    if inputs_taken != n_in:
        return (
            f"the input layer takes {inputs_taken} inputs; it should take n_inputs = {n_in} (one per neuron)"
        )
    if hidden != _HIDDEN:
        return f"the hidden layer has {hidden} units; with the default n_hidden it should have {_HIDDEN}"
    out_shape = as_shape(observed["out_shape"])
    if out_shape != (n_classes, _HIDDEN):
        return (
            f"the output layer maps {out_shape[1]} inputs to {out_shape[0]} outputs; it should map the "
            f"{_HIDDEN} hidden units to n_classes = {n_classes} outputs"
        )
    other = int(inputs["n_hidden_other"])
    if "in_shape_other" in observed and as_shape(observed["in_shape_other"])[0] != other:
        return (
            f"ignores n_hidden: make_classifier({n_in}, {n_classes}, n_hidden={other}) still builds "
            f"{as_shape(observed['in_shape_other'])[0]} hidden units"
        )
    return None


def _output_problem(inputs: dict, observed: dict) -> str | None:
    got = np.asarray(observed.get("forward"))
    expected_shape = (len(inputs["responses"]), int(inputs["n_classes"]))
    if got.shape != expected_shape:
        return (
            f"the network's output has shape {got.shape}; expected (n_stimuli, n_classes) = {expected_shape}"
        )
    return mistaken_output(
        got,
        _reference(inputs, observed),
        ((reason, _reference(inputs, observed, **options)) for reason, options in OUTPUT_MISTAKES),
        "the network's outputs are not the log-probabilities of a hidden layer of ReLUs followed by an "
        "output layer and a log-softmax over classes",
    )


def _loss_problem(inputs: dict, observed: dict) -> str | None:
    scores = torch.from_numpy(np.asarray(inputs["scores"], dtype=np.float64))
    classes = torch.from_numpy(np.asarray(inputs["classes"], dtype=np.int64))
    loss = float(np.asarray(observed["loss"]))
    return mistaken_output(
        loss,
        F.nll_loss(scores, classes).item(),
        ((reason, mistaken_loss(scores, classes)) for reason, mistaken_loss in LOSS_MISTAKES),
        "loss_fn is not the negative log likelihood of the true classes (NLLLoss)",
    )
