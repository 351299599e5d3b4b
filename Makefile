# `make demo` and `make test` are all a fresh machine needs: each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench-quality bench-load clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "torch==2.13.0"
	$(PY) -m pip install -q --disable-pip-version-check -e ".[dev]"
	@echo "building the CPU training kernel and corpus scanner (once, about a minute)"
	$(PY) -c "from w2v.training.kernels import corpus_scanner, cpu_kernel; cpu_kernel(); corpus_scanner()"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/mypy src/w2v

bench-load: $(STAMP)
	$(PY) benchmarks/load_query.py

bench-quality: $(STAMP)
	$(PY) benchmarks/quality.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
