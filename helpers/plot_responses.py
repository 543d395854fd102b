"""Figures of responses and stimuli: the data matrix, tuning curves, model predictions, gratings.

Reached from notebooks as ``plotting.<function>`` (see :mod:`helpers.plotting`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from helpers import plot_base as base

EXPLAINABLE_DISPLAY_RANGE = (-1.0, 2.0)
GRATING_COLUMNS = 4


def plot_data_matrix(resp, ax=None) -> Figure:
    """Heatmap of a response matrix, one row per neuron.

    Args:
        resp: (neurons x stimuli) matrix of normalised (z-scored) responses. Note the orientation:
            the data are stored stimuli x neurons, so pass ``resp[:, :100].T`` for the first 100
            neurons.
        ax: axes to draw into (a new figure if None).

    Colour limits are the 1st and 99th percentiles of the values, so a few extreme responses do not
    wash out the rest.
    """
    matrix = base.as_matrix(resp, "resp", "neurons x stimuli")
    fig, ax = base.figure_and_axes(ax, figsize=(base.COLUMN_WIDTH_IN, 4.2))
    low, high = np.nanpercentile(matrix, [1, 99])
    image = ax.imshow(matrix, cmap="pink", vmin=low, vmax=high, aspect="auto", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="normalised response\n(z-score)")
    ax.set_xlabel("stimulus (index)")
    ax.set_ylabel("neuron (index)")
    ax.set_title(f"responses of {matrix.shape[0]} neurons to {matrix.shape[1]} stimuli")
    return fig


def plot_tuning_curves(stimuli_deg, resp, neuron_indices, ax=None) -> Figure:
    """Tuning curves (response against stimulus orientation) of selected neurons.

    Args:
        stimuli_deg: n stimulus orientations in degrees, shape (n,) or (n, 1).
        resp: (stimuli x neurons) responses (z-scored).
        neuron_indices: column(s) of ``resp`` to draw; an int or a sequence of ints.
        ax: axes to draw into (a new figure if None).
    """
    stimuli = base.as_vector(stimuli_deg, "stimuli_deg")
    responses = base.as_matrix(resp, "resp", "stimuli x neurons")
    base.check_stimulus_axis(stimuli, responses, "resp")
    neurons = base.index_list(
        neuron_indices, responses.shape[1], "neuron_indices", "neurons (columns) of resp"
    )
    fig, ax = base.figure_and_axes(ax, figsize=(base.COLUMN_WIDTH_IN, 3.8))
    order = np.argsort(stimuli)
    for neuron in neurons:
        ax.plot(stimuli[order], responses[order, neuron], label=f"neuron {neuron}")
    ax.set_xlabel(base.ORIENTATION_LABEL)
    ax.set_ylabel(base.RESPONSE_LABEL)
    base.set_degree_ticks(ax.xaxis, stimuli.min(), stimuli.max())
    ax.legend()
    ax.set_title("tuning curves")
    return fig


def _tuning_grid(stimuli_deg, curves, neuron_indices) -> Figure:
    """Grid with one panel per neuron; ``curves`` is a list of (label, matrix, color, linewidth)."""
    stimuli = base.as_vector(stimuli_deg, "stimuli_deg")
    n_neurons = curves[0][1].shape[1]
    neurons = base.index_list(
        neuron_indices, n_neurons, "neuron_indices", "neurons (columns) of the responses"
    )
    order = np.argsort(stimuli, kind="stable")
    fig, axes = base.grid_of_axes(len(neurons))
    for ax, neuron in zip(axes, neurons, strict=True):
        for label, matrix, color, linewidth in curves:
            ax.plot(stimuli[order], matrix[order, neuron], color=color, linewidth=linewidth, label=label)
        ax.set_title(f"neuron {neuron}")
        base.set_degree_ticks(ax.xaxis, stimuli.min(), stimuli.max())
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(curves))
    fig.supxlabel(base.ORIENTATION_LABEL)
    fig.supylabel(base.RESPONSE_LABEL)
    return fig


def _response_matrices(stimuli_deg, named_matrices) -> list[np.ndarray]:
    stimuli = base.as_vector(stimuli_deg, "stimuli_deg")
    matrices = []
    for name, values in named_matrices:
        matrix = base.as_matrix(values, name, "stimuli x neurons")
        base.check_stimulus_axis(stimuli, matrix, name)
        if matrices and matrix.shape != matrices[0].shape:
            raise ValueError(
                f"{name} has shape {matrix.shape} but {named_matrices[0][0]} has {matrices[0].shape}; "
                "all must be stimuli x neurons for the same neurons."
            )
        matrices.append(matrix)
    return matrices


def plot_train_test_tuning(stimuli_deg, resp_train, resp_test, neuron_indices) -> Figure:
    """Train and test tuning curves of selected neurons, one small panel per neuron.

    Args:
        stimuli_deg: n stimulus orientations in degrees, shape (n,) or (n, 1).
        resp_train: (stimuli x neurons) responses averaged over the training half of the trials.
        resp_test: (stimuli x neurons) responses averaged over the test half.
        neuron_indices: columns to draw (an int or a sequence of ints); three panels per row.
    """
    train, test = _response_matrices(stimuli_deg, [("resp_train", resp_train), ("resp_test", resp_test)])
    curves = [("train", train, base.TRAIN_COLOR, 1.5), ("test", test, base.TEST_COLOR, 1.5)]
    return _tuning_grid(stimuli_deg, curves, neuron_indices)


def plot_predictions(stimuli_deg, predicted, resp_train, resp_test, neuron_indices) -> Figure:
    """Model predictions over train and test tuning curves, one small panel per neuron.

    Args:
        stimuli_deg: n stimulus orientations in degrees, shape (n,) or (n, 1).
        predicted: (stimuli x neurons) predicted responses (e.g. ``net(grating_stimuli)``).
        resp_train: (stimuli x neurons) responses of the training half.
        resp_test: (stimuli x neurons) responses of the test half.
        neuron_indices: columns to draw (an int or a sequence of ints); three panels per row.
    """
    prediction, train, test = _response_matrices(
        stimuli_deg, [("predicted", predicted), ("resp_train", resp_train), ("resp_test", resp_test)]
    )
    curves = [
        ("train", train, base.TRAIN_COLOR, 1.2),
        ("test", test, base.TEST_COLOR, 1.2),
        ("prediction", prediction, base.PREDICTION_COLOR, 2.5),
    ]
    return _tuning_grid(stimuli_deg, curves, neuron_indices)


def plot_gratings(images, orientations_deg) -> Figure:
    """Grating images in a grid, grey scale from -0.5 (black) to 0.5 (white).

    Args:
        images: (n x 1 x H x W) or (n x H x W) images (e.g. ``grating_stimuli[shown]``).
        orientations_deg: (n,) or (n, 1) orientation of each image in degrees, used as its title.
    """
    stack = base.to_array(images, "images").astype(float)
    if stack.ndim == 4 and stack.shape[1] == 1:
        stack = stack[:, 0]
    if stack.ndim != 3 or 0 in stack.shape:
        raise ValueError(f"images must be (n x 1 x H x W) or (n x H x W), got shape {stack.shape}.")
    orientations = base.as_vector(orientations_deg, "orientations_deg")
    if orientations.size != stack.shape[0]:
        raise ValueError(f"{stack.shape[0]} images but {orientations.size} orientations; give one each.")
    n_columns = min(GRATING_COLUMNS, stack.shape[0])
    n_rows = int(np.ceil(stack.shape[0] / n_columns))
    panel_width = (base.COLUMN_WIDTH_IN - 0.6) / n_columns
    fig, grid = plt.subplots(
        n_rows,
        n_columns,
        figsize=(base.COLUMN_WIDTH_IN, n_rows * panel_width * 0.95 + 0.5),
        squeeze=False,
        layout="constrained",
    )
    height, width = stack.shape[1:]
    for ax, image, orientation in zip(grid.ravel(), stack, orientations, strict=False):
        ax.imshow(image, cmap="gray", vmin=-0.5, vmax=0.5, interpolation="nearest")
        ax.set_title(f"{base.format_degrees(orientation)} deg")
        ax.set_xticks([0, width - 1])
        ax.set_yticks([0, height - 1])
    for unused in grid.ravel()[stack.shape[0] :]:
        unused.remove()
    fig.supxlabel("column (pixels)")
    fig.supylabel("row (pixels)")
    return fig


def plot_fraction_explainable(fraction, ax=None) -> Figure:
    """Histogram over neurons of the fraction of explainable variance explained, median marked.

    Args:
        fraction: one value per neuron (e.g. ``metrics.fraction_explainable_variance_explained``),
            dimensionless. NaN values (neurons without a positive ceiling) are left out and counted
            in the title; values outside [-1, 2] (noisy ratios of tiny ceilings) are drawn in the
            edge bins and counted in the title. The median is over all finite values.
        ax: axes to draw into (a new figure if None).
    """
    values = base.to_array(fraction, "fraction").astype(float).reshape(-1)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError(
            "fraction has no finite values, so there is nothing to draw; check that the split-half "
            "ceilings are positive for some neurons."
        )
    low, high = EXPLAINABLE_DISPLAY_RANGE
    n_outside = int(np.sum((finite < low) | (finite > high)))
    shown = np.clip(finite, low, high)
    # Always show 0 (no better than the mean) and 1 (all explainable variance).
    bin_edges = np.linspace(min(0.0, shown.min()), max(1.0, shown.max()), 41)
    fig, ax = base.figure_and_axes(ax, figsize=(base.COLUMN_WIDTH_IN, 3.8))
    ax.hist(shown, bins=bin_edges, color=base.DATA_COLOR)
    median = float(np.median(finite))
    ax.axvline(median, color="k", linestyle="--", linewidth=1.5, label=f"median = {median:.2f}")
    ax.legend()
    ax.set_xlabel("fraction of explainable variance explained")
    ax.set_ylabel("number of neurons")
    notes = [f"{finite.size} neurons"]
    if n_outside:
        notes.append(f"{n_outside} outside [{low:g}, {high:g}] drawn at the edges")
    n_left_out = values.size - finite.size
    if n_left_out:
        notes.append(f"{n_left_out} without a positive ceiling left out")
    ax.set_title("\n".join(notes), fontsize="medium")  # one note a line: the title stays in the column
    return fig
