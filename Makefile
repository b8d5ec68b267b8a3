# Two commands for a fresh Debian-like machine (see README.md):
#   make book   set up, execute every chapter with papermill, build the site
#   make test   set up, run every test (unit, notebooks, papermill, site)
# Set-up is idempotent: it installs only what is missing.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?= full
# apt-get needs root: use sudo when we are not root and it exists.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo)

.PHONY: book execute site test test-fast setup system-packages data clean

book: execute site
	@echo "Site built: $(CURDIR)/_build/html/index.html"

execute: setup
	$(PY) -m fmnist_helpers.book execute --profile $(PROFILE)

site: setup
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "Site built: $(CURDIR)/_build/html/index.html"

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow"

setup: $(VENV)/.installed data

# Debian packages: the data set (works offline) and Chromium for the browser test.
system-packages:
	@if command -v apt-get >/dev/null && { [ "$$(id -u)" = 0 ] || [ -n "$(SUDO)" ]; }; then \
	  dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist; }; \
	else echo "no apt-get (or no root): skipping Debian packages"; fi

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

# Find the data set (Keras' cache, Debian's package) or download it; verify it.
data: $(VENV)/.installed
	@$(PY) -m fmnist_helpers data --keras-cache --no-download 2>/dev/null || { \
	  $(MAKE) --no-print-directory system-packages; $(PY) -m fmnist_helpers data --keras-cache; }

clean:
	rm -rf _build artifacts results .pytest_cache
