# Commands for working on the template. Each creates .venv (with python3) and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := build/channels_project
PYTEST_ARGS ?=
# One pytest worker more than CPU cores: about a third of the suite's time is spent waiting on the servers it starts.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

.PHONY: venv test test-fast lint lock demo bench speed layers clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# uv installs the dev group in seconds where pip takes a minute (pip only bootstraps uv). It compiles the
	@# bytecode now: under PYTHONDONTWRITEBYTECODE (set on CI) each of the suite's processes would compile Django anew.
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python --group dev
	touch $@

## test: the whole template suite (bakes every option, runs each baked project's tests, lint and checks)
test: venv
	@# One test at a time per worker: the minutes-long ones come first (tests/conftest.py), the rest fill in.
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --maxschedchunk 1 $(PYTEST_ARGS)

## test-fast: lint, the hooks' unit tests, and the default bake's checks, lint and non-browser tests (under 3 min)
test-fast: lint
	$(BIN)/python -m pytest -n auto -m "fast and not other_bake" $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check hooks tests benchmarks
	$(BIN)/ruff format --check hooks tests benchmarks

## demo: bake the defaults into build/, log in as the printed demo user, served at http://127.0.0.1:8000 with reload
demo: venv
	@# The bake's "Next: cd ..., python3 -m venv ..." is not for this copy: it is migrated and served below.
	$(BIN)/cookiecutter --no-input --overwrite-if-exists --output-dir build . >/dev/null
	cd $(DEMO_DIR) && ../../$(BIN)/python manage.py migrate --verbosity 0
	@echo
	@cd $(DEMO_DIR) && ../../$(BIN)/python manage.py demo_user
	@echo
	@echo "Open http://127.0.0.1:8000/ and log in there as demo (Notifications and Tasks need a login; the admin"
	@echo "is at http://127.0.0.1:8000/admin/). The project is in $(DEMO_DIR); Ctrl+C stops the server."
	@echo
	@# Exactly the bake's own PyCharm configuration (uvicorn as a module, its options from server.py).
	$(BIN)/python -m tests.support.run_configs $(DEMO_DIR) "uvicorn (reload)"

## lock: re-resolve the baked project's uv.lock in a bake and write it back (UV_LOCK_ARGS=--upgrade: newest releases)
lock: venv
	$(BIN)/python -m tests.support.lock

## bench: dev-loop benchmark (cold start to first echo, edit-to-live reload) of a bake next to a bare ASGI app
bench: venv
	$(BIN)/python -m benchmarks.devloop

## speed: run-time benchmark (echo, chat fan-out, memory per socket, bake time) next to a bare app and tutorial code
speed: venv
	$(BIN)/python -m benchmarks.speed

## layers: channels-redis's core and pubsub layers next to the project's (churn, fan-out, Redis restart; 4 min)
layers: venv
	$(BIN)/python -m benchmarks.layers

clean:
	rm -rf $(VENV) build
