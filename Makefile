# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: run test bench growth stress reader train-reader embedder train-embedder install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

$(VENV)/.installed-train: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[train]'
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/qa serve

test: $(VENV)/.installed-test
	bash scripts/ensure-chromium
	$(BIN)/python -m pytest -q
	$(BIN)/qa eval --gate

bench: $(VENV)/.installed-test
	bash scripts/ensure-pydocs
	$(BIN)/python -m evals.bench

# Ingest, disk, memory, latency and cold start at 250 to 2,000 documents,
# the largest against a `chroma run` server; writes docs/growth.json and
# docs/growth.png (up to an hour).
growth: $(VENV)/.installed-test
	bash scripts/ensure-pydocs
	$(BIN)/python -m evals.growth

# Load, soak, fuzz and kill -9 runs; writes docs/robustness.md (about 17 min).
stress: $(VENV)/.installed-test
	$(BIN)/python -m evals.stress

# Train the reading model (index/model/reader/); not part of `make test`.
# torch gets a venv of its own, so the one `make run` and `make test` use
# stays without it.  The default is the CPU recipe (a sample of articles);
# the shipped recipe on a GPU:
#   make reader READER_ARGS="--device cuda --articles 0 --epochs 4 --max-steps 0 --batch-size 64 --threads 1"
READER_ARGS ?=
reader:
	$(MAKE) VENV=.venv-train train-reader

train-reader: $(VENV)/.installed-train
	$(BIN)/python -m qa.training $(READER_ARGS)

# Export all-MiniLM-L6-v2 as the int8 ONNX embedder (index/model/embedder/;
# about 5 minutes); torch from the same venv as `make reader`'s.
embedder:
	$(MAKE) VENV=.venv-train train-embedder

train-embedder: $(VENV)/.installed-train
	$(BIN)/python -m qa.training.embedder

clean:
	rm -rf $(VENV) .venv-train artifacts
