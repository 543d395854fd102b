#!/usr/bin/env bash
# The whole test suite, in the order a failure is cheapest to find. Called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

# Tests never wait on the network: the simulated stand-in data, and no progress bars in logs.
export NMA_DECODING_DATA="${NMA_DECODING_DATA:-synthetic}"
export NMA_DECODING_PROGRESS=0
export MPLBACKEND=Agg

suite_started=$SECONDS
step() {  # step "title" command...: run one step and say how long it took
  local title=$1 started=$SECONDS
  shift
  echo "== $title"
  "$@"
  echo "   ($title: $((SECONDS - started)) s)"
}

bash scripts/install_system_deps.sh

step "lint" ruff check .

# The graders' venv builds in the background from here on (a minute of mostly unpacking), while the
# unit tests run; the interop tests wait for it (a file lock), and build it themselves if this failed.
executed=$(mktemp -d "${TMPDIR:-/tmp}/nma-executed-solutions-XXXXXX")  # see "solution notebooks"
graders_log=$(mktemp "${TMPDIR:-/tmp}/nma-graders-venv-XXXXXX.log")
interop_log=$(mktemp "${TMPDIR:-/tmp}/nma-interop-XXXXXX.log")  # see "grading with nbgrader and otter"
graders_build="" interop=""
cleanup() {  # on any exit: the temporary files, and whatever still runs in the background
  rm -rf "$executed" "$graders_log" "$interop_log"
  if [ -n "$graders_build" ]; then kill "$graders_build" 2>/dev/null || true; fi
  if [ -n "$interop" ]; then kill -- -"$interop" 2>/dev/null || true; fi
}
trap cleanup EXIT
python tests/_graders_venv.py >"$graders_log" 2>&1 &
graders_build=$!

# Two workers: the machine has two cores, and most unit tests wait on kernels or subprocesses. Each
# test file's tests on one worker (--dist loadfile): a module's fixture (a graded batch) is built once.
step "unit tests" pytest -n 2 --dist loadfile tests -p no:cacheprovider \
  --ignore=tests/browser --ignore=tests/clients --ignore=tests/test_book_html.py --ignore=tests/test_interop.py

# Every solution notebook end to end, one after the other (two training at once on two cores take
# longer than one after the other), figures drawn inline as in the book. nbmake runs copies, which keep
# their outputs (--overwrite), in a temporary folder (nbmake skips anything under _build/): the book
# step shows those outputs instead of running the same code again (scripts/prime_book_cache.py).
cp solutions/*.ipynb "$executed/"
step "solution notebooks, end to end" env -u MPLBACKEND \
  pytest --nbmake --nbmake-timeout=1800 --overwrite "$executed" -p no:cacheprovider

# The real tools, in their own virtual environment (.venv-graders/<hash>, built above in the background
# on first use from requirements-graders.txt, reused while that file is unchanged). This step runs in
# the background while the book is built and tried in a browser and the student's clients are tried:
# those mostly wait on a browser, a kernel or an install, so the two cores have room for it. Its output
# is shown whole when it ends; if it fails, the suite fails.
if ! wait "$graders_build"; then
  echo "   (the background build of the graders' venv failed; the interop tests build it again)"
  cat "$graders_log"
fi
set -m  # the background step in a process group of its own, so that an early exit can stop all of it
step "grading with nbgrader and otter (in the background)" pytest tests/test_interop.py -p no:cacheprovider </dev/null \
  >"$interop_log" 2>&1 &
interop=$!
set +m

step "the book" env NMA_BOOK_EXECUTED="$executed" bash scripts/build_book.sh

step "the book in a browser, and its pages as HTML" pytest tests/browser tests/test_book_html.py -p no:cacheprovider

# A student's clients: real JupyterLab in Chromium, a Colab-like fresh venv, wrong answers in a kernel.
# Two workers, one file each at a time: the Colab test spends most of its time installing packages.
step "the student's clients" pytest -n 2 --dist loadfile tests/clients -p no:cacheprovider

echo "== waiting for the grading step (nbgrader and otter)"
interop_status=0
wait "$interop" || interop_status=$?
cat "$interop_log"
if [ "$interop_status" -ne 0 ]; then
  echo "make test: the grading step (nbgrader and otter) FAILED, see above" >&2
  exit "$interop_status"
fi

echo "make test: every step passed in $((SECONDS - suite_started)) s"
