"""Exercise ``class ConvFC(nn.Module)``: a convolutional layer followed by a fully connected one.

``ConvFC(n_neurons, c_in=1, c_out=6, K=7, image_shape=(12, 16), filters=None)`` has ``self.conv``
(``nn.Conv2d(c_in, c_out, K)``, padded to keep the image size; its weights are ``filters`` when
given) and ``self.out_layer`` (``nn.Linear(c_out * 12 * 16, n_neurons)``); ``forward(s)`` maps
stimuli (n, 1, 12, 16) to responses (n, n_neurons): conv, flatten each stimulus, out_layer.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .common import StudentError, as_array, as_shape, call, close, load_parameter, mistaken_output

__all__ = ["make_inputs", "observe", "judge", "FORWARD_MISTAKES"]

_NEURONS, _STIMULI, _SHAPE, _C_OUT, _K = 11, 5, (12, 16), 6, 7
_OTHER = {"c_out": 3, "K": 5}


def make_inputs(rng: np.random.Generator) -> dict:
    """Stimuli (5 x 1 x 12 x 16), the layer weights to load into the net, and filters to pass it."""

    def normal(scale, *shape):
        return rng.normal(0, scale, shape).astype(np.float32)

    flat = _C_OUT * _SHAPE[0] * _SHAPE[1]
    return {
        "n_neurons": _NEURONS,
        "stimuli": normal(1.0, _STIMULI, 1, *_SHAPE),
        "conv_weight": normal(0.2, _C_OUT, 1, _K, _K),
        "conv_bias": normal(0.1, _C_OUT),
        "out_weight": normal(0.05, _NEURONS, flat),
        "out_bias": normal(0.1, _NEURONS),
        "filters": normal(0.2, _C_OUT, 1, _K, _K),
    }


def _layer_facts(net, prefix: str, observed: dict) -> None:
    """Record the net's conv and out_layer shapes (JSON-able) in ``observed``, keys starting ``prefix``."""
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


def observe(ConvFC, inputs: dict) -> dict:  # noqa: N803 - the student's class keeps its name
    """Layer shapes for the default and other sizes, forward's output with the check's weights, filters."""
    if not isinstance(ConvFC, type):
        raise StudentError(f"ConvFC should be a class (an nn.Module), got a {type(ConvFC).__name__}")
    if not issubclass(ConvFC, nn.Module):
        raise StudentError("ConvFC should be a subclass of nn.Module")
    n = int(inputs["n_neurons"])
    net = call(f"ConvFC({n})", ConvFC, n)
    observed: dict = {}
    _layer_facts(net, "", observed)
    flat = _C_OUT * _SHAPE[0] * _SHAPE[1]
    if observed["conv"] == [_C_OUT, 1, _K, _K] and observed["out_shape"] == [n, flat]:
        load_parameter(net.conv.weight, inputs["conv_weight"])
        if net.conv.bias is not None:
            load_parameter(net.conv.bias, inputs["conv_bias"])
        load_parameter(net.out_layer.weight, inputs["out_weight"])
        observed["out_bias"] = net.out_layer.bias is not None
        if net.out_layer.bias is not None:
            load_parameter(net.out_layer.bias, inputs["out_bias"])
        observed["conv_bias"] = net.conv.bias is not None
        net.eval()
        stimuli = torch.from_numpy(inputs["stimuli"].copy()).to(net.conv.weight.device)  # a net put on a GPU
        try:
            with torch.no_grad():
                observed["forward"] = as_array(call("net(stimuli)", net, stimuli), "net(stimuli)")
                one = call("net(one_stimulus)", net, stimuli[:1].clone())
                observed["forward_one"] = as_array(one, "net(one_stimulus)")
        except StudentError as error:
            hint = ""
            if "shape" in str(error) or "size" in str(error):
                hint = (
                    f" (does forward flatten each stimulus's conv output into one row of {flat} values, "
                    "keeping one row per stimulus?)"
                )
            raise StudentError(f"{error}{hint}") from None
    what = f"ConvFC({n}, c_out={_OTHER['c_out']}, K={_OTHER['K']})"
    _layer_facts(call(what, ConvFC, n, **_OTHER), "other_", observed)
    filters = torch.from_numpy(inputs["filters"].copy())
    with_filters = call(f"ConvFC({n}, filters=filters)", ConvFC, n, filters=filters)
    conv = getattr(with_filters, "conv", None)
    if isinstance(conv, nn.Conv2d):
        observed["filtered_weight"] = as_array(conv.weight, "conv.weight")
    return observed


#: Typical mistakes in forward: (what is wrong, the options of ``_reference`` that compute it).
FORWARD_MISTAKES = (
    (
        "forward applies a ReLU after the convolution; conv output goes straight to out_layer",
        {"relu": True},
    ),
    (
        "forward flattens the conv output channels-last; flatten each stimulus as (channel, row, "
        "column), the layout out_layer's weights are read in",
        {"channels_last": True},
    ),
)


def _reference(inputs: dict, observed: dict, *, relu=False, channels_last=False) -> np.ndarray:
    """The float64 responses (n_stimuli, n_neurons) of the net as asked, or of one of its mistakes."""

    def tensor(key):
        return torch.from_numpy(np.asarray(inputs[key], dtype=np.float64))

    conv_bias = tensor("conv_bias") if observed.get("conv_bias", True) else None
    out_bias = tensor("out_bias") if observed.get("out_bias", True) else None
    a = F.conv2d(tensor("stimuli"), tensor("conv_weight"), conv_bias, padding=_K // 2)
    if relu:
        a = torch.relu(a)
    if channels_last:
        a = a.permute(0, 2, 3, 1)
    return F.linear(a.reshape(a.shape[0], -1), tensor("out_weight"), out_bias).numpy()


def judge(inputs: dict, observed: dict) -> str | None:
    """None when the layers, forward and the filters argument are as asked, else the first that is not."""
    n = int(inputs["n_neurons"])
    flat = _C_OUT * _SHAPE[0] * _SHAPE[1]
    if not observed.get("has_out_layer"):
        return "ConvFC(n_neurons) has no `out_layer`: define self.out_layer in __init__"
    if observed.get("out_shape") is None:
        return f"self.out_layer is a {observed.get('out_type')}; it should be a fully connected nn.Linear"
    if observed.get("conv") != [_C_OUT, 1, _K, _K]:
        return (
            f"self.conv has weight shape {observed.get('conv')}; with c_in=1, c_out=6, K=7 it should be "
            f"{[_C_OUT, 1, _K, _K]}"
        )
    out_shape = as_shape(observed["out_shape"])
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
    problem = mistaken_output(
        got,
        _reference(inputs, observed),
        ((reason, _reference(inputs, observed, **options)) for reason, options in FORWARD_MISTAKES),
        "forward's output is not out_layer applied to each stimulus's flattened conv output "
        "(conv -> flatten per stimulus -> out_layer)",
    )
    if problem:
        return problem
    if not close(one, got[:1]):
        return "forward gives a different response to a stimulus when it is passed on its own"
    other_flat = _OTHER["c_out"] * _SHAPE[0] * _SHAPE[1]
    other = observed.get("other_out_shape")
    if other is None or as_shape(other) != (n, other_flat):
        return (
            f"out_layer's size does not follow c_out: ConvFC({n}, c_out={_OTHER['c_out']}, "
            f"K={_OTHER['K']}) has out_layer weight shape {other}; it should take c_out x 12 x 16 = "
            f"{other_flat} values per stimulus"
        )
    if "filtered_weight" in observed and not close(observed["filtered_weight"], inputs["filters"]):
        return "ConvFC(n_neurons, filters=...) does not use the given filters as the conv weights"
    return None
