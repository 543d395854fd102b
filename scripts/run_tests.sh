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
pytest tests --ignore=tests/browser --ignore=tests/test_interop.py -p no:cacheprovider

echo "== grading with nbgrader and otter"
# The real tools, in their own virtual environment (.venv-graders/, built on first use from
# requirements-graders.txt, reused while that file is unchanged).
started=$SECONDS
pytest tests/test_interop.py -p no:cacheprovider
echo "grading with nbgrader and otter took $((SECONDS - started)) s"

echo "== solution notebooks, end to end"
pytest --nbmake --nbmake-timeout=1800 solutions -p no:cacheprovider

echo "== the book"
bash scripts/build_book.sh

echo "== the book in a browser"
pytest tests/browser -p no:cacheprovider
