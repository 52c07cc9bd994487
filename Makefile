# Two commands on a fresh machine: `make demo` and `make test`.
VENV    := .venv
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DB      := data/warehouse.duckdb
EXPORT  := data/export
PORT    ?= 8501
N       ?= 3000
SEED    ?= 7

.PHONY: install system demo data test lint bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium (browser tests, chart export), poppler (PDF pages) and OpenJDK 17 (the marts on Spark in
# local mode, tests/test_spark.py): installed when we are root with apt, otherwise we stop at once with the
# one command to run, never deep inside a test.
SYSTEM_PKGS := chromium fonts-liberation poppler-utils openjdk-17-jre-headless
system:
	@if command -v chromium >/dev/null && command -v pdftoppm >/dev/null && command -v java >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SYSTEM_PKGS); \
	else echo "Chromium, poppler or Java is missing: run  sudo apt-get install -y $(SYSTEM_PKGS)  then make again."; exit 1; fi

data: $(STAMP)
	mkdir -p data
	$(BIN)/peer-outcomes synth --participants $(N) --seed $(SEED) --out $(EXPORT)
	$(BIN)/peer-outcomes etl $(EXPORT) --db $(DB)

demo: system data
	$(BIN)/peer-outcomes dashboard --db $(DB) --port $(PORT)

test: system $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

# Speed, run by hand (not in `make test`): each prints ratios against a baseline timed in the same run.
bench: $(STAMP)
	$(PY) benchmarks/bench_synth.py
	$(PY) benchmarks/bench_etl.py
	$(PY) benchmarks/bench_threads.py
	$(PY) benchmarks/bench_marts.py
	$(PY) benchmarks/bench_analysis.py
	$(PY) benchmarks/bench_dose.py
	$(PY) benchmarks/bench_evidence.py
	$(PY) benchmarks/bench_dashboard.py
	$(PY) benchmarks/bench_browser.py

clean:
	rm -rf $(VENV) data .pytest_cache
