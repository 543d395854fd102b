"""Exercise ``regularized_loss(output, target, weights, L2_penalty=0.0, L1_penalty=0.0)``.

``output`` holds log-probabilities (n_stimuli, n_classes), ``target`` the true classes (n_stimuli,),
``weights`` a layer's weights (the input layer's). The loss is the negative log likelihood
(``nn.NLLLoss()``) plus ``L2_penalty`` times the sum of squared weights plus ``L1_penalty`` times the
sum of their absolute values: a torch scalar that carries gradients back to ``weights``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .common import as_scalar, call, close

__all__ = ["make_inputs", "observe", "judge", "l2_mistakes", "l1_mistakes"]

_TERM_ATOL = 1e-4  # penalty terms are differences of two float32 losses


def make_inputs(rng: np.random.Generator) -> dict:
    """Log-probabilities and raw scores (12 stimuli x 5 classes), targets, weights (6 x 9), penalties."""
    log_probs = torch.log_softmax(torch.from_numpy(rng.normal(0, 2.0, (12, 5))), dim=1).numpy()
    return {
        "log_probs": log_probs.astype(np.float32),
        "scores": rng.normal(0, 2.0, (12, 5)).astype(np.float32),
        "target": rng.integers(0, 5, 12).astype(np.int64),
        "weights": rng.normal(0, 1.0, (6, 9)).astype(np.float32),
        "L2_penalty": round(float(rng.uniform(0.05, 0.3)), 4),
        "L1_penalty": round(float(rng.uniform(0.02, 0.2)), 4),
    }


_CALLS = ("none", "L2", "L1", "both", "scores")


def observe(fn, inputs: dict) -> dict:
    """The loss for each call of ``_CALLS``; for "both", whether it is a tensor and its gradient."""
    l2, l1 = float(inputs["L2_penalty"]), float(inputs["L1_penalty"])
    penalties = {
        "none": {},
        "L2": {"L2_penalty": l2},
        "L1": {"L1_penalty": l1},
        "both": {"L2_penalty": l2, "L1_penalty": l1},
        "scores": {},
    }
    values, observed = [], {}
    for which in _CALLS:
        kwargs = penalties[which]
        output = inputs["scores"] if which == "scores" else inputs["log_probs"]
        weights = torch.tensor(inputs["weights"], requires_grad=True)
        args = "".join(f", {key}={value:g}" for key, value in kwargs.items())
        what = f"regularized_loss({'scores' if which == 'scores' else 'output'}, target, weights{args})"
        with torch.enable_grad():
            loss = call(
                what,
                fn,
                torch.from_numpy(output.copy()),
                torch.from_numpy(inputs["target"].copy()),
                weights,
                **kwargs,
            )
            values.append(as_scalar(loss, what))
            if not np.array_equal(weights.detach().numpy(), inputs["weights"]):
                observed["changed_weights"] = True
            elif which == "both":
                observed["is_tensor"] = isinstance(loss, torch.Tensor)
                observed["has_grad"] = False
                if isinstance(loss, torch.Tensor) and loss.requires_grad and loss.numel() == 1:
                    call(f"{what}.backward()", loss.reshape(()).backward)
                    if weights.grad is not None:
                        observed["has_grad"] = True
                        observed["grad"] = weights.grad.double().numpy()
    observed["values"] = np.asarray(values)
    return observed


def l2_mistakes(a: float, w: np.ndarray, out: np.ndarray) -> list[tuple[float, str]]:
    """Typical wrong L2 terms: (the term such an answer adds, what is wrong), for penalty ``a``."""
    squares, absolutes = float((w**2).sum()), float(np.abs(w).sum())
    return [
        (0.0, "ignores its L2 penalty: L2_penalty > 0 adds nothing to the loss"),
        (a * absolutes, "the L2 term sums absolute values; L2 is the sum of squared weights"),
        (a * math.sqrt(squares), "the L2 term is the norm of the weights; L2 is the sum of squared weights"),
        (a * float((w**2).mean()), "the L2 term averages the squared weights; it should sum them"),
        (a * float((out**2).sum()), "the L2 penalty is on the network's output, not on `weights`"),
        (a * float(np.abs(out).sum()), "the L2 penalty is on the network's output, not on `weights`"),
        (a * a * squares, "the L2 term squares L2_penalty as well; only the weights are squared"),
    ]


def l1_mistakes(b: float, w: np.ndarray, out: np.ndarray) -> list[tuple[float, str]]:
    """Typical wrong L1 terms: (the term such an answer adds, what is wrong), for penalty ``b``."""
    squares = float((w**2).sum())
    return [
        (0.0, "ignores its L1 penalty: L1_penalty > 0 adds nothing to the loss"),
        (b * squares, "the L1 term squares the weights; L1 is the sum of their absolute values"),
        (b * float(w.sum()), "the L1 term sums the weights themselves; L1 sums their absolute values"),
        (b * float(np.abs(w).mean()), "the L1 term averages the absolute weights; it should sum them"),
        (b * float(np.abs(out).sum()), "the L1 penalty is on the network's output, not on `weights`"),
        (b * float((out**2).sum()), "the L1 penalty is on the network's output, not on `weights`"),
    ]


def judge(inputs: dict, observed: dict) -> str | None:
    """None when the data term, both penalties and the gradient are right, else the first that is not."""
    values = np.asarray(observed["values"], dtype=np.float64)
    if values.shape != (len(_CALLS),):
        return "could not read the loss values"
    if observed.get("changed_weights"):
        return "changes `weights` in place; compute the penalties without modifying the weights"
    return (
        _data_term_problem(inputs, values)
        or _penalty_problem(inputs, values)
        or _gradient_problem(inputs, observed)
    )


def _data_term_problem(inputs: dict, values: np.ndarray) -> str | None:
    v_none, v_scores = values[0], values[4]
    log_probs = torch.from_numpy(np.asarray(inputs["log_probs"], dtype=np.float64))
    scores = torch.from_numpy(np.asarray(inputs["scores"], dtype=np.float64))
    target = torch.from_numpy(np.asarray(inputs["target"], dtype=np.int64))
    nll = F.nll_loss(log_probs, target).item()
    if not close(v_none, nll):
        if close(v_none, F.nll_loss(log_probs, target, reduction="sum").item()):
            return "the data term sums over stimuli; it should average (as NLLLoss does by default)"
        if close(v_none, -nll):
            return "the data term has the wrong sign: it should be the negative log likelihood"
        if close(v_none, F.mse_loss(log_probs, F.one_hot(target, 5).double()).item()):
            return "the data term is a mean squared error; it should be the negative log likelihood (NLLLoss)"
        return (
            "with both penalties at their defaults the loss is not the negative log likelihood of output "
            "and target (NLLLoss): the data term is wrong, or a default penalty is not 0"
        )
    if close(v_scores, F.cross_entropy(scores, target).item()) and not close(
        v_scores, F.nll_loss(scores, target).item()
    ):
        return (
            "the data term applies its own log-softmax (cross-entropy); the network already outputs "
            "log-probabilities, so use the negative log likelihood (NLLLoss)"
        )
    if not close(v_scores, F.nll_loss(scores, target).item()):
        return "the data term is not the negative log likelihood of output and target (NLLLoss)"
    return None


def _penalty_problem(inputs: dict, values: np.ndarray) -> str | None:
    v_none, v_l2, v_l1, v_both, _ = values
    w = np.asarray(inputs["weights"], dtype=np.float64)
    out = np.asarray(inputs["log_probs"], dtype=np.float64)
    a, b = float(inputs["L2_penalty"]), float(inputs["L1_penalty"])
    l2_term, l1_term = v_l2 - v_none, v_l1 - v_none
    squares, absolutes = float((w**2).sum()), float(np.abs(w).sum())
    if not close(l2_term, a * squares, atol=_TERM_ATOL):
        swapped = close(l1_term, b * squares, atol=_TERM_ATOL)
        if swapped and close(l2_term, a * absolutes, atol=_TERM_ATOL):
            return (
                "L1_penalty and L2_penalty are swapped: L2 scales the squared weights, L1 the absolute ones"
            )
        otherwise = "the L2 term is not L2_penalty times the sum of squared `weights`"
        return _first_match(l2_term, l2_mistakes(a, w, out), otherwise)
    if not close(l1_term, b * absolutes, atol=_TERM_ATOL):
        otherwise = "the L1 term is not L1_penalty times the sum of absolute `weights`"
        return _first_match(l1_term, l1_mistakes(b, w, out), otherwise)
    log_probs = torch.from_numpy(out)
    nll = F.nll_loss(log_probs, torch.from_numpy(np.asarray(inputs["target"], dtype=np.int64))).item()
    if not close(v_both, nll + a * squares + b * absolutes, atol=_TERM_ATOL):
        return "with both penalties set, the loss is not the data term plus both penalty terms"
    return None


def _gradient_problem(inputs: dict, observed: dict) -> str | None:
    if not observed.get("is_tensor"):
        return "returns a plain number, not a torch tensor: training needs a tensor to call .backward() on"
    if not observed.get("has_grad"):
        return (
            "the loss does not carry gradients back to `weights` (computed with .item(), numpy or a "
            "detached copy?); build it from torch operations on the tensors themselves"
        )
    w = np.asarray(inputs["weights"], dtype=np.float64)
    a, b = float(inputs["L2_penalty"]), float(inputs["L1_penalty"])
    expected_grad = 2 * a * w + b * np.sign(w)
    if not close(observed.get("grad"), expected_grad, atol=_TERM_ATOL):
        return "the gradient of the loss with respect to `weights` is not that of the two penalties"
    return None


def _first_match(value: float, guesses, otherwise: str) -> str:
    """The reason of the first guess ``value`` equals, else ``otherwise``."""
    for expected, reason in guesses:
        if close(value, expected, atol=_TERM_ATOL):
            return reason
    return otherwise
