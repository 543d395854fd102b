"""Cost of the synthetic stand-in: generating both files, and reading them back from the cache.

Usage: python benchmarks/bench_standin.py [--repeat N]

Targets (data spec): both files generated in under 10 s and under 1.5 GB of memory on a 2-core
machine; after that, read from the cache in under 1 s.

* ``generate()`` runs in a fresh Python process each time (so imports and memory are counted as a
  student's first run would see them); its wall time, CPU time and peak resident memory (the
  child's ``ru_maxrss``, also read back as ``RUSAGE_CHILDREN`` here) are printed.
* If :mod:`helpers.data` is there, both files are fetched with ``source="synthetic"`` into a fresh
  temporary cache folder (``NMA_DECODING_CACHE``), then the time to ``np.load`` both (every array
  read into memory) and the time of a second ``data.fetch`` of both (cache hit, with its checks)
  are printed.

The machine's load average is printed too: on a shared machine wall times grow with it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, time
start = time.perf_counter()
cpu = time.process_time()
from helpers.data import synthetic
imported = time.perf_counter()
files = synthetic.generate()
done = time.perf_counter()
print(json.dumps({
    "import_s": imported - start,
    "generate_s": done - imported,
    "cpu_s": time.process_time() - cpu,
    "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "version": synthetic.GENERATOR_VERSION,
}))
"""


def run_generate_in_child() -> dict:
    """Run generate() in a fresh interpreter; return its timings (s) and peak memory (MB)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - start
    return result


def bench_cache() -> str:
    """Fetch both stand-in files into a fresh cache folder, then time reading them back."""
    if importlib.util.find_spec("helpers.data") is None:
        return "cache: helpers.data not found, skipped"
    import numpy as np

    with tempfile.TemporaryDirectory() as folder:
        os.environ["NMA_DECODING_CACHE"] = folder
        os.environ["NMA_DECODING_PROGRESS"] = "0"
        from helpers import data, settings

        start = time.perf_counter()
        paths = [Path(data.fetch(name, source="synthetic")) for name in settings.FILE_NAMES]
        first = time.perf_counter() - start

        start = time.perf_counter()
        arrays = {}
        for path in paths:
            with np.load(path) as f:
                arrays[path.name] = {key: f[key] for key in f.files}
        load = time.perf_counter() - start

        start = time.perf_counter()
        for name in settings.FILE_NAMES:
            data.fetch(name, source="synthetic")
        again = time.perf_counter() - start
        size_mb = sum(p.stat().st_size for p in paths) / 2**20
    return (
        f"cache: first data.fetch of both (generate + write) {first:.2f} s; "
        f"np.load of both ({size_mb:.0f} MB) {load:.3f} s; data.fetch of both again (cache hit) {again:.3f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="fresh processes to run generate() in")
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}, load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for i in range(args.repeat):
        r = run_generate_in_child()
        print(
            f"generate() v{r['version']} run {i + 1}: wall {r['generate_s']:.2f} s (cpu {r['cpu_s']:.2f} s), "
            f"import {r['import_s']:.2f} s, whole process {r['process_s']:.2f} s, "
            f"peak memory {r['maxrss_mb']:.0f} MB"
        )
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of the largest child (RUSAGE_CHILDREN): {children_mb:.0f} MB")
    print(bench_cache())
    print(f"load average now: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
