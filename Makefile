# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test fuzz bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	QDA=$(BIN)/qda bash examples/entry-postentry/run.sh out

# Lint and types first: they take seconds, the tests minutes.
test: $(STAMP)
	$(BIN)/ruff check qda tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# The fuzz tests of `make test` run a few examples per reader; this runs many more.
fuzz: $(STAMP)
	QDA_FUZZ_EXAMPLES=$${QDA_FUZZ_EXAMPLES:-500} $(BIN)/python -m pytest -q tests/test_fuzz.py

bench: $(STAMP)
	$(BIN)/python bench/agreement.py
	$(BIN)/python bench/autocode.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/workflow.py
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) out
