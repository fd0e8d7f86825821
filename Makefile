# The only two commands anyone needs: `make run` and `make test` (`make test-fast` while you work).
# Both create .venv when missing and (re)install requirements.txt only when it
# changed since the last install (the stamp file records that).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8501
# Loopback by default. `make run HOST=0.0.0.0` serves the class network; every browser there is then
# read-only for shared things until the instructor signs in with DC_INSTRUCTOR_TOKEN (docs/classroom.md).
HOST   ?= 127.0.0.1

.PHONY: run test test-fast bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt  # see that file: why no deps
	# models/ and app/ importable from streamlit, pytest and the CLIs (pyproject.toml).
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The Ray backend's tests (tests/core/test_ray_jobs.py): Ray only for `make test`, never for `make run`.
RAY_STAMP := $(VENV)/.installed-ray

$(RAY_STAMP): requirements-ray.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-ray.txt
	touch $(RAY_STAMP)

run: $(STAMP)
	@$(BIN)/python -m app.startup_check  # a bad DC_* setting stops here, in one line
	$(BIN)/streamlit run app/main.py --server.address $(HOST) --server.port $(PORT)

# The whole suite in two phases; each ends with its 25 slowest tests (CI logs them too).
# 1. Everything without a browser or a served app, on every core (pytest-xdist).
# 2. The browser and served-app tests one at a time: they time page loads and share the machine's
#    cores with the `streamlit run` they drive, so running them side by side makes them flaky.
# Phase 2 runs even when phase 1 fails, so one run shows every failure.
test: $(STAMP) $(RAY_STAMP)
	@status=0; \
	$(BIN)/python -m pytest -n auto -m "not browser and not server" --durations=25 || status=$$?; \
	$(BIN)/python -m pytest -m "browser or server" --durations=25 || status=$$?; \
	exit $$status

# The inner loop: no browser, no streamlit server, nothing slower than a few seconds (pytest.ini),
# on every core.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n auto -m "not browser and not server and not slow"

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
