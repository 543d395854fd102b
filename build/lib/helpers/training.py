"""Training loops, stimulus classes and device choice for the decoding and encoding networks.

Conventions:

* Data are torch tensors with one row per stimulus: ``train_data`` is (n_stimuli x features),
  labels/targets are (n_stimuli,) or (n_stimuli x outputs). Orientations are in **degrees**.
* Both loops run full-batch gradient descent (``torch.optim.SGD``, every iteration uses all rows).
* Losses are the numbers ``loss_fn`` returns (for the tutorial: mean squared error in squared
  response units, or negative log likelihood in nats per stimulus), plus penalties where stated.
* ``History.train_loss[i]`` and ``History.test_loss[i]`` are both evaluated at the parameters the
  network has at the start of iteration ``i`` (after ``i`` updates), i.e. the training loss is the
  one whose gradient update ``i`` follows. So both curves describe the same network at each
  iteration. The network you get back has had ``n_iter`` updates, one more than the last entry.
* Progress: a tqdm bar over iterations, off with ``progress=False`` or with the environment
  variable ``NMA_DECODING_PROGRESS=0`` (the book build sets it). Checkpoint lines
  ``iteration i/n | train loss: x.xxx | test loss: y.yyy`` are printed every ``print_every``
  iterations, bar or not.
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

__all__ = [
    "History",
    "get_device",
    "stimulus_class",
    "train",
    "train_encoding_model",
]

ENV_PROGRESS = "NMA_DECODING_PROGRESS"
"""Environment variable: ``0`` switches progress bars off (same rule as ``helpers.data``)."""


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


def _progress_wanted(progress) -> bool:
    if progress is None:
        return os.environ.get(ENV_PROGRESS, "1").strip() != "0"
    return bool(progress)


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


def _check_tensor(value, name: str, reference: torch.Tensor, *, float_like: bool) -> torch.Tensor:
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
    if float_like and value.is_floating_point() and value.dtype != reference.dtype:
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
        if _progress_wanted(progress):
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


def _check_finite_loss(value: float, i: int, learning_rate: float) -> None:
    if not math.isfinite(value):
        raise FloatingPointError(
            f"Training diverged: the training loss is {value} at iteration {i + 1}. "
            f"Lower learning_rate (now {learning_rate:g}), e.g. by a factor of 10, re-create the "
            "network (its weights are now unusable) and train again."
        )


def _scalar_loss(loss, what: str) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(
            f"loss_fn must return a single number (a 0-d tensor) for {what}, got {shape}. "
            "Average or sum over stimuli inside loss_fn (built-in losses do with reduction='mean')."
        )
    return loss.reshape(())


# --------------------------------------------------------------------------------------------
# Generic loop (decoders)
# --------------------------------------------------------------------------------------------


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
    n_iter = _check_n_iter(n_iter)
    learning_rate = _check_rate(learning_rate, "learning_rate")
    momentum = _check_rate(momentum, "momentum", upper=1.0, allow_zero=True)
    if isinstance(loss_fn, type) or not callable(loss_fn):
        got = f"the class {loss_fn.__name__}" if isinstance(loss_fn, type) else type(loss_fn).__name__
        raise TypeError(
            f"loss_fn must be callable as loss_fn(output, target), got {got}. "
            "Pass an instance, e.g. nn.MSELoss() (note the brackets)."
        )
    params = _trainable_parameters(net)
    ref = params[0]
    _check_tensor(train_data, "train_data", ref, float_like=True)
    _check_tensor(train_labels, "train_labels", ref, float_like=True)
    _check_rows(train_data, "train_data", train_labels, "train_labels")
    if (test_data is None) != (test_labels is None):
        missing = "test_labels" if test_labels is None else "test_data"
        raise ValueError(f"Give both test_data and test_labels, or neither: {missing} is missing.")
    has_test = test_data is not None
    if has_test:
        _check_tensor(test_data, "test_data", ref, float_like=True)
        _check_tensor(test_labels, "test_labels", ref, float_like=True)
        _check_rows(test_data, "test_data", test_labels, "test_labels")

    optimizer = torch.optim.SGD(params, lr=learning_rate, momentum=momentum)
    train_loss = np.empty(n_iter)
    test_loss = np.empty(n_iter) if has_test else None
    reporter = _Reporter(n_iter, progress, print_every, desc="training")
    try:
        for i in range(n_iter):
            loss = _scalar_loss(loss_fn(net(train_data), train_labels), "the training data")
            if not loss.requires_grad:
                raise ValueError(
                    "The loss does not depend on the network's parameters, so it has no gradient. "
                    "Compute it with torch operations on net's output (no .item(), .detach() or numpy "
                    "inside loss_fn), and do not call train inside torch.no_grad()."
                )
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
    finally:
        reporter.close()
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
    """Fit an encoding model (stimuli -> neural responses) by full-batch SGD with momentum.

    The objective, as in the original tutorial, is::

        MSE(net(stimuli), resp) + L2_penalty * sum(W**2) + L1_penalty * sum(|W|)

    with ``W = net.out_layer.weight`` (the penalties are on the **output** layer weights only, not
    its bias nor the convolution). ``MSE`` is the mean over stimuli and neurons of the squared
    error, in squared response units. Every trainable parameter of ``net`` takes SGD steps with
    ``learning_rate`` and ``momentum``, exactly as ``torch.optim.SGD(net.parameters(), ...)`` applied
    to that objective; the weights it ends at are bit-for-bit those of that plain loop (the
    loss as ``loss = MSE; loss += L1 + L2``, ``loss.backward()``, ``optimizer.step()``) on CPU.

    Speed: ``W`` is (n_neurons x hidden) = 23589 x 1152, 109 MB, and the plain loop spends most of
    its time creating and freeing temporaries of that size. Here autograd differentiates only the
    MSE with respect to everything but ``W``; the gradient of ``W`` is assembled in preallocated
    buffers from the same float32 terms autograd would add, in the same order (``L1 * sign(W)``,
    plus ``2 * L2 * W``, plus the MSE term), the momentum update is SGD's, in place, and the penalty
    values come from reductions without weight-sized temporaries. While the loop runs,
    ``W.requires_grad`` is False and a forward hook sits on ``net.out_layer``; both are restored
    afterwards, also on error or interrupt.

    The test loss is the same objective with ``resp_test`` (the test responses are to the same
    stimuli), so it reuses the training forward pass. Both losses of iteration ``i`` are for the
    parameters before update ``i``.

    Args:
        net: maps stimuli (n_stimuli x 1 x 12 x 16) to responses (n_stimuli x n_neurons) and has
            ``net.out_layer``, an ``nn.Linear`` with ``out_features = n_neurons`` (e.g.
            Linear(6 * 12 * 16, 23589)), used once per forward pass. Modified in place.
        stimuli: (n_stimuli x ...) input images, e.g. (60 x 1 x 12 x 16) gratings.
        resp_train: (n_stimuli x n_neurons) responses to fit, rows in the order of ``stimuli``.
        resp_test: (n_stimuli x n_neurons) held-out responses to the same stimuli.
        n_iter: number of gradient steps (>= 1).
        learning_rate: SGD step size (> 0).
        momentum: SGD momentum in [0, 1).
        L2_penalty: weight of ``sum(W**2)`` (>= 0).
        L1_penalty: weight of ``sum(|W|)`` (>= 0); its gradient uses ``sign(W)`` (0 at 0).
        progress: tqdm bar on/off; ``None`` follows ``NMA_DECODING_PROGRESS`` (on unless ``0``).
        print_every: checkpoint lines every that many iterations; ``None`` means
            ``max(1, n_iter // 5)``, ``0`` none.

    Returns:
        History with ``train_loss`` and ``test_loss``, arrays of shape (n_iter,).

    Raises:
        ValueError / TypeError: bad arguments or shapes, with the fix in the message.
        FloatingPointError: the loss became NaN or infinite (learning rate too large).
    """
    n_iter = _check_n_iter(n_iter)
    learning_rate = _check_rate(learning_rate, "learning_rate")
    momentum = _check_rate(momentum, "momentum", upper=1.0, allow_zero=True)
    L2_penalty = _check_rate(L2_penalty, "L2_penalty", allow_zero=True)
    L1_penalty = _check_rate(L1_penalty, "L1_penalty", allow_zero=True)
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
    others = [p for p in net.parameters() if p.requires_grad and p is not weight]
    _check_tensor(stimuli, "stimuli", weight, float_like=True)
    _check_tensor(resp_train, "resp_train", weight, float_like=True)
    _check_tensor(resp_test, "resp_test", weight, float_like=True)
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

    optimizer = torch.optim.SGD(others, lr=learning_rate, momentum=momentum) if others else None
    grad_buffer = torch.empty_like(weight, memory_format=torch.contiguous_format)
    scratch = torch.empty_like(grad_buffer)
    momentum_buffer = torch.zeros_like(grad_buffer)
    captured: dict[str, torch.Tensor] = {}

    def capture(module, inputs, output):
        # The input of out_layer, and (through a tensor hook) the gradient of the loss with respect
        # to its output: all that d loss / d W = grad_output.T @ input needs.
        if "input" in captured:
            raise RuntimeError(
                "net.out_layer is used more than once in net.forward; train_encoding_model needs it "
                "used exactly once (hidden units -> neurons)."
            )
        captured["input"] = inputs[0].detach()
        if not output.requires_grad:  # nothing before out_layer is trained: track its output anyway
            output = output.detach().requires_grad_()
        output.register_hook(lambda grad: captured.__setitem__("grad_output", grad))
        return output

    train_loss = np.empty(n_iter)
    test_loss = np.empty(n_iter)
    reporter = _Reporter(n_iter, progress, print_every, desc="training encoding model")
    hook = out_layer.register_forward_hook(capture)
    weight.requires_grad_(False)
    try:
        for i in range(n_iter):
            captured.clear()
            prediction = net(stimuli)
            if prediction.shape != resp_train.shape:
                raise ValueError(
                    f"net(stimuli) has shape {tuple(prediction.shape)} but resp_train has "
                    f"{tuple(resp_train.shape)}; the network must return (n_stimuli x n_neurons)."
                )
            mse = F.mse_loss(prediction, resp_train)
            if optimizer is not None:
                optimizer.zero_grad()
            mse.backward()
            if "grad_output" not in captured:
                raise RuntimeError(
                    "The output of net.out_layer does not reach net's output, so its weights get no "
                    "gradient. net.forward must return a function of out_layer's output."
                )
            with torch.no_grad():
                # Penalty values for the weights before this update (as the loss that was differentiated).
                penalty = L2_penalty * _row_norms_sq_sum(weight) + L1_penalty * _row_abs_sum(weight)
                train_loss[i] = mse.item() + penalty
                test_loss[i] = F.mse_loss(prediction.detach(), resp_test).item() + penalty
                _check_finite_loss(train_loss[i], i, learning_rate)

                # d loss / d W, summed in the order autograd sums it when the penalties are in the loss
                # (L1 term, plus L2 term, plus MSE term): float32 addition is not associative, and
                # with L1 a last-bit difference can flip sign(W) later on, so any other order drifts.
                if L1_penalty:
                    torch.sign(weight, out=grad_buffer)
                    grad_buffer.mul_(L1_penalty)
                else:
                    grad_buffer.zero_()
                if L2_penalty:
                    torch.mul(weight, 2.0 * L2_penalty, out=scratch)
                    grad_buffer.add_(scratch)
                hidden = captured["input"].reshape(-1, weight.shape[1])
                grad_output = captured["grad_output"].reshape(-1, weight.shape[0])
                torch.mm(grad_output.t(), hidden, out=scratch)  # d MSE / d W, as Linear's backward
                grad_buffer.add_(scratch)
                # As torch.optim.SGD (dampening 0): buffer <- momentum * buffer, rounded, + gradient.
                # The buffer starts at zero, so the first step gives the gradient, as SGD's clone does.
                momentum_buffer.mul_(momentum).add_(grad_buffer)
                weight.add_(momentum_buffer, alpha=-learning_rate)
            if optimizer is not None:
                optimizer.step()
            reporter.update(i, train_loss[i], test_loss[i])
    finally:
        hook.remove()
        weight.requires_grad_(True)
        reporter.close()
    return History(train_loss=train_loss, test_loss=test_loss)
