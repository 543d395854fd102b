#!/usr/bin/env bash
# The speed and memory figures quoted in the issues' closing notes (`make bench`). Not part of the
# tests: timings are measured and read, not asserted. Uses the stand-in data.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export NMA_DECODING_DATA="${NMA_DECODING_DATA:-synthetic}" NMA_DECODING_PROGRESS=0 MPLBACKEND=Agg

echo "== stand-in generation and cache reads"
python benchmarks/bench_standin.py
echo "== encoding model: seed-style loop vs helpers.training.train_encoding_model"
python benchmarks/bench_encoding_training.py
echo "== the four training runs, seed's way vs ours"
python benchmarks/bench_training_runs.py
echo "== each solution notebook, end to end"
python benchmarks/bench_notebooks.py
echo "== grading a class of 30 notebooks"
python benchmarks/bench_grading.py
