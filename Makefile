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

# Speed, run by hand (not in `make test`), long (about an hour at 100,000 on two cores): each prints ratios
# against a baseline timed in the same run. BENCH_N sets the size (participants); `make bench BENCH_N=3000`
# checks that every benchmark runs. The synthetic warehouse (seed 1) is built once per size, and again when
# the pipelines change, in data/bench-N/ with a throwaway key, never a developer's real one.
BENCH_N   ?= 100000
BENCH_DIR := data/bench-$(BENCH_N)
BENCH_DB  := $(BENCH_DIR)/warehouse.duckdb
BENCH_KEY := PEER_OUTCOMES_KEY=abababababababababababababababababababababababababababababababab

$(BENCH_DB): $(STAMP) $(wildcard pipelines/*.py pipelines/sql/*.sql pipelines/sql/*/*.sql)
	rm -rf $(BENCH_DIR) && mkdir -p $(BENCH_DIR)
	$(BENCH_KEY) $(BIN)/peer-outcomes synth --participants $(BENCH_N) --seed 1 --out $(BENCH_DIR)/export
	$(BENCH_KEY) $(BIN)/peer-outcomes etl $(BENCH_DIR)/export --db $@

bench: system $(STAMP) $(BENCH_DB)
	$(PY) benchmarks/bench_synth.py --participants $(BENCH_N)
	$(PY) benchmarks/bench_etl.py --participants $(BENCH_N)
	$(PY) benchmarks/bench_load_floor.py --export $(BENCH_DIR)/export --rounds 3
	$(PY) benchmarks/bench_hash.py $(BENCH_DIR)/export
	$(PY) benchmarks/bench_threads.py --rows $$(( $(BENCH_N) * 41 ))
	$(PY) benchmarks/bench_marts.py --participants $(BENCH_N) --attendance $$(( $(BENCH_N) * 50 ))
	$(PY) benchmarks/bench_analysis.py --n $(BENCH_N) --km-large $$(( $(BENCH_N) * 10 ))
	$(PY) benchmarks/bench_dose.py --db $(BENCH_DB)
	$(PY) benchmarks/bench_evidence.py --n 3000
	$(PY) benchmarks/bench_evidence.py --db $(BENCH_DB)
	$(PY) benchmarks/bench_dashboard.py --db $(BENCH_DB)
	$(PY) benchmarks/bench_browser.py --db $(BENCH_DB)

clean:
	rm -rf $(VENV) data .pytest_cache
