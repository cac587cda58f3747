# thuvien-rfid — the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench venv-demo venv-dev system-deps services clean

demo: venv-demo
	$(BIN)/thuvien demo $(DEMO_ARGS)

test: venv-dev system-deps services lint
	.ci/pytest.sh $(PYTEST_ARGS)

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: venv-dev system-deps services
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

venv-demo:
	.ci/venv.sh server,edge,kiosk

venv-dev: system-deps
	.ci/venv.sh server,edge,kiosk,pcsc,dev

system-deps:
	.ci/system-deps.sh

services: system-deps
	.ci/services.sh

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts
