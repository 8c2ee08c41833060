# Commands for working on the template. Each creates .venv (with python3) and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := build/channels_project
PYTEST_ARGS ?=

.PHONY: venv test lint demo bench speed clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --group dev
	touch $@

## test: the whole template suite (bakes every option, runs each baked project's tests, lint and checks)
test: venv
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check hooks tests benchmarks
	$(BIN)/ruff format --check hooks tests benchmarks

## demo: bake the defaults into build/ and serve them at http://127.0.0.1:8000 with reload
demo: venv
	$(BIN)/cookiecutter --no-input --overwrite-if-exists --output-dir build .
	cd $(DEMO_DIR) && ../../$(BIN)/python manage.py migrate --verbosity 0
	cd $(DEMO_DIR) && ../../$(BIN)/python -m uvicorn channels_project.asgi:application --reload \
		--host 127.0.0.1 --port 8000 --reload-dir channels_project --reload-dir echo --reload-dir chat \
		--reload-dir notifications --reload-dir tasks \
		--reload-include '*.html' --ws-max-size 1048576 --ws-per-message-deflate false

## bench: dev-loop benchmark (cold start to first echo, edit-to-live reload) of a bake next to a bare ASGI app
bench: venv
	$(BIN)/python benchmarks/devloop.py

## speed: run-time benchmark (echo, chat fan-out, memory per socket, bake time) next to a bare app and tutorial code
speed: venv
	$(BIN)/python benchmarks/speed.py

clean:
	rm -rf $(VENV) build
