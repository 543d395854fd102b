"""Tests for helpers.stimuli: shapes, values, orientation convention and the filter bank."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers.stimuli import example_filters, grating, grating_stack


def _mean_abs_change_along_rows(image: torch.Tensor) -> float:
    """Mean |difference| between vertically neighbouring pixels (change from row to row)."""
    return (image[1:, :] - image[:-1, :]).abs().mean().item()


def _mean_abs_change_along_columns(image: torch.Tensor) -> float:
    """Mean |difference| between horizontally neighbouring pixels (change from column to column)."""
    return (image[:, 1:] - image[:, :-1]).abs().mean().item()


@pytest.mark.parametrize(("resolution", "shape"), [(0.1, (48, 64)), (0.025, (12, 16)), (0.05, (24, 32))])
def test_grating_shape_dtype_and_values(resolution, shape):
    image = grating(30.0, resolution=resolution)
    assert isinstance(image, torch.Tensor)
    assert image.dtype == torch.float32
    assert tuple(image.shape) == shape
    assert set(torch.unique(image).tolist()) == {-0.5, 0.5}


def test_grating_at_0_degrees_has_vertical_stripes():
    image = grating(0.0)
    assert _mean_abs_change_along_rows(image) == 0.0
    assert _mean_abs_change_along_columns(image) > 0.0


def test_grating_at_90_degrees_has_horizontal_stripes():
    image = grating(90.0)
    assert _mean_abs_change_along_columns(image) == pytest.approx(0.0, abs=1e-6)
    assert _mean_abs_change_along_rows(image) > 0.0


def test_grating_at_45_degrees_is_constant_along_the_rising_diagonal():
    # Stripes turn clockwise from vertical, so at 45 degrees they run from bottom-left to top-right:
    # moving one row down and one column left stays on the same stripe (apart from boundary pixels).
    image = grating(45.0)
    along_stripe = (image[1:, :-1] - image[:-1, 1:]).abs().mean().item()
    across_stripe = (image[1:, 1:] - image[:-1, :-1]).abs().mean().item()
    assert along_stripe < 0.1 * across_stripe


@pytest.mark.parametrize("angle", [0.0, 17.0, 45.0, 100.0, -60.0])
def test_grating_180_degree_twin_is_the_same_image(angle):
    assert torch.equal(grating(angle), grating(angle + 180.0))


def test_different_orientations_give_different_images():
    assert not torch.equal(grating(0.0), grating(30.0))


def test_grating_pattern_does_not_depend_on_resolution():
    fine = grating(20.0, resolution=0.1)
    coarse = grating(20.0, resolution=0.05)
    # Pixel (r, c) of the coarse image sits at the same full-resolution position as pixel (2r, 2c).
    assert torch.equal(coarse, fine[::2, ::2])


def test_grating_patch_is_a_grey_surround_with_a_grating_circle_on_the_right():
    image = grating(0.0, patch=True)
    height, width = image.shape
    assert set(torch.unique(image).tolist()) == {-0.5, 0.0, 0.5}
    centre_row, centre_column = height // 2, int(width * 0.75)
    assert image[centre_row, centre_column - 2 : centre_column + 3].abs().min() == 0.5
    assert torch.all(image[:, : width // 2] == 0.0)  # left half is grey
    assert torch.all(image[0, :] == 0.0) and torch.all(image[-1, :] == 0.0)
    inside = image != 0
    radius = 640 / 6 * 0.1
    assert inside.sum().item() == pytest.approx(np.pi * radius**2, rel=0.1)


def test_grating_accepts_numpy_and_tensor_scalars():
    assert torch.equal(grating(np.float64(10.0)), grating(10.0))
    assert torch.equal(grating(torch.tensor([10.0])), grating(10.0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"angle_deg": float("nan")}, "angle_deg"),
        ({"angle_deg": "45"}, "angle_deg"),
        ({"angle_deg": np.array([1.0, 2.0])}, "grating_stack"),
        ({"angle_deg": 0.0, "spatial_freq": 0.0}, "spatial_freq"),
        ({"angle_deg": 0.0, "resolution": -0.1}, "resolution"),
        ({"angle_deg": 0.0, "resolution": 1e-4}, "at least one row"),
        ({"angle_deg": 0.0, "patch": "yes"}, "patch"),
    ],
)
def test_grating_rejects_bad_arguments_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        grating(**kwargs)


def test_grating_stack_matches_the_encoding_tutorial_stimuli():
    orientations = np.linspace(0, 360, 61)[:-1] - 180
    stack = grating_stack(orientations)
    assert tuple(stack.shape) == (60, 1, 12, 16)
    assert stack.dtype == torch.float32
    for index in (0, 17, 59):
        assert torch.equal(stack[index, 0], grating(orientations[index], resolution=0.025))


def test_grating_stack_accepts_a_column_tensor_and_another_resolution():
    column = torch.tensor([[0.0], [90.0]])
    stack = grating_stack(column, resolution=0.05)
    assert tuple(stack.shape) == (2, 1, 24, 32)
    assert torch.equal(stack[1, 0], grating(90.0, resolution=0.05))


@pytest.mark.parametrize("bad", [[], np.zeros((2, 3)), [0.0, float("inf")]])
def test_grating_stack_rejects_bad_orientations(bad):
    with pytest.raises(ValueError, match="orientations_deg"):
        grating_stack(bad)


@pytest.mark.parametrize(("n_channels", "kernel_size"), [(6, 7), (3, 5), (10, 9)])
def test_example_filters_shape_zero_mean_and_normalisation(n_channels, kernel_size):
    filters = example_filters(n_channels=n_channels, kernel_size=kernel_size)
    assert tuple(filters.shape) == (n_channels, 1, kernel_size, kernel_size)
    assert filters.dtype == torch.float32
    assert torch.allclose(filters.mean(dim=(1, 2, 3)), torch.zeros(n_channels), atol=1e-6)
    # The second filter is the negative of the first (centre-surround and surround-centre).
    assert torch.allclose(filters[1], -filters[0])
    # Gabors are odd functions, so they have zero mean before the mean is subtracted and their
    # largest absolute value is exactly the 1 they were scaled to.
    gabor_peaks = filters[2:].abs().amax(dim=(1, 2, 3))
    assert torch.allclose(gabor_peaks, torch.ones(n_channels - 2), atol=1e-6)
    # Centre-surround: scaled to max |1| and then shifted by its mean, so its range (max - min) is
    # that of a filter with peak 1 and all values of one sign or the other: between 1 and 2.
    span = (filters[0].max() - filters[0].min()).item()
    assert 1.0 <= span <= 2.0
    assert filters[0, 0, kernel_size // 2, kernel_size // 2] == filters[0].max()  # bright centre


def test_gabor_orientations_follow_the_grating_convention():
    filters = example_filters(n_channels=6, kernel_size=7)[:, 0]
    gabor_0_deg, gabor_90_deg = filters[2], filters[4]
    # 0 degrees: vertical stripes, odd phase -> antisymmetric left/right, symmetric top/bottom.
    assert torch.allclose(gabor_0_deg.flip(1), -gabor_0_deg, atol=1e-6)
    assert torch.allclose(gabor_0_deg.flip(0), gabor_0_deg, atol=1e-6)
    # 90 degrees: horizontal stripes -> the other way round.
    assert torch.allclose(gabor_90_deg.flip(0), -gabor_90_deg, atol=1e-6)
    assert torch.allclose(gabor_90_deg.flip(1), gabor_90_deg, atol=1e-6)


def test_each_gabor_responds_most_to_the_grating_of_its_own_orientation():
    n_gabors = 4
    gabors = example_filters(n_channels=n_gabors + 2, kernel_size=7)[2:]
    orientations = np.arange(n_gabors) * 180 / n_gabors
    images = grating_stack(orientations, resolution=0.1)
    energy = F.conv2d(images, gabors).pow(2).mean(dim=(2, 3))  # images x gabors
    assert torch.equal(energy.argmax(dim=0), torch.arange(n_gabors))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_channels": 2}, "n_channels must be an integer >= 3"),
        ({"n_channels": 6.0}, "n_channels"),
        ({"kernel_size": 6}, "odd"),
        ({"kernel_size": 1}, "kernel_size"),
    ],
)
def test_example_filters_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        example_filters(**kwargs)
