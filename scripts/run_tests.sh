#!/usr/bin/env bash
# The whole test suite, in the order a failure is cheapest to find. Called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

# Tests never wait on the network: the simulated stand-in data, and no progress bars in logs.
export NMA_DECODING_DATA="${NMA_DECODING_DATA:-synthetic}"
export NMA_DECODING_PROGRESS=0
export MPLBACKEND=Agg

bash scripts/install_system_deps.sh

echo "== lint"
ruff check .

echo "== unit tests"
pytest tests --ignore=tests/browser --ignore=tests/clients -p no:cacheprovider

echo "== solution notebooks, end to end"
pytest --nbmake --nbmake-timeout=1800 solutions -p no:cacheprovider

# Real JupyterLab in Chromium, a Colab-like fresh venv, wrong answers in a kernel (minutes: the Colab
# venv installs torch).
echo "== the student's clients"
pytest tests/clients -p no:cacheprovider

echo "== the book"
bash scripts/build_book.sh

echo "== the book in a browser"
pytest tests/browser -p no:cacheprovider
