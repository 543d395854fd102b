"""Tests for helpers.plotting: every figure draws from its arguments alone, labels its axes, and
accepts numpy arrays and torch tensors (also ones that require grad)."""

import builtins
import dis
import importlib
import inspect
import io
import socket
import struct
import types
from importlib import resources

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

import helpers.plotting as plotting  # noqa: E402
from helpers import plot_base, plot_weights  # noqa: E402

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
        "preferred": rng.uniform(0, 360, size=N_NEURONS),
        "gratings": rng.uniform(-0.5, 0.5, size=(3, 1, 12, 16)),
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
    "plot_decoding_errors": lambda c, d: plotting.plot_decoding_errors(
        c(d["stimuli"]), {"raw": c(d["stimuli"] * 0 + 3), "circular": c(d["stimuli"] * 0 - 3)}
    ),
    "plot_decoded_classes": lambda c, d: plotting.plot_decoded_classes(
        c(d["loss"]), c(d["loss"]), c(d["stimuli_column"]), c(d["classes"]), 4
    ),
    "plot_weights": lambda c, d: plotting.plot_weights(c(d["W_in"]), c(d["W_out"]), c(d["preferred"])),
    "plot_hidden_units": lambda c, d: plotting.plot_hidden_units(
        c(d["W_in"]), c(d["hidden"]), c(d["stimuli"]), preferred_deg=c(d["preferred"])
    ),
    "plot_conv_filters": lambda c, d: plotting.plot_conv_filters(c(d["filters"])),
    "plot_gratings": lambda c, d: plotting.plot_gratings(c(d["gratings"]), c(d["stimuli"][:3])),
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
    public = {name for name in plotting.__all__ if name.startswith("plot_")}
    assert public == set(FIGURE_CALLS) == set(TEXT_SIZE_CALLS)
    for name in plotting.__all__:
        assert hasattr(plotting, name), f"plotting.__all__ lists {name} but plotting has no such name"


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


def _is_allowed_global(value, name: str) -> bool:
    """Modules, functions, classes and ALL_CAPS constants; never data such as ``n_classes``."""
    if isinstance(value, types.ModuleType) or callable(value):
        return True
    return name.isupper() and isinstance(value, str | int | float | tuple)


def _globals_reached(function) -> list[tuple[str, object]]:
    """(name, value) of every global that ``function`` and the course helpers it calls look up."""
    reached, seen, todo = [], set(), [function]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        namespace = current.__globals__
        for name in _global_names(current.__code__):
            if hasattr(builtins, name) and name not in namespace:
                continue
            assert name in namespace, f"{current.__name__} uses the undefined name {name}"
            value = namespace[name]
            reached.append((name, value))
            if inspect.isfunction(value) and value.__module__.startswith("helpers."):
                todo.append(value)  # follow the package's own helpers, and theirs, to the bottom
    return reached


@pytest.mark.parametrize("name", [*FIGURE_CALLS, "identity_line", "use_style", "weight_limit"])
def test_functions_read_no_global_data(name):
    # The seed tutorial's figures read notebook variables (stimuli_test, n_classes). A function here
    # may only look up modules, functions, classes and fixed constants outside its arguments.
    data_globals = sorted(
        {
            other
            for other, value in _globals_reached(getattr(plotting, name))
            if not _is_allowed_global(value, other)
        }
    )
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
    assert fig.axes[1].get_ylabel() == "normalised response\n(z-score)"


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
    assert list(ax.lines[1].get_xdata()) == [1, 3]  # iterations count from 1; the unmeasured one is skipped


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


# ----------------------------------------------------------------------------- numbers that line up


def test_loss_curve_counts_iterations_like_the_printout():
    """training.train prints "iteration 10: <loss>" for train_loss[9]; the curve puts it at x = 10."""
    losses = np.linspace(50.0, 5.0, 50)
    ax = plotting.plot_training_loss(losses).axes[0]
    x, y = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    assert x[0] == 1 and x[-1] == 50
    assert y[list(x).index(10)] == losses[9]
    assert ax.get_xlim() == (1, 50)


def test_filters_before_and_after_can_share_one_colour_scale():
    before = example_like_filters()
    after = 2 * before  # a two-fold growth must show as a two-fold change in colour
    limit = plotting.weight_limit(before, torch.tensor(after))
    assert limit == pytest.approx(np.abs(after).max())
    figures = [plotting.plot_conv_filters(w, vmax=limit) for w in (before, after)]
    for fig in figures:
        assert {ax.images[0].get_clim() for ax in fig.axes if ax.images} == {(-limit, limit)}
    with pytest.raises(ValueError, match="vmax must be a positive number"):
        plotting.plot_conv_filters(before, vmax=0)


def test_single_output_has_no_output_ticks_and_classifiers_say_output_class():
    data = _inputs()
    single = plotting.plot_weights(data["W_in"], data["W_out"][:1]).axes[1]
    assert list(single.get_xticks()) == [] and single.get_xlabel() == "output"
    classifier = plotting.plot_weights(data["W_in"], np.ones((20, N_HIDDEN))).axes[1]
    ticks = classifier.get_xticks()
    assert classifier.get_xlabel() == "output class"
    assert np.all(ticks == np.round(ticks))


def _tuned_weights(n_hidden=6, n_neurons=3000, seed=3):
    """W_in whose unit k weighs neurons preferring (60 k + 30) deg, and the neurons' preferences."""
    rng = np.random.default_rng(seed)
    preferred = rng.uniform(0, 360, n_neurons)
    favourite = rng.permutation(n_hidden) * 360 / n_hidden + 30
    distance = np.abs((preferred[None, :] - favourite[:, None] + 180) % 360 - 180)
    W_in = np.exp(-((distance / 15) ** 2)) + 0.05 * rng.normal(size=(n_hidden, n_neurons))
    return W_in, preferred, favourite


def test_sorted_weights_have_preferred_orientation_in_degrees_and_ordered_units():
    W_in, preferred, favourite = _tuned_weights()
    fig = plotting.plot_weights(W_in, np.ones((1, W_in.shape[0])), preferred_deg=preferred)
    in_ax = fig.axes[0]
    assert "preferred orientation" in in_ax.get_xlabel() and "(deg)" in in_ax.get_xlabel()
    assert in_ax.get_xlim() == (0, 360)
    shown_units = [int(label.get_text()) for label in in_ax.get_yticklabels()]
    assert [favourite[unit] for unit in shown_units] == sorted(favourite)  # top to bottom by orientation
    mesh = in_ax.collections[0].get_array().reshape(W_in.shape[0], -1)
    peak_deg = (mesh.argmax(axis=1) + 0.5) * 360 / mesh.shape[1]
    assert np.allclose(peak_deg, sorted(favourite), atol=5)
    with pytest.raises(ValueError, match="same order as the columns"):
        plotting.plot_weights(W_in, np.ones((1, W_in.shape[0])), preferred_deg=preferred[:10])


def test_hidden_units_are_ordered_by_the_orientation_they_respond_to_most_silent_last():
    stimuli = np.arange(0, 360, 6.0)
    peaks = np.array([200.0, 20.0, np.nan, 110.0])  # unit 2 hardly responds
    activity = np.array(
        [
            np.zeros_like(stimuli) if np.isnan(p) else np.exp(np.cos(np.deg2rad(stimuli - p))) - 1
            for p in peaks
        ]
    )
    activity = np.maximum(activity, 0)
    activity[2, 3] = 0.05 * activity.max()  # a near-silent unit's noise must not put it first
    W_in, preferred, _ = _tuned_weights(n_hidden=4)
    fig = plotting.plot_hidden_units(W_in, activity, stimuli, preferred_deg=preferred)
    for ax in fig.axes[:2]:
        assert [label.get_text() for label in ax.get_yticklabels()] == ["1", "3", "0", "2"]
    assert np.allclose(plot_weights.order_by_response(activity), [1, 3, 0, 2])


def test_decoding_errors_are_stacked_one_panel_each():
    stimuli = np.linspace(0, 350, 36)
    fig = plotting.plot_decoding_errors(stimuli, {"raw": stimuli * 0 + 5, "circular": stimuli * 0 - 5})
    first, second = fig.axes
    assert [first.get_title(), second.get_title()] == ["raw", "circular"]
    assert first.get_position().y0 > second.get_position().y1  # one above the other
    with pytest.raises(ValueError, match="non-empty dict"):
        plotting.plot_decoding_errors(stimuli, {})


def test_gratings_grid_titles_each_image_with_its_orientation():
    images = np.zeros((7, 1, 12, 16))
    fig = plotting.plot_gratings(images, np.arange(0, 210, 30))
    assert [ax.get_title() for ax in fig.axes] == [f"{deg} deg" for deg in range(0, 210, 30)]
    with pytest.raises(ValueError, match="one each"):
        plotting.plot_gratings(images, [0, 30])


# ----------------------------------------------------------------------------- legible on the page


def _realistic_inputs():
    """Inputs of the sizes the tutorials draw (fewer neurons: text size does not depend on them)."""
    rng = np.random.default_rng(RNG_SEED)
    stimuli_1deg, stimuli_6deg = np.arange(360.0), np.arange(0, 360, 6.0)
    W_in, preferred, _ = _tuned_weights(n_hidden=10, n_neurons=4000)
    W_in20, preferred20, _ = _tuned_weights(n_hidden=20, n_neurons=4000)
    return {
        "stimuli_1deg": stimuli_1deg,
        "stimuli_6deg": stimuli_6deg,
        "resp_1deg": rng.normal(size=(360, 300)),
        "resp_6deg": rng.normal(size=(60, 300)),
        "W_in": W_in,
        "preferred": preferred,
        "W_in20": W_in20,
        "preferred20": preferred20,
        "hidden": np.maximum(rng.normal(size=(10, 360)), 0),
        "test_deg": rng.uniform(0, 360, 144),
    }


# name -> list of (case, function of the realistic inputs): every figure as the tutorials draw it.
TEXT_SIZE_CALLS = {
    "plot_data_matrix": [("100 neurons", lambda d: plotting.plot_data_matrix(d["resp_1deg"][:, :100].T))],
    "plot_tuning_curves": [
        ("3 neurons", lambda d: plotting.plot_tuning_curves(d["stimuli_1deg"], d["resp_1deg"], [0, 1, 2]))
    ],
    "plot_training_loss": [
        ("50 iterations", lambda d: plotting.plot_training_loss(np.linspace(9e4, 150, 50))),
        (
            "200 with test",
            lambda d: plotting.plot_training_loss(
                np.ones(200), np.ones(200), ylabel="MSE + L2 and L1 penalties on readout"
            ),
        ),
    ],
    "plot_decoded_vs_true": [
        (
            "144 test",
            lambda d: plotting.plot_decoded_vs_true(
                d["test_deg"], d["test_deg"] + 30, title="test set, MSE = 1234.5 deg$^2$"
            ),
        )
    ],
    "plot_decoding_error": [
        ("one", lambda d: plotting.plot_decoding_error(d["test_deg"], d["test_deg"] * 0))
    ],
    "plot_decoding_errors": [
        (
            "two",
            lambda d: plotting.plot_decoding_errors(
                d["test_deg"],
                {
                    "raw difference (what the loss sees)": d["test_deg"] * 0,
                    "circular error": d["test_deg"] * 0,
                },
                sharey=True,
            ),
        )
    ],
    "plot_decoded_classes": [
        (
            f"{n} classes",
            lambda d, n=n: plotting.plot_decoded_classes(
                np.ones(1000),
                np.ones(1000),
                d["test_deg"],
                (d["test_deg"] // (360 / n)).astype(int),
                n,
                loss_label="NLL + L2 and L1 penalties on $W_{in}$",
            ),
        )
        for n in (4, 20, 36)
    ],
    "plot_weights": [
        ("recording order", lambda d: plotting.plot_weights(d["W_in"], np.ones((1, 10)))),
        (
            "sorted",
            lambda d: plotting.plot_weights(d["W_in"], np.ones((1, 10)), preferred_deg=d["preferred"]),
        ),
        (
            "classifier",
            lambda d: plotting.plot_weights(d["W_in20"], np.ones((20, 20)), preferred_deg=d["preferred20"]),
        ),
    ],
    "plot_hidden_units": [
        (
            "10 units",
            lambda d: plotting.plot_hidden_units(
                d["W_in"], d["hidden"], d["stimuli_1deg"], preferred_deg=d["preferred"]
            ),
        )
    ],
    "plot_conv_filters": [("6 filters", lambda d: plotting.plot_conv_filters(np.ones((6, 1, 7, 7))))],
    "plot_gratings": [
        ("7 gratings", lambda d: plotting.plot_gratings(np.zeros((7, 1, 12, 16)), np.arange(0, 210, 30)))
    ],
    "plot_train_test_tuning": [
        (
            "15 neurons",
            lambda d: plotting.plot_train_test_tuning(
                d["stimuli_6deg"], d["resp_6deg"], d["resp_6deg"], list(range(15))
            ),
        )
    ],
    "plot_predictions": [
        (
            "10 neurons",
            lambda d: plotting.plot_predictions(
                d["stimuli_6deg"], d["resp_6deg"], d["resp_6deg"], d["resp_6deg"], list(range(10))
            ),
        )
    ],
    "plot_fraction_explainable": [
        (
            "23589 neurons",
            lambda d: plotting.plot_fraction_explainable(
                np.r_[np.linspace(-3, 3, 23389), np.full(200, np.nan)]
            ),
        )
    ],
}


def png_width_px(fig: Figure) -> int:
    """Pixel width of the PNG the notebook's inline backend makes (figure dpi, tight bounding box)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight")
    header = buffer.getvalue()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">I", header[16:20])[0]


def on_screen_text_px(fig: Figure, column_px: float) -> dict[str, float]:
    """Height in CSS px of each visible text of the figure as the book page shows it.

    The page shows the PNG at min(its width, column_px); text of ``s`` points is s / 72 inch at
    ``fig.dpi`` pixels per inch in the PNG, scaled by displayed / PNG width.
    """
    width = png_width_px(fig)
    scale = min(width, column_px) / width
    return {
        f"{text.get_text()!r} ({type(text.axes).__name__ if text.axes else 'figure'})": (
            text.get_fontsize() * fig.dpi / 72 * scale
        )
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text().strip()
    }


CASES = [(name, case, call) for name, calls in TEXT_SIZE_CALLS.items() for case, call in calls]


@pytest.mark.parametrize(("name", "case", "call"), CASES, ids=[f"{n}-{c}" for n, c, _ in CASES])
def test_text_is_at_least_9_px_on_screen_at_1280_px(name, case, call):
    fig = call(_realistic_inputs())
    sizes = on_screen_text_px(fig, plot_base.BOOK_COLUMN_PX)
    assert len(sizes) >= 4, f"{name}: found only {sizes}; the measurement sees no tick labels"
    too_small = {text: round(px, 1) for text, px in sizes.items() if px < plot_base.MIN_TEXT_PX}
    assert not too_small, f"{name} ({case}): text under {plot_base.MIN_TEXT_PX} px on screen: {too_small}"
    assert png_width_px(fig) <= plot_base.BOOK_COLUMN_PX, f"{name} ({case}) is wider than the column"


def test_text_size_measurement_sees_a_figure_shrunk_by_the_page():
    fig, ax = plt.subplots(figsize=(20, 3), dpi=100)  # three times the column: shown at a third
    ax.set_title("title", fontsize=12)
    ax.set_xlabel("x")
    sizes = on_screen_text_px(fig, plot_base.BOOK_COLUMN_PX)
    width = png_width_px(fig)
    assert width > plot_base.BOOK_COLUMN_PX
    title = sizes["'title' (Axes)"]
    assert title == pytest.approx(12 * 100 / 72 * plot_base.BOOK_COLUMN_PX / width)
    assert title < plot_base.MIN_TEXT_PX
