"""Figures of the decoders: loss curves, decoded against true orientation, errors, classes.

Reached from notebooks as ``plotting.<function>`` (see :mod:`helpers.plotting`).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from helpers import plot_base as base

LOSS_PANEL_HEIGHT_IN = 3.4
CLASS_PANEL_HEIGHT_IN = 4.6
ERROR_PANEL_HEIGHT_IN = 3.0
CLASS_LABEL_MIN_PT = 7.5
"""Class tick labels are never smaller than this (7.5 pt = 10.4 px at 100 dpi); with many classes
only every k-th class is labelled instead."""


def identity_line(ax: Axes) -> Line2D:
    """Draw y = x behind the data and give both axes the same limits.

    The limits become the union of the current x and y limits, so call this after plotting the
    data. Returns the line.
    """
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}.")
    x_low, x_high = ax.get_xlim()
    y_low, y_high = ax.get_ylim()
    low, high = min(x_low, y_low), max(x_high, y_high)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    (line,) = ax.plot([low, high], [low, high], color=base.REFERENCE_LINE_COLOR, linewidth=1, zorder=0)
    return line


def plot_training_loss(train_loss, test_loss=None, ylabel: str = "mean squared error", ax=None) -> Figure:
    """Loss over iterations of gradient descent, counted from 1 as the training printout counts.

    Args:
        train_loss: loss after each iteration, length n_iter; entry k is drawn at iteration k + 1
            (so "iteration 10: ..." printed by ``training.train`` sits at x = 10).
        test_loss: optional test loss, the same length (NaN entries, e.g. iterations where it was
            not measured, are skipped).
        ylabel: what the loss is, e.g. "mean squared error" or "negative log likelihood".
        ax: axes to draw into (a new figure if None).

    The y axis starts at 0 (or at the lowest loss if that is negative).
    """
    train = base.as_vector(train_loss, "train_loss")
    if not isinstance(ylabel, str) or not ylabel.strip():
        raise ValueError("ylabel must be a non-empty string naming the loss, e.g. 'mean squared error'.")
    fig, ax = base.figure_and_axes(ax, figsize=(base.COLUMN_WIDTH_IN, 3.6))
    iterations = np.arange(1, train.size + 1)
    ax.plot(iterations, train, color=base.TRAIN_COLOR, label="train")
    lowest = np.nanmin(train) if np.any(np.isfinite(train)) else 0.0
    if test_loss is not None:
        test = base.as_vector(test_loss, "test_loss")
        if test.size != train.size:
            raise ValueError(
                f"test_loss has {test.size} values but train_loss has {train.size}; give one value per "
                "iteration for both (NaN where the test loss was not measured)."
            )
        measured = np.isfinite(test)
        marker = "." if measured.sum() < 50 else None
        ax.plot(iterations[measured], test[measured], color=base.TEST_COLOR, marker=marker, label="test")
        if measured.any():
            lowest = min(lowest, test[measured].min())
    ax.set_xlim(1, max(train.size, 2))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=min(0.0, lowest))
    ax.set_xlabel("iteration of gradient descent")
    ax.set_ylabel(ylabel)
    ax.legend()
    return fig


def _paired_vectors(first, first_name: str, second, second_name: str) -> tuple[np.ndarray, np.ndarray]:
    one, other = base.as_vector(first, first_name), base.as_vector(second, second_name)
    if one.size != other.size:
        raise ValueError(
            f"{first_name} has {one.size} values but {second_name} has {other.size}; pair them up."
        )
    return one, other


def plot_decoded_vs_true(true_deg, decoded_deg, title=None, ax=None) -> Figure:
    """Decoded against true stimulus orientation, with the identity line (perfect decoding).

    Args:
        true_deg: true orientations in degrees, shape (n,) or (n, 1).
        decoded_deg: decoded orientations in degrees, the same length.
        title: optional axes title.
        ax: axes to draw into (a new figure if None).
    """
    true, decoded = _paired_vectors(true_deg, "true_deg", decoded_deg, "decoded_deg")
    fig, ax = base.figure_and_axes(ax, figsize=(5.0, 4.6))
    ax.plot(true, decoded, ".", color=base.DATA_COLOR)
    identity_line(ax)
    low, high = ax.get_xlim()
    base.set_degree_ticks(ax.xaxis, low, high, cover=False)
    base.set_degree_ticks(ax.yaxis, low, high, cover=False)
    ax.set_xlabel("true " + base.ORIENTATION_LABEL)
    ax.set_ylabel("decoded " + base.ORIENTATION_LABEL)
    if title is not None:
        ax.set_title(str(title))
    return fig


def plot_decoding_error(true_deg, error_deg, ax=None) -> Figure:
    """Decoding error (decoded - true, degrees) against true stimulus orientation.

    Args:
        true_deg: true orientations in degrees, shape (n,) or (n, 1).
        error_deg: decoding errors in degrees, the same length (e.g. from
            ``metrics.circular_error``).
        ax: axes to draw into (a new figure if None).
    """
    true, error = _paired_vectors(true_deg, "true_deg", error_deg, "error_deg")
    fig, ax = base.figure_and_axes(ax, figsize=(base.COLUMN_WIDTH_IN, ERROR_PANEL_HEIGHT_IN + 0.4))
    ax.axhline(0, color=base.REFERENCE_LINE_COLOR, linewidth=1, zorder=0)
    ax.plot(true, error, ".", color=base.DATA_COLOR)
    base.set_degree_ticks(ax.xaxis, true.min(), true.max())
    ax.set_xlabel("true " + base.ORIENTATION_LABEL)
    ax.set_ylabel("decoding error (deg)")
    ax.set_title("decoding error")
    return fig


def plot_decoding_errors(true_deg, errors_by_title: dict, sharey: bool = False) -> Figure:
    """Several decoding errors of the same test stimuli, one panel under the other.

    Args:
        true_deg: true orientations in degrees, shape (n,) or (n, 1).
        errors_by_title: panel title -> decoding errors in degrees (length n), in drawing order.
        sharey: one error scale for all panels (to compare sizes), instead of one each.
    """
    if not isinstance(errors_by_title, dict) or not errors_by_title:
        raise ValueError("errors_by_title must be a non-empty dict: panel title -> errors (degrees).")
    fig, axes = base.stacked_axes(len(errors_by_title), ERROR_PANEL_HEIGHT_IN, sharex=True, sharey=sharey)
    for ax, (title, error) in zip(axes, errors_by_title.items(), strict=True):
        plot_decoding_error(true_deg, error, ax=ax)
        ax.set_title(str(title))
        if ax is not axes[-1]:
            ax.set_xlabel("")
    return fig


def _class_indices(predicted_classes, true: np.ndarray, n_classes: int) -> np.ndarray:
    predicted = base.as_vector(predicted_classes, "predicted_classes")
    if true.size != predicted.size:
        raise ValueError(
            f"true_deg has {true.size} values but predicted_classes has {predicted.size}; "
            "give one decoded class per test stimulus (e.g. log_probabilities.argmax(dim=1))."
        )
    if np.any(predicted != np.round(predicted)):
        raise ValueError(
            "predicted_classes must be class indices (whole numbers); take .argmax(dim=1) first."
        )
    if predicted.min() < 0 or predicted.max() >= n_classes:
        raise ValueError(
            f"predicted_classes range from {predicted.min():.0f} to {predicted.max():.0f}, outside "
            f"0 .. {n_classes - 1}; is n_classes the network's number of outputs?"
        )
    return predicted


def _draw_classes(class_ax: Axes, true: np.ndarray, predicted: np.ndarray, n_classes: int) -> None:
    edges = np.linspace(0, 360, n_classes + 1)
    for edge in edges:
        class_ax.axvline(edge, color="0.85", linewidth=1, zorder=0)
    class_ax.stairs(
        np.arange(n_classes),
        edges,
        baseline=None,
        color=base.PREDICTION_COLOR,
        alpha=0.4,
        linewidth=3,
        label="correct class",
    )
    class_ax.plot(true, predicted, ".", color=base.DATA_COLOR, label="test stimulus")
    class_ax.set_xlim(0, 360)
    base.set_degree_ticks(class_ax.xaxis, 0, 360)
    class_ax.set_ylim(-0.5, n_classes - 0.5)
    # Label every k-th class so the labels fit the panel's height at a readable size.
    label_every = max(1, int(np.ceil(n_classes / 12)))
    labelled = np.arange(0, n_classes, label_every)
    class_ax.set_yticks(labelled)
    class_ax.set_yticklabels(
        [f"{base.format_degrees(edges[k])}-{base.format_degrees(edges[k + 1])} deg" for k in labelled],
        fontsize=max(CLASS_LABEL_MIN_PT, min(10.0, 160 / len(labelled))),
    )
    class_ax.set_xlabel("true " + base.ORIENTATION_LABEL)
    class_ax.set_ylabel("decoded class (orientation bin)")
    class_ax.set_title(f"decoded class ({n_classes} classes)")
    class_ax.legend(loc="upper left")


def plot_decoded_classes(
    train_loss, test_loss, true_deg, predicted_classes, n_classes: int, loss_label="negative log likelihood"
) -> Figure:
    """Classification decoder: loss curves (top), and decoded class against true orientation (below).

    Args:
        train_loss: negative log likelihood at each iteration, length n_iter.
        test_loss: test negative log likelihood, the same length, or None.
        true_deg: true orientations of the test stimuli in degrees, in [0, 360); shape (n,) or (n, 1).
        predicted_classes: decoded class index (0 .. n_classes-1) for each test stimulus, length n.
        n_classes: number of classes; class k covers orientations [k, k+1) * 360 / n_classes degrees.
        loss_label: y label of the loss panel (say so when the loss includes penalties).

    Lower panel: one dot per test stimulus; grey vertical lines are the class bin edges and the
    light staircase marks the correct class.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, Integral) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}.")
    n_classes = int(n_classes)
    true = base.as_vector(true_deg, "true_deg")
    predicted = _class_indices(predicted_classes, true, n_classes)
    fig, (loss_ax, class_ax) = base.stacked_axes(
        2, 1.0, gridspec_kw={"height_ratios": [LOSS_PANEL_HEIGHT_IN, CLASS_PANEL_HEIGHT_IN]}
    )
    fig.set_figheight(LOSS_PANEL_HEIGHT_IN + CLASS_PANEL_HEIGHT_IN)
    plot_training_loss(train_loss, test_loss, ylabel=loss_label, ax=loss_ax)
    loss_ax.set_title("training")
    _draw_classes(class_ax, true, predicted, n_classes)
    return fig
