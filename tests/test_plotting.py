"""Tests for helpers.plotting: every figure draws from its arguments alone, labels its axes, and
accepts numpy arrays and torch tensors (also ones that require grad)."""

import builtins
import dis
import importlib
import inspect
import socket
import types
from importlib import resources

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import helpers.plotting as plotting  # noqa: E402

RNG_SEED = 0
N_STIMULI = 12
N_NEURONS = 8
N_HIDDEN = 5


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def as_numpy(array):
    return np.asarray(array)


def as_tensor(array):
    return torch.tensor(np.asarray(array))


def as_grad_tensor(array):
    tensor = torch.tensor(np.asarray(array))
    return tensor.float().requires_grad_() if tensor.is_floating_point() else tensor


CONVERTERS = {"numpy": as_numpy, "torch": as_tensor, "torch_requires_grad": as_grad_tensor}


def _inputs():
    rng = np.random.default_rng(RNG_SEED)
    stimuli = np.arange(N_STIMULI) * 360.0 / N_STIMULI
    return {
        "stimuli_column": stimuli[:, None],
        "stimuli": stimuli,
        "resp": rng.normal(size=(N_STIMULI, N_NEURONS)),
        "resp_test": rng.normal(size=(N_STIMULI, N_NEURONS)),
        "prediction": rng.normal(size=(N_STIMULI, N_NEURONS)),
        "loss": np.exp(-np.arange(30) / 10.0),
        "W_in": rng.normal(size=(N_HIDDEN, N_NEURONS)),
        "W_out": rng.normal(size=(3, N_HIDDEN)),
        "hidden": np.maximum(rng.normal(size=(N_HIDDEN, N_STIMULI)), 0),
        "classes": rng.integers(0, 4, size=N_STIMULI),
        "filters": rng.normal(size=(4, 1, 5, 5)),
        "fraction": rng.normal(0.5, 0.3, size=50),
    }


# name -> function of (converter, inputs) calling the plotting function
FIGURE_CALLS = {
    "plot_data_matrix": lambda c, d: plotting.plot_data_matrix(c(d["resp"].T)),
    "plot_tuning_curves": lambda c, d: plotting.plot_tuning_curves(
        c(d["stimuli_column"]), c(d["resp"]), [0, 3]
    ),
    "plot_training_loss": lambda c, d: plotting.plot_training_loss(c(d["loss"]), c(d["loss"] + 0.1)),
    "plot_decoded_vs_true": lambda c, d: plotting.plot_decoded_vs_true(
        c(d["stimuli_column"]), c(d["stimuli_column"] + 5), title="decoder"
    ),
    "plot_decoding_error": lambda c, d: plotting.plot_decoding_error(
        c(d["stimuli"]), c(d["stimuli"] * 0 + 3)
    ),
    "plot_decoded_classes": lambda c, d: plotting.plot_decoded_classes(
        c(d["loss"]), c(d["loss"]), c(d["stimuli_column"]), c(d["classes"]), 4
    ),
    "plot_weights": lambda c, d: plotting.plot_weights(c(d["W_in"]), c(d["W_out"])),
    "plot_hidden_units": lambda c, d: plotting.plot_hidden_units(
        c(d["W_in"]), c(d["hidden"]), c(d["stimuli"])
    ),
    "plot_conv_filters": lambda c, d: plotting.plot_conv_filters(c(d["filters"])),
    "plot_train_test_tuning": lambda c, d: plotting.plot_train_test_tuning(
        c(d["stimuli"]), c(d["resp"]), c(d["resp_test"]), [0, 1, 2, 3, 4, 5, 6]
    ),
    "plot_predictions": lambda c, d: plotting.plot_predictions(
        c(d["stimuli"]), c(d["prediction"]), c(d["resp"]), c(d["resp_test"]), [1, 2]
    ),
    "plot_fraction_explainable": lambda c, d: plotting.plot_fraction_explainable(c(d["fraction"])),
}


def assert_every_axis_labelled(fig: Figure) -> None:
    """Each data axes has x and y labels (its own or the figure's); each colorbar has a label."""
    figure_xlabel, figure_ylabel = fig.get_supxlabel(), fig.get_supylabel()
    assert fig.axes, "the figure has no axes"
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            assert ax.get_ylabel() or ax.get_xlabel(), "a colorbar has no label"
            continue
        assert ax.get_xlabel() or figure_xlabel, f"axes {ax.get_title()!r} has no x label"
        assert ax.get_ylabel() or figure_ylabel, f"axes {ax.get_title()!r} has no y label"


def test_every_public_plot_function_is_covered():
    public = {
        name
        for name, value in vars(plotting).items()
        if name.startswith("plot_") and inspect.isfunction(value) and value.__module__ == plotting.__name__
    }
    assert public == set(FIGURE_CALLS)


@pytest.mark.parametrize("converter", CONVERTERS.values(), ids=CONVERTERS.keys())
@pytest.mark.parametrize("name", FIGURE_CALLS)
def test_figure_runs_returns_a_figure_and_labels_every_axis(name, converter):
    fig = FIGURE_CALLS[name](converter, _inputs())
    assert isinstance(fig, Figure)
    assert_every_axis_labelled(fig)
    if converter is as_numpy:  # layout and rendering succeed too (slow, so once per figure)
        fig.canvas.draw()


def _global_names(code: types.CodeType) -> set[str]:
    names = {
        instruction.argval
        for instruction in dis.get_instructions(code)
        if instruction.opname == "LOAD_GLOBAL"
    }
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _global_names(constant)
    return names


def _is_allowed_global(name: str) -> bool:
    """Modules, functions, classes and ALL_CAPS constants; never data such as ``n_classes``."""
    if hasattr(builtins, name):
        return True
    value = vars(plotting)[name]
    if isinstance(value, types.ModuleType) or callable(value):
        return True
    return name.isupper() and isinstance(value, str | int | float | tuple)


@pytest.mark.parametrize("name", [*FIGURE_CALLS, "identity_line", "use_style"])
def test_functions_read_no_global_data(name):
    # The seed tutorial's figures read notebook variables (stimuli_test, n_classes). A function here
    # may only look up modules, functions, classes and fixed constants outside its arguments.
    used = _global_names(getattr(plotting, name).__code__)
    expanded = set()
    while private := {
        other for other in used - expanded if other.startswith("_") and other in vars(plotting)
    }:
        for helper in private:  # follow private helpers, and theirs, to the bottom
            used |= _global_names(vars(plotting)[helper].__code__)
        expanded |= private
    assert used <= set(vars(plotting)) | set(dir(builtins)), f"{name} uses undefined names"
    data_globals = sorted(other for other in used if not _is_allowed_global(other))
    assert not data_globals, f"{name} reads module-level data: {data_globals}"


def test_functions_work_when_called_from_a_fresh_namespace():
    namespace = {}
    exec(
        "import numpy as np\n"
        "from helpers import plotting\n"
        "fig = plotting.plot_decoded_classes(np.ones(5), None, [10.0, 200.0], [0, 2], 3)\n",
        namespace,
    )
    assert isinstance(namespace["fig"], Figure)


# ----------------------------------------------------------------------------- single-panel `ax`


SINGLE_PANEL = {
    "plot_data_matrix": lambda d, ax: plotting.plot_data_matrix(d["resp"].T, ax=ax),
    "plot_tuning_curves": lambda d, ax: plotting.plot_tuning_curves(d["stimuli"], d["resp"], 1, ax=ax),
    "plot_training_loss": lambda d, ax: plotting.plot_training_loss(d["loss"], ax=ax),
    "plot_decoded_vs_true": lambda d, ax: plotting.plot_decoded_vs_true(d["stimuli"], d["stimuli"], ax=ax),
    "plot_decoding_error": lambda d, ax: plotting.plot_decoding_error(d["stimuli"], d["stimuli"], ax=ax),
    "plot_fraction_explainable": lambda d, ax: plotting.plot_fraction_explainable(d["fraction"], ax=ax),
}


@pytest.mark.parametrize("name", SINGLE_PANEL)
def test_single_panel_functions_draw_into_the_given_axes(name):
    fig, (left, right) = plt.subplots(1, 2)
    n_figures = len(plt.get_fignums())
    returned = SINGLE_PANEL[name](_inputs(), right)
    assert returned is fig
    assert len(plt.get_fignums()) == n_figures
    assert right.has_data() and not left.has_data()


def test_single_panel_functions_reject_something_that_is_not_axes():
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plotting.plot_training_loss([1.0, 0.5], ax="left")


# ----------------------------------------------------------------------------- figure contents


def test_data_matrix_uses_robust_colour_limits_and_labelled_colorbar():
    values = np.arange(1000.0).reshape(10, 100)
    fig = plotting.plot_data_matrix(values)
    image = fig.axes[0].images[0]
    assert image.get_clim() == pytest.approx(tuple(np.percentile(values, [1, 99])))
    assert fig.axes[1].get_ylabel() == "normalised response (z-score)"


def test_data_matrix_rejects_a_vector():
    with pytest.raises(ValueError, match="2-D"):
        plotting.plot_data_matrix(np.zeros(5))


def test_tuning_curves_draw_one_labelled_line_per_neuron():
    data = _inputs()
    fig = plotting.plot_tuning_curves(data["stimuli"], data["resp"], [2, 5, 7])
    ax = fig.axes[0]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["neuron 2", "neuron 5", "neuron 7"]
    assert np.allclose(ax.lines[1].get_ydata(), data["resp"][:, 5])


def test_tuning_curves_point_out_a_transposed_matrix():
    data = _inputs()
    with pytest.raises(ValueError, match="transposed"):
        plotting.plot_tuning_curves(data["stimuli"], data["resp"].T[:, :N_STIMULI], [0])


def test_tuning_curves_reject_out_of_range_neurons():
    data = _inputs()
    with pytest.raises(ValueError, match=r"neuron_indices \[8\]"):
        plotting.plot_tuning_curves(data["stimuli"], data["resp"], [0, N_NEURONS])


def test_training_loss_starts_y_at_zero_and_has_a_legend():
    fig = plotting.plot_training_loss([3.0, 2.0, 1.5], [3.5, np.nan, 2.0], ylabel="negative log likelihood")
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == 0
    assert ax.get_ylabel() == "negative log likelihood"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["train", "test"]
    assert list(ax.lines[1].get_xdata()) == [0, 2]  # the unmeasured test point is skipped


def test_training_loss_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="one value per iteration"):
        plotting.plot_training_loss(np.ones(10), np.ones(3))


def test_decoded_vs_true_has_identity_line_and_ticks_every_90_degrees():
    true = np.linspace(0, 359, 40)
    fig = plotting.plot_decoded_vs_true(true, true + 10)
    ax = fig.axes[0]
    assert ax.get_xlim() == ax.get_ylim()
    identity = [line for line in ax.lines if list(line.get_xdata()) == list(line.get_ydata())]
    assert len(identity) == 1
    ticks = ax.get_xticks()
    assert np.all(np.diff(ticks) == 90) and np.all(ticks % 90 == 0)


def test_identity_line_is_behind_the_data_with_equal_limits():
    fig, ax = plt.subplots()
    points = ax.scatter([0, 1], [5, 8])
    line = plotting.identity_line(ax)
    assert ax.get_xlim() == ax.get_ylim()
    assert line.get_zorder() < points.get_zorder()
    low, high = ax.get_xlim()
    assert low <= 0 and high >= 8


@pytest.mark.parametrize("n_classes", [4, 9])
def test_decoded_classes_labels_come_from_the_n_classes_argument(n_classes):
    true = np.linspace(0, 350, 20)
    predicted = (true // (360 / n_classes)).astype(int)
    fig = plotting.plot_decoded_classes(np.ones(5), np.ones(5), true, torch.tensor(predicted), n_classes)
    class_ax = fig.axes[1]
    labels = [label.get_text() for label in class_ax.get_yticklabels()]
    assert len(labels) == n_classes
    assert labels[0] == f"0-{360 // n_classes} deg"
    vertical_edges = [line for line in class_ax.lines if len(set(line.get_xdata())) == 1]
    assert len(vertical_edges) == n_classes + 1


def test_decoded_classes_rejects_classes_outside_n_classes():
    with pytest.raises(ValueError, match="n_classes"):
        plotting.plot_decoded_classes(np.ones(3), None, [10.0, 20.0], [0, 7], 4)


def test_weights_colour_limits_are_symmetric_and_follow_the_data():
    data = _inputs()
    for scale in (1e-3, 10.0):
        fig = plotting.plot_weights(data["W_in"] * scale, data["W_out"] * scale)
        in_image, out_image = fig.axes[0].images[0], fig.axes[1].images[0]
        in_low, in_high = in_image.get_clim()
        assert in_low == -in_high
        assert in_high == pytest.approx(np.percentile(np.abs(data["W_in"] * scale), 99))
        out_limit = np.abs(data["W_out"]).max() * scale
        assert out_image.get_clim() == pytest.approx((-out_limit, out_limit))
        plt.close(fig)


def test_weights_reject_a_transposed_output_matrix():
    data = _inputs()
    with pytest.raises(ValueError, match="outputs x hidden"):
        plotting.plot_weights(data["W_in"], data["W_out"].T)


def test_hidden_units_orientation_axis_is_in_degrees_and_suggests_transpose():
    data = _inputs()
    fig = plotting.plot_hidden_units(data["W_in"], data["hidden"], data["stimuli"])
    image_ax = fig.axes[1]
    low, high = image_ax.get_xlim()
    assert low <= 0 and high >= 330
    with pytest.raises(ValueError, match=r"hidden_activity\.T"):
        plotting.plot_hidden_units(data["W_in"], data["hidden"].T, data["stimuli"])


@pytest.mark.parametrize("channels", [None, [1, 3], 2])
def test_conv_filters_share_one_symmetric_scale_and_one_colorbar(channels):
    filters = example_like_filters()
    fig = plotting.plot_conv_filters(filters, channels=channels)
    selected = [0, 1, 2, 3] if channels is None else ([channels] if isinstance(channels, int) else channels)
    image_axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    colorbars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(image_axes) == len(selected) and len(colorbars) == 1
    limit = np.abs(filters[selected]).max()
    for ax, channel in zip(image_axes, selected, strict=True):
        assert ax.images[0].get_clim() == pytest.approx((-limit, limit))
        assert ax.get_title() == f"channel {channel}"


def example_like_filters():
    rng = np.random.default_rng(1)
    return rng.normal(size=(4, 1, 5, 5)) * np.array([1, 2, 3, 4])[:, None, None, None]


def test_conv_filters_with_a_single_channel():
    fig = plotting.plot_conv_filters(torch.randn(1, 1, 7, 7, requires_grad=True))
    assert len(fig.axes) == 2  # the filter and its colorbar
    assert_every_axis_labelled(fig)


def test_conv_filters_reject_multichannel_input_and_bad_channels():
    with pytest.raises(ValueError, match="input channels"):
        plotting.plot_conv_filters(np.zeros((4, 3, 5, 5)))
    with pytest.raises(ValueError, match="channels"):
        plotting.plot_conv_filters(np.zeros((4, 1, 5, 5)), channels=[4])


def test_tuning_grids_have_one_panel_per_neuron_and_one_legend():
    data = _inputs()
    fig = plotting.plot_predictions(
        data["stimuli"], data["prediction"], data["resp"], data["resp_test"], range(7)
    )
    assert len(fig.axes) == 7  # unused grid cells removed
    assert [ax.get_title() for ax in fig.axes] == [f"neuron {index}" for index in range(7)]
    assert len(fig.legends) == 1
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["train", "test", "prediction"]
    assert all(ax.get_legend() is None for ax in fig.axes)
    assert np.allclose(fig.axes[3].lines[2].get_ydata(), data["prediction"][:, 3])


def test_tuning_grid_rejects_mismatched_matrices():
    data = _inputs()
    with pytest.raises(ValueError, match="resp_test"):
        plotting.plot_train_test_tuning(data["stimuli"], data["resp"], data["resp_test"][:, :3], [0])


def test_fraction_explainable_marks_the_median_and_reports_left_out_neurons():
    fraction = np.array([0.1, 0.2, 0.3, 0.9, 50.0, np.nan])
    fig = plotting.plot_fraction_explainable(fraction)
    ax = fig.axes[0]
    median_lines = [line for line in ax.lines if "median" in line.get_label()]
    assert len(median_lines) == 1 and median_lines[0].get_xdata()[0] == pytest.approx(0.3)
    assert "1 outside" in ax.get_title() and "1 without a positive ceiling" in ax.get_title()
    assert sum(patch.get_height() for patch in ax.patches) == 5


def test_fraction_explainable_with_no_finite_value_is_an_error():
    with pytest.raises(ValueError, match="no finite values"):
        plotting.plot_fraction_explainable([np.nan, np.nan])


# ----------------------------------------------------------------------------- style


def test_style_file_is_shipped_in_the_package():
    style = resources.files("helpers").joinpath("module.mplstyle")
    assert style.is_file()
    text = style.read_text()
    assert "http" not in text


def test_use_style_applies_the_shipped_style_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    plt.rcdefaults()
    assert plt.rcParams["axes.spines.top"] is True
    plotting.use_style()
    style = matplotlib.rc_params_from_file(
        str(resources.files("helpers").joinpath("module.mplstyle")), use_default_template=False
    )
    assert plt.rcParams["axes.spines.top"] is False and plt.rcParams["axes.spines.right"] is False
    assert plt.rcParams["font.size"] == style["font.size"] != matplotlib.rcParamsDefault["font.size"]
    assert list(plt.rcParams["figure.figsize"]) == list(style["figure.figsize"])


def test_importing_plotting_applies_the_style():
    plt.rcdefaults()
    importlib.reload(plotting)
    assert plt.rcParams["axes.spines.right"] is False
