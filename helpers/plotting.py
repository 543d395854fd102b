"""Figures of the course module: one function per figure.

Every function draws only what it is given (it reads no notebook variables), accepts numpy
arrays, torch tensors (also ones that require grad or live on a GPU) or plain sequences, and
returns the matplotlib ``Figure``. Functions that draw a single panel take an optional ``ax`` to
draw into; without it they make a new figure.

In a notebook, write ``fig = plotting.plot_...(...)`` or end the line with ``;``: a bare call as
the last line of a cell would show the figure twice (once by the inline backend, once as the
returned value).

Conventions: response matrices are (stimuli x neurons) unless a function says otherwise;
orientations are in degrees; loss curves count iterations from 1.

Figures fit the book's content column (``BOOK_COLUMN_PX``, at most ``COLUMN_WIDTH_IN`` inches at
``FIGURE_DPI``), so the page never shrinks them at desktop width; panels that do not fit side by
side are stacked. Where each figure lives:

- :mod:`helpers.plot_decoding`: loss curves, decoded against true, decoding errors, classes;
- :mod:`helpers.plot_weights`: W_in / W_out, hidden units, convolutional filters;
- :mod:`helpers.plot_responses`: data matrix, tuning curves, predictions, gratings, explainable variance;
- :mod:`helpers.plot_base`: page geometry, colours and the checks shared by all of them.

Importing this module applies the module's matplotlib style (see :func:`use_style`).
"""

from __future__ import annotations

from importlib import resources

import matplotlib.pyplot as plt

from helpers.plot_base import BOOK_COLUMN_PX, COLUMN_WIDTH_IN, FIGURE_DPI, MIN_TEXT_PX
from helpers.plot_decoding import (
    identity_line,
    plot_decoded_classes,
    plot_decoded_vs_true,
    plot_decoding_error,
    plot_decoding_errors,
    plot_training_loss,
)
from helpers.plot_responses import (
    plot_data_matrix,
    plot_fraction_explainable,
    plot_gratings,
    plot_predictions,
    plot_train_test_tuning,
    plot_tuning_curves,
)
from helpers.plot_weights import plot_conv_filters, plot_hidden_units, plot_weights, weight_limit

__all__ = [
    "BOOK_COLUMN_PX",
    "COLUMN_WIDTH_IN",
    "FIGURE_DPI",
    "MIN_TEXT_PX",
    "identity_line",
    "plot_conv_filters",
    "plot_data_matrix",
    "plot_decoded_classes",
    "plot_decoded_vs_true",
    "plot_decoding_error",
    "plot_decoding_errors",
    "plot_fraction_explainable",
    "plot_gratings",
    "plot_hidden_units",
    "plot_predictions",
    "plot_train_test_tuning",
    "plot_training_loss",
    "plot_tuning_curves",
    "plot_weights",
    "use_style",
    "weight_limit",
]

STYLE_FILE_NAME = "module.mplstyle"


def use_style() -> None:
    """Apply the module's matplotlib style (``helpers/module.mplstyle``, shipped in the package).

    Readable font sizes, no top/right spines, a column-wide default figure at 100 dpi. Read from
    the installed package, so it works offline. Called automatically on import of this module;
    call it again after ``plt.rcdefaults()`` or another style to get it back.
    """
    style = resources.files("helpers").joinpath(STYLE_FILE_NAME)
    with resources.as_file(style) as style_path:
        plt.style.use(str(style_path))


use_style()
