"""Shared pieces of the course's figures: page geometry, colours, input checks and axes helpers.

The figure functions themselves live in :mod:`helpers.plotting.decoding`, :mod:`helpers.plotting.weights`
and :mod:`helpers.plotting.responses`; notebooks reach all of them as ``plotting.<function>``.

Page geometry: a figure is shown at its pixel size (inches x ``FIGURE_DPI``) unless that is wider
than the book's content column, where the browser shrinks it to ``BOOK_COLUMN_PX``. Figures are
drawn at most ``COLUMN_WIDTH_IN`` wide so they are never shrunk on a desktop screen, and panels that
do not fit side by side are stacked.
"""

from __future__ import annotations

import math
from numbers import Integral

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers.metrics import to_array

BOOK_COLUMN_PX = 672
"""Width (CSS px) available to a cell's image in the book at a 1280 px wide window. Measured in
Chromium on a page built with the book's theme (sphinx-book-theme 1.3.0, pydata-sphinx-theme
0.17.1): the article is 752 px wide, less 2 x 32 px padding and the 16 px left padding myst-nb
gives cell outputs."""
FIGURE_DPI = 100
"""Dots per inch of the figures (``figure.dpi`` in module.mplstyle); the notebook's inline backend
saves PNGs at the figure's dpi, so one inch is 100 px on the page."""
COLUMN_WIDTH_IN = 6.5
"""Widest figure, in inches: 650 px, plus the 2 x 0.1 inch padding of the inline backend's tight
bounding box: at most 670 px, inside ``BOOK_COLUMN_PX``."""
MIN_TEXT_PX = 9
"""Smallest text on screen, in px, at 1280 px (tests/test_plotting.py measures every figure)."""

ORIENTATION_LABEL = "stimulus orientation (deg)"
PREFERRED_LABEL = "preferred orientation of the neuron (deg)"
RESPONSE_LABEL = "response (z-score)"
DEGREE_TICK_STEP = 90
WEIGHT_COLORMAP = "bwr"
TRAIN_COLOR = "tab:orange"
TEST_COLOR = "tab:purple"
PREDICTION_COLOR = "tab:green"
DATA_COLOR = "tab:blue"
REFERENCE_LINE_COLOR = "0.7"
GRID_COLUMNS = 3
"""Panels per row of the small-multiple grids (tuning curves, gratings, filters)."""


# ----------------------------------------------------------------------------- input handling


def as_vector(values, name: str) -> np.ndarray:
    """1-D float array from a vector of shape (n,) or a column of shape (n, 1)."""
    array = to_array(values, name).astype(float)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty vector (n,) or column (n, 1), got shape {array.shape}.")
    return array


def as_matrix(values, name: str, layout: str) -> np.ndarray:
    """2-D float array; ``layout`` (e.g. "stimuli x neurons") names the expected axes in the error."""
    array = to_array(values, name).astype(float)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"{name} must be a non-empty 2-D matrix ({layout}), got shape {array.shape}.")
    return array


def check_stimulus_axis(stimuli_deg: np.ndarray, matrix: np.ndarray, name: str) -> None:
    """Raise unless ``matrix`` has one row per stimulus (and say so if it looks transposed)."""
    if matrix.shape[0] != stimuli_deg.size:
        hint = (
            " Is it transposed? It must be stimuli x neurons." if matrix.shape[1] == stimuli_deg.size else ""
        )
        raise ValueError(
            f"{name} has {matrix.shape[0]} rows but stimuli_deg has {stimuli_deg.size} orientations; "
            f"rows must be stimuli.{hint}"
        )


def index_list(indices, n_available: int, name: str, what: str) -> list[int]:
    """Validated list of indices into ``n_available`` items (negative indices count from the end)."""
    if isinstance(indices, str):
        raise ValueError(f"{name} must be an int or a sequence of ints, got {indices!r}.")
    indices = [indices] if isinstance(indices, Integral) else indices
    array = to_array(indices, name).reshape(-1)
    if array.size == 0:
        raise ValueError(f"{name} is empty; pass at least one index.")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {array.dtype}.")
    outside = array[(array < -n_available) | (array >= n_available)]
    if outside.size:
        raise ValueError(f"{name} {outside.tolist()} are outside the {n_available} {what}.")
    return [int(index) % n_available for index in array]


# ----------------------------------------------------------------------------- axes


def figure_and_axes(ax, figsize=None) -> tuple[Figure, Axes]:
    """The given axes and its figure, or a new one-panel figure (``figsize`` in inches)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes (e.g. from plt.subplots()), got {type(ax).__name__}.")
    return ax.figure, ax


def stacked_axes(n_rows: int, row_height_in: float, **subplot_kw) -> tuple[Figure, list[Axes]]:
    """A column-wide figure of ``n_rows`` panels, one under the other."""
    fig, axes = plt.subplots(
        n_rows, 1, figsize=(COLUMN_WIDTH_IN, row_height_in * n_rows), layout="constrained", **subplot_kw
    )
    return fig, list(np.atleast_1d(axes))


def set_degree_ticks(
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


def symmetric_limit(values: np.ndarray, percentile: float = 100.0) -> float:
    """Colour limit L for a diverging map on [-L, L]: a percentile of |values| (1 if all zero)."""
    finite = np.abs(values[np.isfinite(values)])
    limit = float(np.percentile(finite, percentile)) if finite.size else 0.0
    return limit if limit > 0 else 1.0


def grid_of_axes(n_panels: int, panel_height_in: float = 2.0, sharex: bool = True, extra_height_in=0.8):
    """Column-wide grid of ``GRID_COLUMNS`` panels per row; returns (figure, list of n_panels axes)."""
    n_columns = min(GRID_COLUMNS, n_panels)
    n_rows = math.ceil(n_panels / n_columns)
    fig, axes = plt.subplots(
        n_rows,
        n_columns,
        figsize=(COLUMN_WIDTH_IN, panel_height_in * n_rows + extra_height_in),
        sharex=sharex,
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


def cell_edges(sorted_centres: np.ndarray) -> np.ndarray:
    """Edges of cells centred on sorted values (half-way between neighbours, one step beyond the ends)."""
    if sorted_centres.size == 1:
        return np.array([sorted_centres[0] - 0.5, sorted_centres[0] + 0.5])
    middles = (sorted_centres[1:] + sorted_centres[:-1]) / 2
    first = sorted_centres[0] - (middles[0] - sorted_centres[0])
    last = sorted_centres[-1] + (sorted_centres[-1] - middles[-1])
    return np.concatenate([[first], middles, [last]])


def format_degrees(value: float) -> str:
    """``"30"`` for whole degrees, ``"22.5"`` otherwise."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
