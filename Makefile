# The module's commands. `make book` and `make test` are the two the README names; each installs
# what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: book test notebooks bench lint venv lab clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt -e .
	touch $(STAMP)

venv: $(STAMP)

## Build the web book (runs every tutorial notebook; offline it uses the simulated stand-in data).
book: $(STAMP)
	bash scripts/build_book.sh

## Run the whole test suite: lint, unit tests, every solution notebook end to end, the book in a browser.
test: $(STAMP)
	bash scripts/run_tests.sh

## Open the student notebooks in JupyterLab from .venv (to complete the exercises locally).
lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) book/student

## Regenerate the student notebooks and book pages from solutions/ (the one source of truth).
notebooks: $(STAMP)
	$(VENV)/bin/python scripts/make_notebooks.py

## Speed and memory figures (see benchmarks/).
bench: $(STAMP)
	bash scripts/run_benchmarks.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf _build
