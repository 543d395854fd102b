"""Wall time of each solution notebook, run end to end, and of all of them together.

Usage: python benchmarks/bench_notebooks.py [NOTEBOOK ...]   (default: solutions/*.ipynb)

Runs each notebook in a fresh kernel, as CI's nbmake does, with the stand-in data
(NMA_DECODING_DATA=synthetic unless set) and progress bars off, and prints one line per notebook.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run_notebook(path: Path) -> float:
    """Execute one notebook in a fresh python3 kernel; return its wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    os.environ.setdefault("NMA_DECODING_DATA", "synthetic")
    os.environ["NMA_DECODING_PROGRESS"] = "0"
    os.environ["MPLBACKEND"] = "Agg"
    paths = [Path(p) for p in argv] or sorted((ROOT / "solutions").glob("*.ipynb"))
    total = 0.0
    for path in paths:
        seconds = run_notebook(path)
        total += seconds
        print(f"{path.name:<28} {seconds:7.1f} s")
    source = os.environ["NMA_DECODING_DATA"]
    print(f"{'all notebooks':<28} {total:7.1f} s  (data: {source}, {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
