"""Stimulus images and an example convolutional filter bank.

Conventions used throughout:

* Images are (height x width) = (rows x columns) arrays; row 0 is the top of the image, as
  ``matplotlib.pyplot.imshow`` draws it.
* Orientations are in **degrees**. A grating at 0 degrees has vertical stripes (its intensity
  changes from column to column); increasing the angle turns the stripes clockwise on screen,
  so at 90 degrees they are horizontal (intensity changes from row to row). Angles that differ
  by 180 degrees give the same image.
* Grating pixel values are -0.5 (dark) and +0.5 (bright); 0 is the grey background.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import torch

FULL_WIDTH_PX = 640
"""Width of a grating image at ``resolution=1``, in pixels."""
FULL_HEIGHT_PX = 480
"""Height of a grating image at ``resolution=1``, in pixels."""

PATCH_PHASE_SHIFT_RAD = 0.1
"""Extra angle (radians) added to the carrier direction of patch gratings, as in the original
tutorial, so that the stripes sit more evenly inside the circular patch."""
PATCH_CENTRE_FRACTION = (0.5, 0.75)
"""Centre of the circular patch as fractions of (height, width): vertically centred, on the right."""
PATCH_DIAMETER_FRACTION = 1 / 3
"""Diameter of the circular patch as a fraction of the image width."""


def _check_positive_number(value, name: str, fix: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}. {fix}")
    return float(value)


def _image_shape(resolution: float) -> tuple[int, int]:
    height = round(FULL_HEIGHT_PX * resolution)
    width = round(FULL_WIDTH_PX * resolution)
    if height < 1 or width < 1:
        raise ValueError(
            f"resolution={resolution!r} gives an image of {height} x {width} pixels. "
            f"Use resolution >= {1 / FULL_HEIGHT_PX:.4f} so the image has at least one row "
            "(resolution=1 is 480 x 640 pixels, 0.025 is 12 x 16)."
        )
    return height, width


def grating(
    angle_deg: float,
    spatial_freq: float = 1 / 28,
    resolution: float = 0.1,
    patch: bool = False,
) -> torch.Tensor:
    """Square-wave grating image at a given orientation.

    Args:
        angle_deg: orientation of the stripes in **degrees**, measured clockwise from vertical
            (0 = vertical stripes, 90 = horizontal stripes). Any real number; ``angle_deg`` and
            ``angle_deg + 180`` give the same image.
        spatial_freq: phase advance of the carrier in **radians per pixel of the full-resolution
            (480 x 640) image**, so one light-dark cycle spans ``2 * pi / spatial_freq`` full-resolution
            pixels (about 176 for the default 1/28). The pattern is drawn in full-resolution
            coordinates, so changing ``resolution`` changes only the number of pixels, not the pattern.
        resolution: scale of the image relative to 480 x 640 pixels. The image has
            ``round(480 * resolution)`` rows and ``round(640 * resolution)`` columns
            (0.1 -> 48 x 64, 0.025 -> 12 x 16).
        patch: if True, the grating fills only a circular patch on the right side of the image
            (centre at 3/4 of the width and half the height, diameter 1/3 of the width) and the rest
            is grey (0). As in the original tutorial, the carrier direction of a patch grating is
            turned by an extra 0.1 radians (about 5.7 degrees).

    Returns:
        float32 tensor of shape (round(480 * resolution), round(640 * resolution)) with values
        -0.5 and +0.5 (and 0 outside the patch when ``patch=True``).

    Raises:
        ValueError: if an argument is not a finite number of the right sign, or the resolution is so
            small that the image would have no pixels.
    """
    if isinstance(angle_deg, torch.Tensor):
        angle_deg = angle_deg.detach().cpu().numpy()
    if isinstance(angle_deg, np.ndarray | np.generic):
        if angle_deg.size != 1:
            raise ValueError(
                f"angle_deg must be a single angle, got an array of shape {angle_deg.shape}. "
                "Use grating_stack(orientations_deg) for several orientations."
            )
        angle_deg = float(angle_deg.reshape(-1)[0])
    if isinstance(angle_deg, bool) or not isinstance(angle_deg, Real) or not math.isfinite(angle_deg):
        raise ValueError(f"angle_deg must be a finite number of degrees, got {angle_deg!r}.")
    spatial_freq = _check_positive_number(
        spatial_freq, "spatial_freq", "It is in radians per full-resolution pixel; the default is 1/28."
    )
    resolution = _check_positive_number(
        resolution, "resolution", "1 gives 480 x 640 pixels, 0.1 gives 48 x 64, 0.025 gives 12 x 16."
    )
    if not isinstance(patch, bool | np.bool_):
        raise ValueError(f"patch must be True or False, got {patch!r}.")

    height, width = _image_shape(resolution)
    # Pixel centres expressed in full-resolution pixel units, so the pattern does not depend on resolution.
    column_coord = np.arange(width) / resolution
    row_coord = np.arange(height) / resolution
    columns, rows = np.meshgrid(column_coord, row_coord)  # both (height, width)

    direction_rad = np.deg2rad(angle_deg)
    if patch:
        direction_rad += PATCH_PHASE_SHIFT_RAD
    phase = spatial_freq * (columns * np.cos(direction_rad) + rows * np.sin(direction_rad))
    image = np.where(np.cos(phase) > 0, 0.5, -0.5)

    if patch:
        centre_row = height * PATCH_CENTRE_FRACTION[0]
        centre_column = width * PATCH_CENTRE_FRACTION[1]
        pixel_rows, pixel_columns = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
        distance = np.hypot(pixel_rows - centre_row, pixel_columns - centre_column)
        radius = FULL_WIDTH_PX * PATCH_DIAMETER_FRACTION / 2 * resolution
        image = np.where(distance < radius, image, 0.0)

    return torch.tensor(image, dtype=torch.float32)


def grating_stack(orientations_deg, resolution: float = 0.025) -> torch.Tensor:
    """Full-field gratings at several orientations, stacked as a batch of one-channel images.

    This is the stimulus set of the encoding model: with the tutorial's 60 orientations
    ``np.linspace(0, 360, 61)[:-1] - 180`` and the default resolution it returns (60, 1, 12, 16).

    Args:
        orientations_deg: n orientations in **degrees** (see :func:`grating` for the convention);
            a 1-D sequence, numpy array or tensor of shape (n,), or a column of shape (n, 1).
        resolution: image scale, see :func:`grating`; 0.025 gives 12 x 16 pixel images.

    Returns:
        float32 tensor of shape (n, 1, round(480 * resolution), round(640 * resolution))
        (stimuli x channels x height x width), values -0.5 and +0.5.

    Raises:
        ValueError: if ``orientations_deg`` is empty, not 1-D (or an n x 1 column), or not finite.
    """
    if isinstance(orientations_deg, torch.Tensor):
        orientations_deg = orientations_deg.detach().cpu().numpy()
    orientations = np.asarray(orientations_deg, dtype=float)
    if orientations.ndim == 2 and orientations.shape[1] == 1:
        orientations = orientations[:, 0]
    if orientations.ndim != 1 or orientations.size == 0:
        raise ValueError(
            f"orientations_deg must be a non-empty 1-D array (or an n x 1 column) of degrees, "
            f"got shape {orientations.shape}. Example: np.linspace(0, 360, 61)[:-1] - 180."
        )
    if not np.all(np.isfinite(orientations)):
        raise ValueError("orientations_deg contains NaN or infinite values; pass finite angles in degrees.")
    images = [grating(float(angle), resolution=resolution) for angle in orientations]
    return torch.stack(images).unsqueeze(1)


def example_filters(n_channels: int = 6, kernel_size: int = 7) -> torch.Tensor:
    """Example convolutional filter bank: centre-surround filters and Gabors.

    Channel 0 is a centre-surround filter (a narrow bump minus half a wide bump), channel 1 is
    its negative (surround-centre), and channels 2 .. n_channels-1 are Gabor filters (odd phase,
    wavelength 10 pixels) at orientations ``k * 180 / (n_channels - 2)`` degrees for
    k = 0 .. n_channels-3, with the same orientation convention as :func:`grating`: the Gabor at
    theta degrees has its stripes parallel to those of ``grating(theta)``. Each filter is first
    scaled so its largest absolute value is 1 and then has its mean subtracted (so it is
    zero-mean, and its largest absolute value is close to but not exactly 1).

    Args:
        n_channels: number of filters (output channels), at least 3 (two centre-surround filters
            plus at least one Gabor).
        kernel_size: K, the filter width and height in pixels; odd and at least 3, so that a
            convolution with ``padding=kernel_size // 2`` keeps the image size.

    Returns:
        float32 tensor of shape (n_channels, 1, K, K) (output channels x input channels x
        height x width), ready for ``nn.Conv2d(1, n_channels, K).weight``.

    Raises:
        ValueError: if ``n_channels < 3`` or ``kernel_size`` is not an odd integer >= 3.
    """
    if isinstance(n_channels, bool) or not isinstance(n_channels, int | np.integer) or n_channels < 3:
        raise ValueError(
            f"n_channels must be an integer >= 3, got {n_channels!r}: the bank always holds a "
            "centre-surround filter and its negative, plus n_channels - 2 >= 1 Gabor filters."
        )
    if (
        isinstance(kernel_size, bool)
        or not isinstance(kernel_size, int | np.integer)
        or kernel_size < 3
        or kernel_size % 2 == 0
    ):
        raise ValueError(
            f"kernel_size must be an odd integer >= 3, got {kernel_size!r}: an odd size has a centre "
            "pixel and keeps the image size with padding=kernel_size // 2 (the tutorial uses 7)."
        )

    half_width = kernel_size / 2
    grid = np.linspace(-half_width, half_width, kernel_size)
    rows, columns = np.meshgrid(grid, grid, indexing="ij")
    distance = np.hypot(rows, columns)

    # Exponential fall-off with distance (not squared distance), as in the original tutorial.
    sigma = 1.1
    narrow_bump = np.exp(-distance / (2 * sigma**2))
    wide_bump = np.exp(-distance / (2 * (2 * sigma) ** 2))
    centre_surround = narrow_bump - 0.5 * wide_bump

    n_gabors = n_channels - 2
    gabor_orientations_rad = np.deg2rad(np.arange(n_gabors) * 180 / n_gabors)
    wavelength_px = 10
    phase_rad = np.pi / 2
    gabor_envelope = np.exp(-distance / (2 * (0.4 * sigma) ** 2))
    gabors = [
        gabor_envelope
        * np.cos(2 * np.pi * (columns * np.cos(theta) + rows * np.sin(theta)) / wavelength_px + phase_rad)
        for theta in gabor_orientations_rad
    ]

    bank = np.stack([centre_surround, -centre_surround, *gabors])
    bank = bank / np.abs(bank).max(axis=(1, 2), keepdims=True)
    bank = bank - bank.mean(axis=(1, 2), keepdims=True)
    return torch.tensor(bank, dtype=torch.float32).unsqueeze(1)
