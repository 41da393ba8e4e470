# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test fuzz bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@echo "installing qda and its test tools into $(VENV) (log: $(VENV)/install.log)"
# pip repeats every build-backend notice even with --quiet: they go to the log, shown on failure.
	@( $(BIN)/pip install --quiet --upgrade pip && $(BIN)/pip install --quiet -e '.[test]' ) \
		> $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
# irrCAC (Gwet's reference implementation, cross-checked in the tests) pins scipy==1.12,
# which qda cannot use; its code runs on current scipy, so it goes in without its pins.
	@$(BIN)/pip install --quiet --no-deps 'irrcac==0.4.4' >> $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
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
	$(BIN)/python bench/exchange.py
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) out
