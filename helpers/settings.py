"""Names the whole module agrees on, defined once: environment variables and the data files.

Every other module imports these names instead of spelling the strings itself, so a variable or a
file is renamed in one place.

Environment variables (all optional):

- ``NMA_DECODING_DATA``: ``auto`` (the real files, else the stand-in with a notice), ``osf`` (the
  real files only) or ``synthetic`` (the stand-in only). An explicit ``source=`` argument wins.
- ``NMA_DECODING_CACHE``: folder for downloaded and generated data files.
- ``NMA_DECODING_URL_BASE``: fetch the real files from ``<base>/<file name>`` (a mirror, or the
  tests' loopback server).
- ``NMA_DECODING_PROGRESS``: ``0`` switches progress bars off (training and downloads).
- ``NMA_DECODING_QUICK``: a whole number N caps every training run (``helpers.training``) at N
  iterations, so a grader that executes whole notebooks finishes in seconds. Only for tests: the
  networks come out untrained and the figures say nothing.
"""

from __future__ import annotations

import os

__all__ = [
    "ENV_SOURCE",
    "ENV_CACHE",
    "ENV_URL_BASE",
    "ENV_PROGRESS",
    "ENV_QUICK",
    "SOURCES",
    "BINNED_FILE",
    "SPLIT_FILE",
    "FILE_NAMES",
    "N_NEURONS",
    "progress_enabled",
]

ENV_SOURCE = "NMA_DECODING_DATA"
ENV_CACHE = "NMA_DECODING_CACHE"
ENV_URL_BASE = "NMA_DECODING_URL_BASE"
ENV_PROGRESS = "NMA_DECODING_PROGRESS"
ENV_QUICK = "NMA_DECODING_QUICK"

#: Valid values of the loaders' ``source`` argument and of ``NMA_DECODING_DATA``.
SOURCES = ("auto", "osf", "synthetic")

#: Responses averaged in 1-degree orientation bins: ``resp`` (360 x 23589), ``stimuli`` (360).
BINNED_FILE = "W3D4_stringer_oribinned1.npz"
#: Trials split in two halves, each averaged in 6-degree bins: ``resp_train``, ``resp_test``
#: (60 x 23589), ``stimuli`` (60).
SPLIT_FILE = "W3D4_stringer_oribinned6_split.npz"
FILE_NAMES = (BINNED_FILE, SPLIT_FILE)

#: Neurons in the recording (and in the stand-in).
N_NEURONS = 23589


def progress_enabled() -> bool:
    """Whether progress bars are shown: on unless ``NMA_DECODING_PROGRESS`` is ``0``."""
    return os.environ.get(ENV_PROGRESS, "1").strip() != "0"
