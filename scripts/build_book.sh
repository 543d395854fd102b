#!/usr/bin/env bash
# Build the web book into _build/html (called by `make book` and by scripts/run_tests.sh).
#
# Runs every tutorial notebook. jupyter-cache (_build/.jupyter_cache) keeps executed notebooks, so a
# rebuild with nothing changed takes seconds; the cache is dropped, and every page re-run, when the
# helpers package, the pinned environment or the data source changes (the notebooks' outputs depend on
# them but jupyter-cache only looks at the notebooks' code). Any Sphinx warning fails the build: a
# cell that raises, a broken reference, a missing image.
#
# Environment it respects: NMA_DECODING_DATA (default auto: the real files from OSF when they can be
# downloaded, else the deterministic simulated stand-in, with a notice on the page),
# NMA_DECODING_CACHE (where data are cached).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/.venv/bin:$PATH"
start_ns=$(date +%s%N)

export NMA_DECODING_DATA="${NMA_DECODING_DATA:-auto}"
export NMA_DECODING_PROGRESS=0          # no progress bars in the pages or the log
# The kernel must draw figures inline: a non-interactive MPLBACKEND (Agg, as tests set it) would make
# plt.show() draw nothing and the pages would have no figures.
unset MPLBACKEND
# Two cores, shared with other work: each math library uses at most two threads.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-2}"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-2}"
export PYDEVD_DISABLE_FILE_VALIDATION=1 # keeps the kernel's debugger notice off stderr

mkdir -p _build

# --- MathJax, served from the book's own _static/ (no page loads anything from another host) -------
# The npm package pinned, with its hash, in scripts/mathjax/package-lock.json; installed once into
# _build/ and copied to _build/mathjax/, which _config.yml lists in html_static_path.
mathjax_src="$root/scripts/mathjax"
mathjax_npm="$root/_build/.mathjax-npm"
mathjax_static="$root/_build/mathjax"
if [ ! -f "$mathjax_static/mathjax/tex-mml-chtml.js" ] \
   || ! cmp -s "$mathjax_src/package-lock.json" "$mathjax_npm/package-lock.json"; then
  if ! command -v npm >/dev/null; then
    echo "build_book.sh: npm is needed (once) to install MathJax: apt-get install -y nodejs npm" >&2
    exit 1
  fi
  echo "== installing MathJax: npm ci (version and hash pinned in scripts/mathjax/package-lock.json)"
  rm -rf "$mathjax_npm" "$mathjax_static"
  mkdir -p "$mathjax_npm" "$mathjax_static/mathjax"
  cp "$mathjax_src/package.json" "$mathjax_src/package-lock.json" "$mathjax_npm/"
  (cd "$mathjax_npm" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  es5="$mathjax_npm/node_modules/mathjax/es5"
  # The TeX+MathML -> CommonHTML bundle that mathjax_path names, and what it loads on demand (TeX
  # extensions, CommonHTML fonts, the menu's accessibility and speech parts); not the SVG output.
  cp "$es5/tex-mml-chtml.js" "$mathjax_static/mathjax/"
  cp -r "$es5/input" "$es5/output" "$es5/ui" "$es5/a11y" "$es5/sre" "$es5/adaptors" "$mathjax_static/mathjax/"
  rm -rf "$mathjax_static/mathjax/output/svg" "$mathjax_static/mathjax/output/svg.js"
  cp "$mathjax_npm/node_modules/mathjax/LICENSE" "$mathjax_static/mathjax/LICENSE"
fi

# --- Drop executed notebooks that no longer match what produced them --------------------------------
stamp_file=_build/.execution-inputs
stamp=$( {
  echo "NMA_DECODING_DATA=$NMA_DECODING_DATA"
  find helpers -type f \( -name '*.py' -o -name '*.mplstyle' \) -print0 | sort -z | xargs -0 sha256sum
  sha256sum requirements.txt pyproject.toml
} | sha256sum | cut -d' ' -f1 )
build_args=()
# After a failed build, read every page again: Sphinx saved its environment anyway and would not look
# at the failing notebook again (a second run would pass with a broken page). Executed notebooks
# still come from the cache, which never holds a failed run.
ok_file=_build/.last-build-ok
if [ ! -f "$ok_file" ]; then
  build_args+=(--all)
fi
rm -f "$ok_file"
if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
  if [ -d _build/.jupyter_cache ] || [ -d _build/html ]; then
    echo "== helpers, environment or data source changed: re-running every notebook"
  fi
  rm -rf _build/.jupyter_cache _build/jupyter_execute
  build_args=(--all)
fi

# --- make test: pages whose solution notebooks it has just run get those outputs ---------------------
# NMA_BOOK_EXECUTED names a folder of solution notebooks executed (with their outputs) by this checkout,
# with the same data source; scripts/prime_book_cache.py checks each is of this checkout's code and
# stores its page in the execution cache, so the build does not run the same code a second time. If a
# check fails, it says why and the build runs the pages itself.
if [ -n "${NMA_BOOK_EXECUTED:-}" ]; then
  python scripts/prime_book_cache.py "$NMA_BOOK_EXECUTED" || echo "== running the pages instead"
fi

# Sphinx copies book/_static/ only when some page is out of date: after an edit there (CSS, JS) alone it
# would report "no targets are out of date" and keep serving the old copy. Such an edit re-writes every
# page (from the execution cache: seconds).
static_stamp_file=_build/.static-inputs
static_stamp=$(find book/_static -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ "$(cat "$static_stamp_file" 2>/dev/null)" != "$static_stamp" ]; then
  build_args=(--all)
fi

elapsed() {
  local ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
  printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100))
}

echo "== jupyter-book build (NMA_DECODING_DATA=$NMA_DECODING_DATA)"
if ! jupyter-book build . --builder html -W -n --keep-going "${build_args[@]}"; then
  echo "book build FAILED after $(elapsed): every warning above is an error (-W)" >&2
  exit 1
fi
echo "$stamp" > "$stamp_file"
echo "$static_stamp" > "$static_stamp_file"
touch "$ok_file"
echo "book built in $(elapsed): $root/_build/html/index.html"
