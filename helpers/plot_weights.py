"""Figures of learned weights: the decoder's W_in and W_out, its hidden units, convolutional filters.

Reached from notebooks as ``plotting.<function>`` (see :mod:`helpers.plotting`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy.ndimage import gaussian_filter1d

from helpers import plot_base as base

PREFERENCE_BIN_DEG = 5
"""Width of the preferred-orientation bins whose neurons' weights are averaged in the W_in panel."""
HIDDEN_PANEL_HEIGHT_IN = 2.6
FILTER_PANEL_IN = 1.75


def _check_weight_shapes(W_in: np.ndarray, W_out: np.ndarray) -> None:
    if W_out.shape[1] != W_in.shape[0]:
        raise ValueError(
            f"W_out has shape {W_out.shape} but W_in_sorted has {W_in.shape[0]} hidden units; W_out must be "
            "outputs x hidden (net.out_layer.weight), W_in_sorted hidden x neurons (net.in_layer.weight)."
        )


def preference_profile(W_in: np.ndarray, preferred_deg: np.ndarray, bin_deg: float = PREFERENCE_BIN_DEG):
    """Mean input weight of the neurons in each preferred-orientation bin.

    Args:
        W_in: (hidden x neurons) weights.
        preferred_deg: (neurons,) preferred orientation of each column, degrees in [0, 360).
        bin_deg: bin width in degrees (360 / bin_deg bins from 0).

    Returns:
        (bin edges (n_bins + 1,) in degrees, (hidden x n_bins) mean weights; NaN for empty bins).
    """
    n_bins = int(round(360 / bin_deg))
    bins = np.clip((np.mod(preferred_deg, 360) / bin_deg).astype(int), 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    sums = np.stack([np.bincount(bins, weights=row, minlength=n_bins) for row in W_in])
    with np.errstate(invalid="ignore", divide="ignore"):
        profile = np.where(counts > 0, sums / counts, np.nan)
    return np.linspace(0, 360, n_bins + 1), profile


NEAR_SILENT_FRACTION = 0.1
"""Units whose largest weight (or activity) is under this fraction of the largest unit's are listed
last: they hardly learned, and where their noise peaks says nothing."""


def _order_by_peak(values: np.ndarray) -> np.ndarray:
    """Rows of (hidden x columns) ``values`` by the column of their maximum; near-silent rows last."""
    peak = values.argmax(axis=1).astype(float)
    largest = values.max(axis=1)
    peak[~(largest > NEAR_SILENT_FRACTION * max(largest.max(), 0.0))] = np.inf
    return np.argsort(peak, kind="stable")


def order_by_weighted_preference(profile: np.ndarray) -> np.ndarray:
    """Hidden units in the order of the preferred orientation they weigh most positively.

    A unit's drive ``W_in r`` peaks at gratings that excite the neurons it weighs most, so this is
    (up to the ReLU) the orientation it responds to most. ``profile`` is (hidden x bins) from
    :func:`preference_profile`; returns a permutation of the hidden units, near-silent ones last.
    """
    return _order_by_peak(gaussian_filter1d(np.nan_to_num(profile), 1.0, axis=1, mode="wrap"))


def order_by_response(activity: np.ndarray) -> np.ndarray:
    """Hidden units by the stimulus (column of ``activity``) they respond to most; near-silent last."""
    return _order_by_peak(activity)


def _label_hidden_rows(ax: Axes, order: np.ndarray, title: str, ordered_by: str | None) -> None:
    """Tick each row with its hidden unit's index; the title says how the rows are ordered."""
    ax.set_yticks(np.arange(order.size))
    ax.set_yticklabels([str(unit) for unit in order], fontsize=10 if order.size <= 12 else 7.5)
    ax.set_ylabel("hidden unit")
    ax.set_title(title + (f", units by {ordered_by}" if ordered_by else ""))


def draw_input_weights(ax: Axes, W_in: np.ndarray, preferred_deg=None, order=None, ordered_by=None) -> None:
    """W_in as an image: raw columns, or (with ``preferred_deg``) averaged in preference bins."""
    order = np.arange(W_in.shape[0]) if order is None else np.asarray(order)
    if preferred_deg is None:
        limit = base.symmetric_limit(W_in, percentile=99)
        image = ax.imshow(
            W_in[order],
            aspect="auto",
            cmap=base.WEIGHT_COLORMAP,
            vmin=-limit,
            vmax=limit,
            interpolation="nearest",
        )
        ax.set_xlabel("neuron (column of $W_{in}$)")
        colour_label = "weight"
    else:
        edges, profile = preference_profile(W_in, preferred_deg)
        limit = base.symmetric_limit(profile)
        image = ax.pcolormesh(
            edges,
            np.arange(order.size + 1) - 0.5,
            profile[order],
            cmap=base.WEIGHT_COLORMAP,
            vmin=-limit,
            vmax=limit,
        )
        ax.set_ylim(order.size - 0.5, -0.5)
        base.set_degree_ticks(ax.xaxis, 0, 360)
        ax.set_xlabel(base.PREFERRED_LABEL)
        colour_label = f"mean weight\n(per {PREFERENCE_BIN_DEG}-deg bin)"
    ax.figure.colorbar(image, ax=ax, label=colour_label)
    _label_hidden_rows(ax, order, "$W_{in}$", ordered_by)


def _draw_output_weights(ax: Axes, W_out: np.ndarray, order: np.ndarray) -> None:
    limit = base.symmetric_limit(W_out)
    n_outputs = W_out.shape[0]
    image = ax.imshow(
        W_out[:, order].T,
        aspect="auto",
        cmap=base.WEIGHT_COLORMAP,
        vmin=-limit,
        vmax=limit,
        interpolation="nearest",
    )
    ax.figure.colorbar(image, ax=ax, label="weight")
    if n_outputs == 1:  # one column: an x position means nothing
        ax.set_xticks([])
        ax.set_xlabel("output")
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(n_outputs, 4)))
        ax.set_xlabel("output class")
    ax.set_yticks(np.arange(order.size))
    ax.set_yticklabels([])
    ax.set_title("$W_{out}$")


def plot_weights(W_in_sorted, W_out, preferred_deg=None) -> Figure:
    """Input and output weights of the decoding network.

    Args:
        W_in_sorted: (hidden x neurons) input weights (``net.in_layer.weight``), columns in any order
            that matches ``preferred_deg``.
        W_out: (outputs x hidden) output weights (``net.out_layer.weight``); drawn transposed so the
            hidden units line up with those of W_in.
        preferred_deg: optional (neurons,) preferred orientation of each column of W_in, degrees.
            With it the x axis is preferred orientation: the weights of the neurons in each
            5-degree bin are averaged, and the hidden units are ordered by the orientation they
            weigh most (where their drive ``W_in r`` peaks); the tick labels keep the units' indices.
            Without it W_in is drawn column by column, hidden units in index order.

    Both use a blue-white-red map symmetric about 0 (W_in raw: 99th percentile of |W_in|, many small
    weights and a few large; binned or W_out: the largest |value|).
    """
    W_in = base.as_matrix(W_in_sorted, "W_in_sorted", "hidden x neurons")
    W_out_matrix = base.as_matrix(W_out, "W_out", "outputs x hidden")
    _check_weight_shapes(W_in, W_out_matrix)
    order, ordered_by, preferred = np.arange(W_in.shape[0]), "", None
    if preferred_deg is not None:
        preferred = base.as_vector(preferred_deg, "preferred_deg")
        if preferred.size != W_in.shape[1]:
            raise ValueError(
                f"preferred_deg has {preferred.size} values but W_in_sorted has {W_in.shape[1]} columns "
                "(neurons); pass the preferences in the same order as the columns, e.g. preferred[isort]."
            )
        order = order_by_weighted_preference(preference_profile(W_in, preferred)[1])
        ordered_by = "the orientation they weigh most"
    out_width = 1.0 if W_out_matrix.shape[0] == 1 else 1.7
    fig, (in_ax, out_ax) = plt.subplots(
        1,
        2,
        figsize=(base.COLUMN_WIDTH_IN, 3.8),
        layout="constrained",
        gridspec_kw={"width_ratios": [4, out_width]},
    )
    draw_input_weights(in_ax, W_in, preferred, order)
    _draw_output_weights(out_ax, W_out_matrix, order)
    if ordered_by:
        fig.suptitle(f"hidden units ordered by {ordered_by}", fontsize="medium")
    return fig


def _sorted_activity(hidden_activity, stimuli_deg, n_hidden: int):
    activity = base.as_matrix(hidden_activity, "hidden_activity", "hidden x stimuli")
    stimuli = base.as_vector(stimuli_deg, "stimuli_deg")
    expected = (n_hidden, stimuli.size)
    if activity.shape != expected:
        hint = " Pass hidden_activity.T." if activity.shape == expected[::-1] else ""
        raise ValueError(
            f"hidden_activity must be hidden x stimuli = {expected} (hidden units of W_in_sorted, "
            f"orientations in stimuli_deg), got {activity.shape}.{hint}"
        )
    by_orientation = np.argsort(stimuli, kind="stable")
    return stimuli[by_orientation], activity[:, by_orientation]


def plot_hidden_units(W_in_sorted, hidden_activity, stimuli_deg, preferred_deg=None) -> Figure:
    """Input weights and hidden-unit activity of the decoding network, three panels stacked.

    Args:
        W_in_sorted: (hidden x neurons) input weights, columns matching ``preferred_deg``.
        hidden_activity: (hidden x stimuli) activity h of each hidden unit for each stimulus.
        stimuli_deg: orientation of each stimulus in degrees, shape (stimuli,) or (stimuli, 1);
            need not be sorted.
        preferred_deg: optional (neurons,) preferred orientation of each column of W_in, degrees:
            the W_in panel then has preferred orientation on its x axis (see :func:`plot_weights`).

    Panels: W_in; h as an image against stimulus orientation; h as tuning curves. Hidden units are
    ordered by the orientation they respond to most (silent units last) in both images.
    """
    W_in = base.as_matrix(W_in_sorted, "W_in_sorted", "hidden x neurons")
    stimuli, activity = _sorted_activity(hidden_activity, stimuli_deg, W_in.shape[0])
    preferred = None if preferred_deg is None else base.as_vector(preferred_deg, "preferred_deg")
    if preferred is not None and preferred.size != W_in.shape[1]:
        raise ValueError(
            f"preferred_deg has {preferred.size} values but W_in_sorted has {W_in.shape[1]} columns."
        )
    order = order_by_response(activity)
    fig, (in_ax, image_ax, curve_ax) = base.stacked_axes(3, HIDDEN_PANEL_HEIGHT_IN)
    draw_input_weights(in_ax, W_in, preferred, order, "the orientation they respond to most")

    mesh = image_ax.pcolormesh(
        base.cell_edges(stimuli),
        np.arange(order.size + 1) - 0.5,
        activity[order],
        cmap="viridis",
        shading="flat",
    )
    image_ax.set_ylim(order.size - 0.5, -0.5)  # first unit at the top, as in the W_in panel
    fig.colorbar(mesh, ax=image_ax, label="activity (a.u.)")
    base.set_degree_ticks(image_ax.xaxis, stimuli.min(), stimuli.max())
    image_ax.set_xlabel(base.ORIENTATION_LABEL)
    _label_hidden_rows(
        image_ax, order, "hidden-unit activity $\\mathbf{h}$", "the orientation they respond to most"
    )

    curve_ax.plot(stimuli, activity.T, linewidth=1.5)
    base.set_degree_ticks(curve_ax.xaxis, stimuli.min(), stimuli.max())
    curve_ax.set_xlabel(base.ORIENTATION_LABEL)
    curve_ax.set_ylabel("hidden-unit\nactivity (a.u.)")
    curve_ax.set_title("$\\mathbf{h}$ tuning curves")
    return fig


def weight_limit(*weights) -> float:
    """Largest |weight| over all the given arrays or tensors: one colour scale for several figures."""
    if not weights:
        raise ValueError("weight_limit needs at least one array of weights.")
    return max(base.symmetric_limit(base.to_array(w, "weights").astype(float)) for w in weights)


def _filter_stack(weights) -> np.ndarray:
    filters = base.to_array(weights, "weights").astype(float)
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
    return filters


def plot_conv_filters(weights, channels=None, vmax=None) -> Figure:
    """Convolutional filters in a grid, on one shared colour scale.

    Args:
        weights: (channels x 1 x K x K) filter weights (``conv.weight``), or (channels x K x K).
        channels: which channels to draw: None (all), an int, or a sequence of ints.
        vmax: colour limit (the scale runs from -vmax to vmax); default the largest |weight| among
            the drawn channels. Pass the same value to two figures to compare them, e.g.
            ``plotting.weight_limit(before, after)``.
    """
    filters = _filter_stack(weights)
    selected = (
        list(range(filters.shape[0]))
        if channels is None
        else base.index_list(channels, filters.shape[0], "channels", "channels of weights")
    )
    if vmax is None:
        limit = base.symmetric_limit(filters[selected])
    elif not np.isfinite(vmax) or vmax <= 0:
        raise ValueError(f"vmax must be a positive number (the colour limit), got {vmax!r}.")
    else:
        limit = float(vmax)
    fig, axes = base.grid_of_axes(len(selected), FILTER_PANEL_IN, sharex=False, extra_height_in=0.5)
    n_columns = min(base.GRID_COLUMNS, len(selected))
    fig.set_figwidth(min(base.COLUMN_WIDTH_IN, FILTER_PANEL_IN * n_columns + 1.6))
    for ax, channel in zip(axes, selected, strict=True):
        image = ax.imshow(
            filters[channel], cmap=base.WEIGHT_COLORMAP, vmin=-limit, vmax=limit, interpolation="nearest"
        )
        ax.set_title(f"channel {channel}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.colorbar(image, ax=axes, label="weight", shrink=0.9)
    fig.supxlabel("column (pixels)")
    fig.supylabel("row (pixels)")
    return fig
