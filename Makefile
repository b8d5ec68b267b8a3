# Two commands for a fresh Debian-like machine (see README.md):
#   make book   set up, execute every chapter with papermill, build the site
#   make test   set up, run every test (unit, papermill, site, nbval)
# Set-up is idempotent: it installs only what is missing.

PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
PROFILE ?= full
# Debian packages the book and its tests use: the data set (so no download is needed) and
# Chromium for the browser test (Playwright's own browser download is not used).
DEBIAN_PACKAGES ?= dataset-fashion-mnist chromium
# apt-get needs root: use sudo when we are not root.
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: book execute site test test-fast sweep headline benchmark setup system-packages data clean

book: execute site

execute: setup
	$(PY) -m fmnist_helpers.book execute --profile $(PROFILE)

site: setup
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "Site built: $(CURDIR)/_build/html/index.html"

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow"

# Re-run the training chapter over a grid of recipes (about 25 minutes); writes book/data/.
sweep: setup
	$(PY) -m fmnist_helpers.sweep

# Re-train only the headline model, with and without its flips (under 10 minutes); updates
# their rows of book/data/.
headline: setup
	$(PY) -m fmnist_helpers.sweep --runs "headline model" "headline model without flips"

# Time-to-accuracy benchmark and ablation, about 15 minutes on 2 cores (QUICK=1: a tenth of
# the images, 1 epoch per accuracy run); installs the JAX and PyTorch backends of its optional
# speed probes; writes benchmarks/results/.
benchmark: setup $(VENV)/.installed-benchmark
	$(PY) benchmarks/train_speed.py $(if $(QUICK),--quick)

$(VENV)/.installed-benchmark: requirements-benchmark.txt $(VENV)/.installed
	$(PY) -m pip install -q -r requirements-benchmark.txt
	touch $@

setup: system-packages $(VENV)/.installed data

system-packages:
	@missing=""; for package in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; done; \
	$(PYTHON) -c "import ensurepip" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null && { [ -z "$(SUDO)" ] || command -v sudo >/dev/null; }; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else echo "cannot install Debian packages ($$missing): no apt-get or no root; continuing"; fi

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

# Find (Keras' cache, Debian's package) or download the data set, verify it, and copy
# it into Keras' cache so keras.datasets.fashion_mnist.load_data() works offline too.
data: $(VENV)/.installed
	$(PY) -m fmnist_helpers data --keras-cache

clean:
	rm -rf _build artifacts results .pytest_cache
