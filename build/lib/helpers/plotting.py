"""Figures of the course module: one function per figure.

Every function draws only what it is given (it reads no notebook variables), accepts numpy
arrays, torch tensors (also ones that require grad or live on a GPU) or plain sequences, and
returns the matplotlib ``Figure``. Functions that draw a single panel take an optional ``ax`` to
draw into; without it they make a new figure.

In a notebook, write ``fig = plotting.plot_...(...)`` or end the line with ``;``: a bare call as
the last line of a cell would show the figure twice (once by the inline backend, once as the
returned value).

Conventions: response matrices are (stimuli x neurons) unless a function says otherwise;
orientations are in degrees.

Importing this module applies the module's matplotlib style (see :func:`use_style`).
"""

from __future__ import annotations

import math
from importlib import resources
from numbers import Integral

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from helpers.metrics import _to_numpy  # one conversion of tensors/arrays for the whole package

STYLE_FILE_NAME = "module.mplstyle"
ORIENTATION_LABEL = "stimulus orientation (deg)"
RESPONSE_LABEL = "response (z-score)"
DEGREE_TICK_STEP = 90
WEIGHT_COLORMAP = "bwr"
TRAIN_COLOR = "tab:orange"
TEST_COLOR = "tab:purple"
PREDICTION_COLOR = "tab:green"
REFERENCE_LINE_COLOR = "0.7"
GRID_COLUMNS = 5
EXPLAINABLE_DISPLAY_RANGE = (-1.0, 2.0)


def use_style() -> None:
    """Apply the module's matplotlib style (``helpers/module.mplstyle``, shipped in the package).

    Readable font sizes, no top/right spines, an 8 x 5 inch default figure at 100 dpi. Read from
    the installed package, so it works offline. Called automatically on import of this module;
    call it again after ``plt.rcdefaults()`` or another style to get it back.
    """
    style = resources.files("helpers").joinpath(STYLE_FILE_NAME)
    with resources.as_file(style) as style_path:
        plt.style.use(str(style_path))


# ----------------------------------------------------------------------------- input handling


def _as_vector(values, name: str) -> np.ndarray:
    """1-D float array from a vector of shape (n,) or a column of shape (n, 1)."""
    array = _to_numpy(values, name).astype(float)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty vector (n,) or column (n, 1), got shape {array.shape}.")
    return array


def _as_matrix(values, name: str, layout: str) -> np.ndarray:
    array = _to_numpy(values, name).astype(float)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"{name} must be a non-empty 2-D matrix ({layout}), got shape {array.shape}.")
    return array


def _check_stimulus_axis(stimuli_deg: np.ndarray, matrix: np.ndarray, name: str) -> None:
    if matrix.shape[0] != stimuli_deg.size:
        hint = (
            " Is it transposed? It must be stimuli x neurons." if matrix.shape[1] == stimuli_deg.size else ""
        )
        raise ValueError(
            f"{name} has {matrix.shape[0]} rows but stimuli_deg has {stimuli_deg.size} orientations; "
            f"rows must be stimuli.{hint}"
        )


def _index_list(indices, n_available: int, name: str, what: str) -> list[int]:
    """Validated list of indices into ``n_available`` items (negative indices count from the end)."""
    if isinstance(indices, str):
        raise ValueError(f"{name} must be an int or a sequence of ints, got {indices!r}.")
    indices = [indices] if isinstance(indices, Integral) else indices
    array = _to_numpy(indices, name).reshape(-1)
    if array.size == 0:
        raise ValueError(f"{name} is empty; pass at least one index.")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {array.dtype}.")
    outside = array[(array < -n_available) | (array >= n_available)]
    if outside.size:
        raise ValueError(f"{name} {outside.tolist()} are outside the {n_available} {what}.")
    return [int(index) % n_available for index in array]


def _figure_and_axes(ax, figsize=None) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes (e.g. from plt.subplots()), got {type(ax).__name__}.")
    return ax.figure, ax


def _set_degree_ticks(
    axis, low: float, high: float, step: float = DEGREE_TICK_STEP, cover: bool = True
) -> None:
    """Ticks every ``step`` degrees on an x or y axis (``ax.xaxis`` / ``ax.yaxis``).

    With ``cover`` the ticks run from a multiple of ``step`` at or below ``low`` to one at or above
    ``high`` (so 0..354 gets ticks 0, 90, .., 360 and the view grows to show them); without it they
    stay inside [low, high] and the view is left alone.
    """
    if cover:
        first, last = math.floor(low / step) * step, math.ceil(high / step) * step
    else:
        first, last = math.ceil(low / step) * step, high
    ticks = np.arange(first, last + step * 1e-9, step)
    if ticks.size >= 2:
        axis.set_ticks(ticks)


def _symmetric_limit(values: np.ndarray, percentile: float = 100.0) -> float:
    """Colour limit L for a diverging map on [-L, L]: a percentile of |values| (1 if all zero)."""
    finite = np.abs(values[np.isfinite(values)])
    limit = float(np.percentile(finite, percentile)) if finite.size else 0.0
    return limit if limit > 0 else 1.0


def _grid_of_axes(n_panels: int, panel_size=(3.0, 2.6)):
    n_columns = min(GRID_COLUMNS, n_panels)
    n_rows = math.ceil(n_panels / n_columns)
    fig, axes = plt.subplots(
        n_rows,
        n_columns,
        figsize=(panel_size[0] * n_columns, panel_size[1] * n_rows + 0.8),
        sharex=True,
        squeeze=False,
        layout="constrained",
    )
    axes = axes.ravel()
    for unused in axes[n_panels:]:
        unused.remove()
    for index in range(n_panels):
        if index + n_columns >= n_panels:  # nothing below it: show its tick labels despite sharex
            axes[index].xaxis.set_tick_params(labelbottom=True)
    return fig, list(axes[:n_panels])


# ----------------------------------------------------------------------------- generic pieces


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
    (line,) = ax.plot([low, high], [low, high], color=REFERENCE_LINE_COLOR, linewidth=1, zorder=0)
    return line


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
    matrix = _as_matrix(resp, "resp", "neurons x stimuli")
    fig, ax = _figure_and_axes(ax)
    low, high = np.nanpercentile(matrix, [1, 99])
    image = ax.imshow(matrix, cmap="pink", vmin=low, vmax=high, aspect="auto", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="normalised response (z-score)")
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
    stimuli = _as_vector(stimuli_deg, "stimuli_deg")
    responses = _as_matrix(resp, "resp", "stimuli x neurons")
    _check_stimulus_axis(stimuli, responses, "resp")
    neurons = _index_list(neuron_indices, responses.shape[1], "neuron_indices", "neurons (columns) of resp")
    fig, ax = _figure_and_axes(ax)
    order = np.argsort(stimuli)
    for neuron in neurons:
        ax.plot(stimuli[order], responses[order, neuron], label=f"neuron {neuron}")
    ax.set_xlabel(ORIENTATION_LABEL)
    ax.set_ylabel(RESPONSE_LABEL)
    _set_degree_ticks(ax.xaxis, stimuli.min(), stimuli.max())
    ax.legend()
    ax.set_title("tuning curves")
    return fig


def plot_training_loss(train_loss, test_loss=None, ylabel: str = "mean squared error", ax=None) -> Figure:
    """Loss over iterations of gradient descent.

    Args:
        train_loss: loss at each iteration, length n_iter.
        test_loss: optional test loss, the same length (NaN entries, e.g. iterations where it was
            not measured, are skipped).
        ylabel: what the loss is, e.g. "mean squared error" or "negative log likelihood".
        ax: axes to draw into (a new figure if None).

    The y axis starts at 0 (or at the lowest loss if that is negative).
    """
    train = _as_vector(train_loss, "train_loss")
    if not isinstance(ylabel, str) or not ylabel.strip():
        raise ValueError("ylabel must be a non-empty string naming the loss, e.g. 'mean squared error'.")
    fig, ax = _figure_and_axes(ax)
    iterations = np.arange(train.size)
    ax.plot(iterations, train, color=TRAIN_COLOR, label="train")
    lowest = np.nanmin(train) if np.any(np.isfinite(train)) else 0.0
    if test_loss is not None:
        test = _as_vector(test_loss, "test_loss")
        if test.size != train.size:
            raise ValueError(
                f"test_loss has {test.size} values but train_loss has {train.size}; give one value per "
                "iteration for both (NaN where the test loss was not measured)."
            )
        measured = np.isfinite(test)
        marker = "." if measured.sum() < 50 else None
        ax.plot(iterations[measured], test[measured], color=TEST_COLOR, marker=marker, label="test")
        if measured.any():
            lowest = min(lowest, test[measured].min())
    ax.set_xlim(0, max(train.size - 1, 1))
    ax.set_ylim(bottom=min(0.0, lowest))
    ax.set_xlabel("iteration of gradient descent")
    ax.set_ylabel(ylabel)
    ax.legend()
    return fig


def plot_decoded_vs_true(true_deg, decoded_deg, title=None, ax=None) -> Figure:
    """Decoded against true stimulus orientation, with the identity line (perfect decoding).

    Args:
        true_deg: true orientations in degrees, shape (n,) or (n, 1).
        decoded_deg: decoded orientations in degrees, the same length.
        title: optional axes title.
        ax: axes to draw into (a new figure if None).
    """
    true = _as_vector(true_deg, "true_deg")
    decoded = _as_vector(decoded_deg, "decoded_deg")
    if true.size != decoded.size:
        raise ValueError(f"true_deg has {true.size} values but decoded_deg has {decoded.size}; pair them up.")
    fig, ax = _figure_and_axes(ax, figsize=(5.5, 5))
    ax.plot(true, decoded, ".", color="tab:blue")
    identity_line(ax)
    low, high = ax.get_xlim()
    _set_degree_ticks(ax.xaxis, low, high, cover=False)
    _set_degree_ticks(ax.yaxis, low, high, cover=False)
    ax.set_xlabel("true " + ORIENTATION_LABEL)
    ax.set_ylabel("decoded " + ORIENTATION_LABEL)
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
    true = _as_vector(true_deg, "true_deg")
    error = _as_vector(error_deg, "error_deg")
    if true.size != error.size:
        raise ValueError(f"true_deg has {true.size} values but error_deg has {error.size}; pair them up.")
    fig, ax = _figure_and_axes(ax)
    ax.axhline(0, color=REFERENCE_LINE_COLOR, linewidth=1, zorder=0)
    ax.plot(true, error, ".", color="tab:blue")
    _set_degree_ticks(ax.xaxis, true.min(), true.max())
    ax.set_xlabel("true " + ORIENTATION_LABEL)
    ax.set_ylabel("decoding error (deg)")
    ax.set_title("decoding error")
    return fig


def _format_degrees(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def plot_decoded_classes(
    train_loss, test_loss, true_deg, predicted_classes, n_classes: int, loss_label="negative log likelihood"
) -> Figure:
    """Classification decoder: loss curves, and decoded class against true orientation.

    Args:
        train_loss: negative log likelihood at each iteration, length n_iter.
        test_loss: test negative log likelihood, the same length, or None.
        true_deg: true orientations of the test stimuli in degrees, in [0, 360); shape (n,) or (n, 1).
        predicted_classes: decoded class index (0 .. n_classes-1) for each test stimulus, length n.
        n_classes: number of classes; class k covers orientations [k, k+1) * 360 / n_classes degrees.
        loss_label: y label of the loss panel (say so when the loss includes penalties).

    Left panel: loss curves. Right panel: one dot per test stimulus; grey vertical lines are the
    class bin edges and the light staircase marks the correct class.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, Integral) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}.")
    n_classes = int(n_classes)
    true = _as_vector(true_deg, "true_deg")
    predicted = _as_vector(predicted_classes, "predicted_classes")
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

    fig, (loss_ax, class_ax) = plt.subplots(
        1, 2, figsize=(13, 5), layout="constrained", gridspec_kw={"width_ratios": [1, 1.2]}
    )
    plot_training_loss(train_loss, test_loss, ylabel=loss_label, ax=loss_ax)
    loss_ax.set_title("training")

    edges = np.linspace(0, 360, n_classes + 1)
    for edge in edges:
        class_ax.axvline(edge, color="0.85", linewidth=1, zorder=0)
    class_ax.stairs(
        np.arange(n_classes),
        edges,
        baseline=None,
        color=PREDICTION_COLOR,
        alpha=0.4,
        linewidth=3,
        label="correct class",
    )
    class_ax.plot(true, predicted, ".", color="tab:blue", label="test stimulus")
    class_ax.set_xlim(0, 360)
    _set_degree_ticks(class_ax.xaxis, 0, 360)
    class_ax.set_ylim(-0.5, n_classes - 0.5)
    class_ax.set_yticks(np.arange(n_classes))
    class_labels = [
        f"{_format_degrees(low)}-{_format_degrees(high)} deg"
        for low, high in zip(edges[:-1], edges[1:], strict=True)
    ]
    class_ax.set_yticklabels(class_labels, fontsize=max(6.0, min(11.0, 220 / n_classes)))
    class_ax.set_xlabel("true " + ORIENTATION_LABEL)
    class_ax.set_ylabel("decoded class (orientation bin)")
    class_ax.set_title(f"decoded class ({n_classes} classes)")
    class_ax.legend(loc="upper left")
    return fig


def _check_weight_shapes(W_in: np.ndarray, W_out: np.ndarray) -> None:
    if W_out.shape[1] != W_in.shape[0]:
        raise ValueError(
            f"W_out has shape {W_out.shape} but W_in_sorted has {W_in.shape[0]} hidden units; W_out must be "
            "outputs x hidden (net.out_layer.weight), W_in_sorted hidden x neurons (net.in_layer.weight)."
        )


def _draw_input_weights(ax: Axes, W_in: np.ndarray) -> None:
    limit = _symmetric_limit(W_in, percentile=99)
    image = ax.imshow(
        W_in, aspect="auto", cmap=WEIGHT_COLORMAP, vmin=-limit, vmax=limit, interpolation="nearest"
    )
    ax.figure.colorbar(image, ax=ax, label="weight")
    ax.set_xlabel("neuron (sorted by preferred orientation)")
    ax.set_ylabel("hidden unit")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # units are whole numbers
    ax.set_title("$W_{in}$")


def plot_weights(W_in_sorted, W_out) -> Figure:
    """Input and output weights of the decoding network.

    Args:
        W_in_sorted: (hidden x neurons) input weights, columns sorted by the neurons' preferred
            orientation.
        W_out: (outputs x hidden) output weights (``net.out_layer.weight``); drawn transposed so the
            hidden units line up with those of ``W_in_sorted``.

    Both use a blue-white-red map symmetric about 0: W_in limits are the 99th percentile of |W_in|
    (many small weights, a few large), W_out limits its maximum |W_out|.
    """
    W_in = _as_matrix(W_in_sorted, "W_in_sorted", "hidden x neurons")
    W_out_matrix = _as_matrix(W_out, "W_out", "outputs x hidden")
    _check_weight_shapes(W_in, W_out_matrix)
    fig, (in_ax, out_ax) = plt.subplots(
        1, 2, figsize=(11, 4.5), layout="constrained", gridspec_kw={"width_ratios": [3, 1]}
    )
    _draw_input_weights(in_ax, W_in)
    limit = _symmetric_limit(W_out_matrix)
    image = out_ax.imshow(
        W_out_matrix.T, aspect="auto", cmap=WEIGHT_COLORMAP, vmin=-limit, vmax=limit, interpolation="nearest"
    )
    fig.colorbar(image, ax=out_ax, label="weight")
    out_ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(W_out_matrix.shape[0], 6)))
    out_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    out_ax.set_xlabel("output unit")
    out_ax.set_ylabel("hidden unit")
    out_ax.set_title("$W_{out}$")
    return fig


def _cell_edges(sorted_centres: np.ndarray) -> np.ndarray:
    """Edges of cells centred on sorted values (half-way between neighbours, one step beyond the ends)."""
    if sorted_centres.size == 1:
        return np.array([sorted_centres[0] - 0.5, sorted_centres[0] + 0.5])
    middles = (sorted_centres[1:] + sorted_centres[:-1]) / 2
    first = sorted_centres[0] - (middles[0] - sorted_centres[0])
    last = sorted_centres[-1] + (sorted_centres[-1] - middles[-1])
    return np.concatenate([[first], middles, [last]])


def plot_hidden_units(W_in_sorted, hidden_activity, stimuli_deg) -> Figure:
    """Input weights and hidden-unit activity of the decoding network.

    Args:
        W_in_sorted: (hidden x neurons) input weights, columns sorted by preferred orientation.
        hidden_activity: (hidden x stimuli) activity h of each hidden unit for each stimulus.
        stimuli_deg: orientation of each stimulus in degrees, shape (stimuli,) or (stimuli, 1);
            need not be sorted.

    Panels: W_in; h as an image against stimulus orientation; h as tuning curves.
    """
    W_in = _as_matrix(W_in_sorted, "W_in_sorted", "hidden x neurons")
    activity = _as_matrix(hidden_activity, "hidden_activity", "hidden x stimuli")
    stimuli = _as_vector(stimuli_deg, "stimuli_deg")
    expected = (W_in.shape[0], stimuli.size)
    if activity.shape != expected:
        hint = " Pass hidden_activity.T." if activity.shape == expected[::-1] else ""
        raise ValueError(
            f"hidden_activity must be hidden x stimuli = {expected} (hidden units of W_in_sorted, "
            f"orientations in stimuli_deg), got {activity.shape}.{hint}"
        )
    order = np.argsort(stimuli, kind="stable")
    stimuli, activity = stimuli[order], activity[:, order]

    fig, (in_ax, image_ax, curve_ax) = plt.subplots(1, 3, figsize=(16, 4.5), layout="constrained")
    _draw_input_weights(in_ax, W_in)

    n_hidden = activity.shape[0]
    mesh = image_ax.pcolormesh(
        _cell_edges(stimuli), np.arange(n_hidden + 1) - 0.5, activity, cmap="viridis", shading="flat"
    )
    image_ax.set_ylim(n_hidden - 0.5, -0.5)  # hidden unit 0 at the top, as in the W_in panel
    fig.colorbar(mesh, ax=image_ax, label="activity (a.u.)")
    _set_degree_ticks(image_ax.xaxis, stimuli.min(), stimuli.max())
    image_ax.set_xlabel(ORIENTATION_LABEL)
    image_ax.set_ylabel("hidden unit")
    image_ax.set_title("hidden-unit activity $\\mathbf{h}$")

    curve_ax.plot(stimuli, activity.T, linewidth=1.5)
    _set_degree_ticks(curve_ax.xaxis, stimuli.min(), stimuli.max())
    curve_ax.set_xlabel(ORIENTATION_LABEL)
    curve_ax.set_ylabel("hidden-unit activity (a.u.)")
    curve_ax.set_title("$\\mathbf{h}$ tuning curves")
    return fig


def plot_conv_filters(weights, channels=None) -> Figure:
    """Convolutional filters side by side, on one shared colour scale.

    Args:
        weights: (channels x 1 x K x K) filter weights (``conv.weight``), or (channels x K x K).
        channels: which channels to draw: None (all), an int, or a sequence of ints.

    The colour scale is symmetric about 0 and shared by all panels (limit: the largest |weight|
    among the drawn channels), with one colorbar.
    """
    filters = _to_numpy(weights, "weights").astype(float)
    if filters.ndim == 4:
        if filters.shape[1] != 1:
            raise ValueError(
                f"weights has {filters.shape[1]} input channels (shape {filters.shape}); only filters on "
                "one-channel (greyscale) images can be drawn. Pass weights[:, [0]] for the first "
                "input channel."
            )
        filters = filters[:, 0]
    if filters.ndim != 3 or 0 in filters.shape:
        raise ValueError(
            f"weights must be (channels x 1 x K x K) or (channels x K x K), got shape {filters.shape}."
        )
    n_channels = filters.shape[0]
    if channels is None:
        selected = list(range(n_channels))
    else:
        selected = _index_list(channels, n_channels, "channels", "channels of weights")

    fig, axes = plt.subplots(
        1, len(selected), figsize=(2.2 * len(selected) + 1.2, 2.9), squeeze=False, layout="constrained"
    )
    axes = list(axes[0])
    limit = _symmetric_limit(filters[selected])
    for ax, channel in zip(axes, selected, strict=True):
        image = ax.imshow(
            filters[channel], cmap=WEIGHT_COLORMAP, vmin=-limit, vmax=limit, interpolation="nearest"
        )
        ax.set_title(f"channel {channel}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.colorbar(image, ax=axes, label="weight", shrink=0.9)
    fig.supxlabel("column (pixels)")
    fig.supylabel("row (pixels)")
    return fig


def _tuning_grid(stimuli_deg, curves, neuron_indices) -> Figure:
    """Grid with one panel per neuron; ``curves`` is a list of (label, matrix, color, linewidth)."""
    stimuli = _as_vector(stimuli_deg, "stimuli_deg")
    n_neurons = curves[0][1].shape[1]
    neurons = _index_list(neuron_indices, n_neurons, "neuron_indices", "neurons (columns) of the responses")
    order = np.argsort(stimuli, kind="stable")
    fig, axes = _grid_of_axes(len(neurons))
    for ax, neuron in zip(axes, neurons, strict=True):
        for label, matrix, color, linewidth in curves:
            ax.plot(stimuli[order], matrix[order, neuron], color=color, linewidth=linewidth, label=label)
        ax.set_title(f"neuron {neuron}")
        _set_degree_ticks(ax.xaxis, stimuli.min(), stimuli.max())
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(curves))
    fig.supxlabel(ORIENTATION_LABEL)
    fig.supylabel(RESPONSE_LABEL)
    return fig


def _response_matrices(stimuli_deg, named_matrices) -> list[np.ndarray]:
    stimuli = _as_vector(stimuli_deg, "stimuli_deg")
    matrices = []
    for name, values in named_matrices:
        matrix = _as_matrix(values, name, "stimuli x neurons")
        _check_stimulus_axis(stimuli, matrix, name)
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
        neuron_indices: columns to draw (an int or a sequence of ints); five panels per row.
    """
    train, test = _response_matrices(stimuli_deg, [("resp_train", resp_train), ("resp_test", resp_test)])
    curves = [("train", train, TRAIN_COLOR, 1.5), ("test", test, TEST_COLOR, 1.5)]
    return _tuning_grid(stimuli_deg, curves, neuron_indices)


def plot_predictions(stimuli_deg, predicted, resp_train, resp_test, neuron_indices) -> Figure:
    """Model predictions over train and test tuning curves, one small panel per neuron.

    Args:
        stimuli_deg: n stimulus orientations in degrees, shape (n,) or (n, 1).
        predicted: (stimuli x neurons) predicted responses (e.g. ``net(grating_stimuli)``).
        resp_train: (stimuli x neurons) responses of the training half.
        resp_test: (stimuli x neurons) responses of the test half.
        neuron_indices: columns to draw (an int or a sequence of ints); five panels per row.
    """
    prediction, train, test = _response_matrices(
        stimuli_deg, [("predicted", predicted), ("resp_train", resp_train), ("resp_test", resp_test)]
    )
    curves = [
        ("train", train, TRAIN_COLOR, 1.2),
        ("test", test, TEST_COLOR, 1.2),
        ("prediction", prediction, PREDICTION_COLOR, 2.5),
    ]
    return _tuning_grid(stimuli_deg, curves, neuron_indices)


def plot_fraction_explainable(fraction, ax=None) -> Figure:
    """Histogram over neurons of the fraction of explainable variance explained, median marked.

    Args:
        fraction: one value per neuron (e.g. ``metrics.fraction_explainable_variance_explained``),
            dimensionless. NaN values (neurons without a positive ceiling) are left out and counted
            in the title; values outside [-1, 2] (noisy ratios of tiny ceilings) are drawn in the
            edge bins and counted in the title. The median is over all finite values.
        ax: axes to draw into (a new figure if None).
    """
    values = _to_numpy(fraction, "fraction").astype(float).reshape(-1)
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
    fig, ax = _figure_and_axes(ax)
    ax.hist(shown, bins=bin_edges, color="tab:blue")
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
    ax.set_title("; ".join(notes), fontsize="medium")
    return fig


use_style()
