"""Training loops, stimulus classes and device choice for the decoding and encoding networks.

Conventions:

* Data are torch tensors with one row per stimulus: ``train_data`` is (n_stimuli x features),
  labels/targets are (n_stimuli,) or (n_stimuli x outputs). Orientations are in **degrees**.
* Both loops run full-batch gradient descent (``torch.optim.SGD``, every iteration uses all rows).
* Losses are the numbers ``loss_fn`` returns (for the tutorial: mean squared error in squared
  response units, or negative log likelihood in nats per stimulus), plus penalties where stated.
* ``History.train_loss[i]`` and ``History.test_loss[i]`` are both evaluated at the parameters the
  network has at the start of iteration ``i`` (after ``i`` updates): update ``i`` follows the
  gradient of ``train_loss[i]``, and both curves describe the same network at each iteration.
  The network you get back has had ``n_iter`` updates, one more than the last entry.
* Progress: a tqdm bar over iterations, off with ``progress=False`` or with the environment
  variable ``NMA_DECODING_PROGRESS=0`` (the book build sets it). Checkpoint lines
  ``iteration i/n | train loss: x.xxx | test loss: y.yyy`` are printed every ``print_every``
  iterations, bar or not.
* ``NMA_DECODING_QUICK=N`` caps both loops at ``N`` iterations (only for tests that run whole notebooks).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers.settings import ENV_QUICK, progress_enabled

__all__ = ["History", "get_device", "stimulus_class", "train", "train_encoding_model"]

# --------------------------------------------------------------------------------------------
# Small public helpers
# --------------------------------------------------------------------------------------------


def get_device() -> torch.device:
    """The fastest device torch can use here: ``cuda`` if available, else ``mps``, else ``cpu``.

    Move a network and its data there with ``net.to(device)`` and ``tensor.to(device)``; both
    training loops require the network and all data tensors on the same device.
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def stimulus_class(orientations_deg, n_classes: int) -> torch.Tensor:
    """Orientation class of each stimulus, in equal bins: class ``k`` covers ``[k * b, (k + 1) * b)``.

    ``b = 360 / n_classes`` degrees is the bin width.

    Args:
        orientations_deg: orientations in **degrees**, shape (n,) or (n, 1); a torch tensor, numpy
            array or sequence. Every value must lie in [0, 360); wrap other angles first with
            ``orientations_deg % 360``.
        n_classes: number of equal-width classes (bins of ``360 / n_classes`` degrees), >= 1.

    Returns:
        ``torch.long`` tensor of shape (n,) with values in ``0 .. n_classes - 1``, on the device of
        ``orientations_deg`` if that is a tensor (else on the CPU). For example, with 20 classes of
        18 degrees: 0 -> 0, 17.9 -> 0, 18 -> 1, 359.9 -> 19.

    Raises:
        ValueError: for a wrong shape, NaN, values outside [0, 360), or a bad ``n_classes``.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, Integral) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive whole number (e.g. 20), got {n_classes!r}.")
    n_classes = int(n_classes)
    device = orientations_deg.device if isinstance(orientations_deg, torch.Tensor) else torch.device("cpu")
    if isinstance(orientations_deg, torch.Tensor):
        values = orientations_deg.detach().cpu().to(torch.float64).numpy()
    else:
        try:
            values = np.asarray(orientations_deg, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"orientations_deg must be numbers (degrees), got {type(orientations_deg).__name__}."
            ) from error
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(
            f"orientations_deg must have shape (n,) or (n, 1), got {tuple(values.shape)}. "
            "Pass one orientation per stimulus, e.g. the stimuli column returned by load_data."
        )
    if np.isnan(values).any():
        raise ValueError("orientations_deg contains NaN; every stimulus needs an orientation in degrees.")
    outside = (values < 0) | (values >= 360)
    if outside.any():
        bad = values[outside]
        raise ValueError(
            f"orientations_deg must lie in [0, 360) degrees; {bad.size} value(s) do not "
            f"(e.g. {bad[0]:g}). Wrap them first with `orientations_deg % 360` "
            "(or convert from radians with `np.degrees` if they are in radians)."
        )
    # Left edges k * 360 / n_classes, each correctly rounded; a value equal to an edge belongs to the
    # class on its right, as with np.digitize in the original tutorial.
    edges = np.arange(n_classes, dtype=np.float64) * 360.0 / n_classes
    classes = np.searchsorted(edges, values, side="right") - 1
    return torch.as_tensor(classes, dtype=torch.long, device=device)


@dataclass
class History:
    """Losses recorded by a training loop, one entry per iteration.

    Attributes:
        train_loss: float64 array of shape (n_iter,): the objective on the training data at
            iteration ``i`` (before update ``i``), in the units of the loss function.
        test_loss: float64 array of shape (n_iter,) with the same objective on the test data, at
            the same parameters as ``train_loss[i]``; ``None`` if no test data were given.
    """

    train_loss: np.ndarray
    test_loss: np.ndarray | None = None


# --------------------------------------------------------------------------------------------
# Argument checks shared by both loops
# --------------------------------------------------------------------------------------------


def _check_n_iter(n_iter) -> int:
    if isinstance(n_iter, bool) or not isinstance(n_iter, Integral) or n_iter < 1:
        raise ValueError(f"n_iter must be a whole number >= 1 (e.g. 200), got {n_iter!r}.")
    return int(n_iter)


def _check_rate(value, name: str, *, upper: float | None = None, allow_zero: bool = False) -> float:
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0) and (upper is None or value < upper)
    if not ok:
        lower = ">= 0" if allow_zero else "> 0"
        limit = f" and < {upper:g}" if upper is not None else ""
        raise ValueError(f"{name} must be a finite number {lower}{limit}, got {value!r}.")
    return float(value)


def _check_print_every(print_every, n_iter: int) -> int:
    """Iterations between checkpoint lines; the default is ``max(1, n_iter // 5)``; 0 prints none."""
    if print_every is None:
        return max(1, n_iter // 5)
    if isinstance(print_every, bool) or not isinstance(print_every, Integral) or print_every < 0:
        raise ValueError(
            f"print_every must be a whole number >= 0 (0 prints no lines) or None, got {print_every!r}."
        )
    return int(print_every)


def _trainable_parameters(net) -> list[torch.nn.Parameter]:
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module (a network), got {type(net).__name__}.")
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ValueError(
            "net has no parameters that require gradients, so there is nothing to train. "
            "Check that its layers are created in __init__ (as attributes) and not frozen."
        )
    return params


def _check_tensor(value, name: str, reference: torch.Tensor) -> torch.Tensor:
    """``value`` must be a tensor on the device of ``reference`` (and of its dtype if floating)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch tensor, got {type(value).__name__}. "
            f"Convert it with torch.as_tensor({name}, dtype=torch.float32)."
        )
    if value.device != reference.device:
        raise ValueError(
            f"{name} is on {value.device} but the network's parameters are on {reference.device}. "
            f"Move both to one device, e.g. net.to(device) and {name}.to(device)."
        )
    if value.is_floating_point() and value.dtype != reference.dtype:
        raise ValueError(
            f"{name} has dtype {value.dtype} but the network's parameters are {reference.dtype}. "
            f"Convert it with {name}.to({reference.dtype})."
        )
    if value.ndim == 0:
        raise ValueError(f"{name} must have one row per stimulus, got a 0-d tensor.")
    return value


def _check_rows(first: torch.Tensor, first_name: str, second: torch.Tensor, second_name: str) -> None:
    if first.shape[0] != second.shape[0]:
        raise ValueError(
            f"{first_name} has {first.shape[0]} rows but {second_name} has {second.shape[0]}: "
            "they must have one row per stimulus, in the same order."
        )


class _Reporter:
    """Progress bar and checkpoint lines for one training run."""

    def __init__(self, n_iter: int, progress, print_every, desc: str):
        self.n_iter = n_iter
        self.print_every = _check_print_every(print_every, n_iter)
        self.bar = None
        if progress_enabled() if progress is None else progress:
            # Imported only when wanted: in a notebook without ipywidgets the import itself warns.
            from tqdm.auto import tqdm

            self.bar = tqdm(total=n_iter, desc=desc, unit="iter")

    def update(self, i: int, train_loss: float, test_loss: float | None) -> None:
        """Report iteration ``i`` (0-based) with its losses."""
        if self.bar is not None:
            postfix = {"train loss": f"{train_loss:.3f}"}
            if test_loss is not None:
                postfix["test loss"] = f"{test_loss:.3f}"
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)
        if self.print_every and (i + 1) % self.print_every == 0:
            line = f"iteration {i + 1}/{self.n_iter} | train loss: {train_loss:.3f}"
            if test_loss is not None:
                line += f" | test loss: {test_loss:.3f}"
            if self.bar is not None:
                self.bar.write(line)
            else:
                print(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> _Reporter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _check_finite_loss(value: float, i: int, learning_rate: float) -> None:
    if not math.isfinite(value):
        raise FloatingPointError(
            f"Training diverged: the training loss is {value} at iteration {i + 1}. "
            f"Lower learning_rate (now {learning_rate:g}), e.g. by a factor of 10, re-create the "
            "network (its weights are now unusable) and train again."
        )


def _scalar_loss(loss, what: str, *, needs_grad: bool = False) -> torch.Tensor:
    """What ``loss_fn`` returned for ``what`` (the training or test data), as a 0-d tensor."""
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(
            f"loss_fn must return a single number (a 0-d tensor) for {what}, got {shape}. "
            "Average or sum over stimuli inside loss_fn (built-in losses do with reduction='mean')."
        )
    if needs_grad and not loss.requires_grad:
        raise ValueError(
            "The loss does not depend on the network's parameters, so it has no gradient. "
            "Compute it with torch operations on net's output (no .item(), .detach() or numpy "
            "inside loss_fn), and do not call train inside torch.no_grad()."
        )
    return loss.reshape(())


# --------------------------------------------------------------------------------------------
# Generic loop (decoders)
# --------------------------------------------------------------------------------------------


def _check_loss_fn(loss_fn) -> None:
    if isinstance(loss_fn, type) or not callable(loss_fn):
        got = f"the class {loss_fn.__name__}" if isinstance(loss_fn, type) else type(loss_fn).__name__
        raise TypeError(
            f"loss_fn must be callable as loss_fn(output, target), got {got}. "
            "Pass an instance, e.g. nn.MSELoss() (note the brackets)."
        )


def _check_train_data(reference, train_data, train_labels, test_data, test_labels) -> bool:
    """Check the data of ``train`` against a parameter of the network; True if test data are given."""
    _check_tensor(train_data, "train_data", reference)
    _check_tensor(train_labels, "train_labels", reference)
    _check_rows(train_data, "train_data", train_labels, "train_labels")
    if (test_data is None) != (test_labels is None):
        missing = "test_labels" if test_labels is None else "test_data"
        raise ValueError(f"Give both test_data and test_labels, or neither: {missing} is missing.")
    if test_data is None:
        return False
    _check_tensor(test_data, "test_data", reference)
    _check_tensor(test_labels, "test_labels", reference)
    _check_rows(test_data, "test_data", test_labels, "test_labels")
    return True


def train(
    net: nn.Module,
    loss_fn,
    train_data: torch.Tensor,
    train_labels: torch.Tensor,
    *,
    n_iter: int,
    learning_rate: float,
    momentum: float = 0.0,
    test_data: torch.Tensor | None = None,
    test_labels: torch.Tensor | None = None,
    progress: bool | None = None,
    print_every: int | None = None,
) -> History:
    """Train ``net`` by full-batch gradient descent (``torch.optim.SGD``) on all its trainable parameters.

    Each iteration: ``loss = loss_fn(net(train_data), train_labels)``, backward pass, the test loss
    ``loss_fn(net(test_data), test_labels)`` under ``torch.no_grad()`` (same parameters), then one
    SGD step. A penalised loss is a closure, e.g.
    ``functools.partial(regularized_loss, weights=net.in_layer.weight, L2_penalty=1e-2)``; it is then
    used with the same penalty for the test loss.

    Args:
        net: the network; modified in place. Its mode (``train``/``eval``) is left as it is.
        loss_fn: ``loss_fn(output, target) -> 0-d tensor``, e.g. ``nn.MSELoss()`` or ``nn.NLLLoss()``.
        train_data: (n_train x n_inputs) tensor, e.g. neural responses.
        train_labels: (n_train,) or (n_train x n_outputs) targets, e.g. orientations in degrees
            (n_train x 1) or class indices from ``stimulus_class`` (long, (n_train,)).
        n_iter: number of gradient steps (>= 1).
        learning_rate: SGD step size (> 0).
        momentum: SGD momentum in [0, 1); 0 is plain gradient descent.
        test_data, test_labels: optional held-out data of the same kinds (give both or neither).
        progress: show a tqdm bar with the current losses; ``None`` follows ``NMA_DECODING_PROGRESS``
            (on unless it is ``0``).
        print_every: print ``iteration i/n | train loss: x.xxx | test loss: y.yyy`` at every
            iteration ``i`` (1-based) divisible by it; ``None`` means ``max(1, n_iter // 5)`` (five
            checkpoints, as in the original tutorial), ``0`` prints nothing.

    Returns:
        History with ``train_loss`` and ``test_loss`` (``None`` without test data), arrays of shape
        (n_iter,), both evaluated before each update.

    Raises:
        ValueError / TypeError: bad arguments, with the fix in the message.
        FloatingPointError: the loss became NaN or infinite (learning rate too large).
    """
    n_iter = min(_check_n_iter(n_iter), int(os.environ.get(ENV_QUICK) or n_iter))  # tests only
    learning_rate = _check_rate(learning_rate, "learning_rate")
    momentum = _check_rate(momentum, "momentum", upper=1.0, allow_zero=True)
    _check_loss_fn(loss_fn)
    params = _trainable_parameters(net)
    has_test = _check_train_data(params[0], train_data, train_labels, test_data, test_labels)

    optimizer = torch.optim.SGD(params, lr=learning_rate, momentum=momentum)
    train_loss = np.empty(n_iter)
    test_loss = np.empty(n_iter) if has_test else None
    with _Reporter(n_iter, progress, print_every, desc="training") as reporter:
        for i in range(n_iter):
            output = net(train_data)
            loss = _scalar_loss(loss_fn(output, train_labels), "the training data", needs_grad=True)
            optimizer.zero_grad()
            loss.backward()
            train_loss[i] = loss.item()
            _check_finite_loss(train_loss[i], i, learning_rate)
            if has_test:
                with torch.no_grad():
                    test = _scalar_loss(loss_fn(net(test_data), test_labels), "the test data")
                test_loss[i] = test.item()
            optimizer.step()
            reporter.update(i, train_loss[i], test_loss[i] if has_test else None)
    return History(train_loss=train_loss, test_loss=test_loss)


# --------------------------------------------------------------------------------------------
# Encoding model loop
# --------------------------------------------------------------------------------------------


def _row_norms_sq_sum(weight: torch.Tensor) -> float:
    """sum(W**2) without a weight-sized temporary, accurate to ~1e-9 relative.

    A single float32 ``vector_norm`` over all 27 million weights is off by ~0.3 % (and ~1 % for
    the L1 norm); per-row norms (1152 terms each) summed in float64 are not.
    """
    return torch.linalg.vector_norm(weight, dim=1).to(torch.float64).square().sum().item()


def _row_abs_sum(weight: torch.Tensor) -> float:
    """sum(|W|) without a weight-sized temporary (see ``_row_norms_sq_sum``)."""
    return torch.linalg.vector_norm(weight, ord=1, dim=1).sum(dtype=torch.float64).item()


class _OutLayerStep:
    """The SGD-with-momentum step of ``W = out_layer.weight`` on the penalised MSE, without autograd.

    Why: ``W`` is (n_neurons x n_hidden), 23589 x 1152 floats = 109 MB in the tutorial, and autograd
    with ``torch.optim.SGD`` spends most of its time creating and freeing temporaries of that size.
    Here autograd stops at out_layer's output; ``step`` builds d loss / d W in two preallocated
    buffers and updates ``W`` in place, and ``penalty`` uses reductions without such temporaries.

    Bit-for-bit: ``step`` adds the gradient terms in the order autograd adds them when the penalties
    are in the loss (``L1 * sign(W)``, then ``+ 2 * L2 * W``, then ``+ d MSE / d W``) and updates the
    momentum buffer as SGD does, so ``W`` ends exactly where the plain loop puts it. Float32 addition
    is not associative, and with L1 a last-bit difference can flip ``sign(W)`` later and grow.

    A context manager: inside it ``W.requires_grad`` is off and a forward hook on ``out_layer``
    records its input and the gradient arriving at its output; both are undone on exit, also on
    error or interrupt. Per iteration: forward pass, ``backward`` of the MSE, ``penalty()``, ``step()``.
    """

    def __init__(self, out_layer: nn.Linear, learning_rate, momentum, L2_penalty, L1_penalty):
        self.out_layer, self.weight = out_layer, out_layer.weight
        self.learning_rate, self.momentum = learning_rate, momentum
        self.L2_penalty, self.L1_penalty = L2_penalty, L1_penalty
        self.gradient = torch.empty_like(self.weight, memory_format=torch.contiguous_format)
        self.term = torch.empty_like(self.gradient)  # one term of the gradient at a time
        self.momentum_buffer = torch.zeros_like(self.gradient)
        self.hidden = self.grad_output = self.hook = None

    def __enter__(self) -> _OutLayerStep:
        self.hook = self.out_layer.register_forward_hook(self._record_input)
        self.weight.requires_grad_(False)
        return self

    def __exit__(self, *exc_info) -> None:
        self.hook.remove()
        self.weight.requires_grad_(True)
        self.hidden = self.grad_output = None

    def _record_input(self, module, inputs, output):
        """Forward hook: d MSE / d W = grad_output.T @ input needs out_layer's input and output gradient."""
        if self.hidden is not None:
            raise RuntimeError(
                "net.out_layer is used more than once in net.forward; train_encoding_model needs it "
                "used exactly once (hidden units -> neurons)."
            )
        self.hidden = inputs[0].detach()
        if not output.requires_grad:  # nothing before out_layer is trained: track its output anyway
            output = output.detach().requires_grad_()
        output.register_hook(self._record_grad_output)
        return output

    def _record_grad_output(self, grad: torch.Tensor) -> None:
        self.grad_output = grad

    @torch.no_grad()
    def penalty(self) -> float:
        """``L2_penalty * sum(W**2) + L1_penalty * sum(|W|)`` at the current ``W``, summed in float64."""
        weight = self.weight
        return self.L2_penalty * _row_norms_sq_sum(weight) + self.L1_penalty * _row_abs_sum(weight)

    @torch.no_grad()
    def step(self) -> None:
        """d loss / d W from this iteration's forward and backward pass, then SGD's update of ``W``."""
        if self.grad_output is None:
            raise RuntimeError(
                "The output of net.out_layer does not reach net's output, so its weights get no "
                "gradient. net.forward must return a function of out_layer's output."
            )
        weight, gradient, term = self.weight, self.gradient, self.term
        if self.L1_penalty:
            torch.sign(weight, out=gradient)
            gradient.mul_(self.L1_penalty)
        else:
            gradient.zero_()
        if self.L2_penalty:
            torch.mul(weight, 2.0 * self.L2_penalty, out=term)
            gradient.add_(term)
        hidden = self.hidden.reshape(-1, weight.shape[1])
        grad_output = self.grad_output.reshape(-1, weight.shape[0])
        torch.mm(grad_output.t(), hidden, out=term)  # d MSE / d W, as Linear's backward computes it
        gradient.add_(term)
        # As torch.optim.SGD (dampening 0): buffer <- momentum * buffer, rounded, + gradient. The
        # buffer starts at zero, so the first step gives the gradient, as SGD's clone of it does.
        self.momentum_buffer.mul_(self.momentum).add_(gradient)
        weight.add_(self.momentum_buffer, alpha=-self.learning_rate)
        self.hidden = self.grad_output = None  # the next forward pass records afresh


def _check_encoding_inputs(net, stimuli, resp_train, resp_test) -> nn.Linear:
    """Check the arguments of ``train_encoding_model``; return ``net.out_layer``."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module (a network), got {type(net).__name__}.")
    out_layer = getattr(net, "out_layer", None)
    if not isinstance(out_layer, nn.Linear):
        found = "has none" if out_layer is None else f"has one of type {type(out_layer).__name__}"
        raise ValueError(
            f"net must have an attribute out_layer that is an nn.Linear (the layer from the hidden "
            f"units to the neurons, whose weights are penalised); this net {found}. Create it in "
            "__init__ as self.out_layer = nn.Linear(n_hidden, n_neurons)."
        )
    weight = out_layer.weight
    if not weight.requires_grad:
        raise ValueError(
            "net.out_layer.weight has requires_grad=False, so it would not be trained. "
            "Call net.out_layer.weight.requires_grad_(True) first."
        )
    _check_tensor(stimuli, "stimuli", weight)
    _check_tensor(resp_train, "resp_train", weight)
    _check_tensor(resp_test, "resp_test", weight)
    _check_rows(stimuli, "stimuli", resp_train, "resp_train")
    for name, resp in (("resp_train", resp_train), ("resp_test", resp_test)):
        if resp.ndim != 2 or resp.shape[1] != out_layer.out_features:
            raise ValueError(
                f"{name} must be (n_stimuli x n_neurons) with n_neurons = net.out_layer.out_features "
                f"= {out_layer.out_features}; got shape {tuple(resp.shape)}. Build out_layer with "
                f"nn.Linear(n_hidden, {name}.shape[1])."
            )
    if resp_test.shape != resp_train.shape:
        raise ValueError(
            f"resp_test has shape {tuple(resp_test.shape)} but resp_train has {tuple(resp_train.shape)}: "
            "both must be responses to the same stimuli (n_stimuli x n_neurons)."
        )
    return out_layer


def _check_prediction(prediction: torch.Tensor, resp_train: torch.Tensor) -> torch.Tensor:
    if prediction.shape != resp_train.shape:
        raise ValueError(
            f"net(stimuli) has shape {tuple(prediction.shape)} but resp_train has "
            f"{tuple(resp_train.shape)}; the network must return (n_stimuli x n_neurons)."
        )
    return prediction


def train_encoding_model(
    net: nn.Module,
    stimuli: torch.Tensor,
    resp_train: torch.Tensor,
    resp_test: torch.Tensor,
    *,
    n_iter: int = 200,
    learning_rate: float = 2.0,
    momentum: float = 0.9,
    L2_penalty: float = 5e-4,
    L1_penalty: float = 1e-6,
    progress: bool | None = None,
    print_every: int | None = None,
) -> History:
    """Fit an encoding model (stimuli -> the response of every neuron) by full-batch SGD with momentum.

    Each iteration passes all stimuli through ``net`` and takes one SGD step (``learning_rate``,
    ``momentum``) on every trainable parameter, down the objective of the original tutorial::

        MSE(net(stimuli), resp_train) + L2_penalty * sum(W**2) + L1_penalty * sum(|W|)

    ``MSE`` is the squared error averaged over stimuli and neurons, in squared response units;
    ``W = net.out_layer.weight`` (n_neurons x n_hidden) is the only thing penalised (not its bias,
    not the convolution). L2 pulls each weight towards zero in proportion to its size; L1 by the
    same amount whatever its size, which favours read-outs from few hidden units. The test loss is
    the same objective on ``resp_test`` (other trials of the same stimuli); both losses of iteration
    ``i`` are for the parameters before update ``i``. ``W`` takes its step in ``_OutLayerStep``:
    faster than autograd for a 23589 x 1152 ``W``, and bit-for-bit the same weights.

    Args:
        net: maps stimuli to responses (n_stimuli x n_neurons) through ``net.out_layer``, an
            ``nn.Linear(n_hidden, n_neurons)`` used once per forward pass (e.g. 6 * 12 * 16 -> 23589).
            Trained in place.
        stimuli: (n_stimuli x ...) inputs of ``net``, e.g. (60 x 1 x 12 x 16) grating images.
        resp_train: (n_stimuli x n_neurons) responses to fit, rows in the order of ``stimuli``.
        resp_test: (n_stimuli x n_neurons) held-out responses to the same stimuli.
        n_iter: number of gradient steps (>= 1).
        learning_rate, momentum: SGD step size (> 0) and momentum (in [0, 1)).
        L2_penalty, L1_penalty: factors (>= 0) of ``sum(W**2)`` and ``sum(|W|)`` (gradient ``sign(W)``).
        progress, print_every: progress bar and checkpoint lines, as for ``train``.

    Returns:
        History with ``train_loss`` and ``test_loss``, float arrays of shape (n_iter,).

    Raises:
        ValueError / TypeError: bad arguments or shapes, with the fix in the message.
        FloatingPointError: the loss became NaN or infinite (learning rate too large).
    """
    n_iter = min(_check_n_iter(n_iter), int(os.environ.get(ENV_QUICK) or n_iter))  # tests only
    learning_rate = _check_rate(learning_rate, "learning_rate")
    momentum = _check_rate(momentum, "momentum", upper=1.0, allow_zero=True)
    L2_penalty = _check_rate(L2_penalty, "L2_penalty", allow_zero=True)
    L1_penalty = _check_rate(L1_penalty, "L1_penalty", allow_zero=True)
    out_layer = _check_encoding_inputs(net, stimuli, resp_train, resp_test)
    # Autograd and torch.optim.SGD train everything except W, which _OutLayerStep does.
    others = [p for p in net.parameters() if p.requires_grad and p is not out_layer.weight]
    optimizer = torch.optim.SGD(others, lr=learning_rate, momentum=momentum) if others else None

    train_loss, test_loss = np.empty(n_iter), np.empty(n_iter)
    with (
        _Reporter(n_iter, progress, print_every, desc="training encoding model") as reporter,
        _OutLayerStep(out_layer, learning_rate, momentum, L2_penalty, L1_penalty) as out_layer_step,
    ):
        for i in range(n_iter):
            prediction = _check_prediction(net(stimuli), resp_train)
            mse = F.mse_loss(prediction, resp_train)
            if optimizer is not None:
                optimizer.zero_grad()
            mse.backward()
            penalty = out_layer_step.penalty()  # of the weights before this update
            train_loss[i] = mse.item() + penalty
            test_loss[i] = F.mse_loss(prediction.detach(), resp_test).item() + penalty
            _check_finite_loss(train_loss[i], i, learning_rate)
            out_layer_step.step()
            if optimizer is not None:
                optimizer.step()
            reporter.update(i, train_loss[i], test_loss[i])
    return History(train_loss=train_loss, test_loss=test_loss)
