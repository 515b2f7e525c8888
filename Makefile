# Parley: developer entry points.
#
#   make run     build (debug) and serve ./data on http://127.0.0.1:8080 (HOST=, PORT= to change)
#   make test    Swift tests; they also run the JS (node --test) and browser (pytest) suites (after make release)
#   make release dist/: the parley executable (Swift stdlib inside) and its Public/ pages
#   make bench   widget sizes + inbox recompute time + release build + Tests/bench/run.sh (durable message rate vs a no-op POST)
#   make size    raw and gzip bytes of the widget loader and of an open chat, against the budgets
#   make deps    install what run and test need (Debian packages + PyPI); safe to repeat
#
# Assumes a Debian machine with the Swift toolchain on PATH. The deps targets change the system
# only when something is missing.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

SWIFT  ?= swift
PYTHON ?= python3
HOST   ?= 127.0.0.1
PORT   ?= 8080
DATA   ?= ./data

# apt-get needs root; use sudo when we are not.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages. libmagic (MIME sniffing) and libarchive (backups) are linked by the binary;
# pkg-config finds libarchive at build time; tzdata backs the widgets' IANA time zones.
RUN_DEBS   := libmagic-dev libarchive-dev tzdata pkg-config
# Browser tests drive Debian's own Chromium (nothing is downloaded at test time); recommends are
# skipped (udev, upower, printing…), but its recommended fonts are wanted for readable screenshots.
# `file` gives the reference verdicts of the MIME-sniffing test; nginx-light runs the documented
# reverse-proxy site in front of parley (docs/deploy.md) in the ops tests. node runs the widget's unit tests: any node >= 18 on PATH will do, Debian's nodejs if there is none.
TEST_DEBS  := chromium chromium-driver fonts-liberation file nginx-light $(if $(shell command -v node),,nodejs)
BENCH_DEBS := wrk nginx-light $(if $(shell command -v node),,nodejs)

# PyPI packages for the browser and upload tests (tuspy's module is `tusclient`; openapi-spec-validator
# checks the served OpenAPI document, module `openapi_spec_validator`; prometheus-client parses /metrics).
PY_TEST_PKGS    := selenium pytest requests tuspy openapi-spec-validator prometheus-client
PY_TEST_MODULES := selenium, pytest, requests, tusclient, openapi_spec_validator, prometheus_client

# $(call apt_ensure,PACKAGES): install those of PACKAGES that are not installed. Each target calls
# this once with its whole list, so `apt-get update` runs at most once, and only when needed.
define apt_ensure
	@missing=""; \
	for p in $(1); do \
	  dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

.PHONY: deps deps-run deps-test bench-deps build run test bench size clean release

deps: deps-test

deps-run:
	$(call apt_ensure,$(RUN_DEBS))

# No virtualenv on purpose: `swift test` starts `python3 -m pytest` from PATH, so the packages must
# be importable by that same interpreter, also when someone runs `swift test` by hand.
# PIP_BREAK_SYSTEM_PACKAGES lets pip install into a Debian-managed Python (PEP 668); it then lands
# in /usr/local, Debian's place for locally installed packages. Other Pythons ignore it.
deps-test:
	$(call apt_ensure,$(RUN_DEBS) $(TEST_DEBS))
	@if ! $(PYTHON) -c 'import $(PY_TEST_MODULES)' 2>/dev/null; then \
	  if ! $(PYTHON) -m pip --version >/dev/null 2>&1; then \
	    echo "deps: installing python3-pip"; \
	    $(SUDO) apt-get update -qq; \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip; \
	  fi; \
	  echo "deps: installing Python packages: $(PY_TEST_PKGS)"; \
	  PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
	    $(PYTHON) -m pip install -q $(PY_TEST_PKGS); \
	  $(PYTHON) -c 'import $(PY_TEST_MODULES)'; \
	fi

bench-deps:
	$(call apt_ensure,$(RUN_DEBS) $(BENCH_DEBS))

build:
	$(SWIFT) build

run: deps-run build
	./.build/debug/parley serve --data $(DATA) --host $(HOST) --port $(PORT) --public ./Public

# Output is not filtered: swift test's own summary (and the node/pytest output it relays) is the
# record CI keeps. PARLEY_PYTHON tells the Swift test which interpreter got the packages.
# The release is built first: Tests/browser/test_release.py runs dist/parley with the toolchain hidden.
test: deps-test release
	$(SWIFT) build --build-tests
	PARLEY_PYTHON=$(PYTHON) $(SWIFT) test

# dist/: the whole deliverable. parley, built with the Swift standard library inside (its own scratch
# folder, so debug builds stay as they are), and Public/ next to it (the binary looks there when the
# working folder has no Public/). On the server it needs only: apt install libmagic1 libarchive13.
RELEASE_SCRATCH ?= .build-release
release: deps-run
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(RELEASE_SCRATCH) --product parley
	rm -rf dist && mkdir -p dist
	cp $(RELEASE_SCRATCH)/release/parley dist/parley
	strip dist/parley
	cp -R Public dist/Public
	@echo "dist/parley: $$(du -h dist/parley | cut -f1) ($$(stat -c %s dist/parley) bytes); dist/ in all: $$(du -sh dist | cut -f1)"

# The node test suite (run by `make test`) enforces the same budgets.
size:
	node Tests/js/size.mjs

bench: bench-deps size
	node Tests/bench/inbox.mjs
	$(SWIFT) build -c release
	PARLEY_BIN=$(CURDIR)/.build/release/parley Tests/bench/run.sh

# Removes build products only. Never touches data/: it holds the shop's conversations.
clean:
	$(SWIFT) package clean
	rm -rf Tests/browser/__pycache__ Tests/bench/__pycache__
