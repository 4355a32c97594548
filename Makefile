# Reupload Radar: the two quick-start commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo review test lint types unit fuzz bench clean tools chromium postgres ffmpeg \
  deploy-test

venv: $(STAMP)

# The environment comes from hash-pinned lock files (`python3 deploy/tools.py lock` adds what
# pyproject.toml gained and keeps every other pin; `lock --upgrade` refreshes them all):
# deploy/build.lock (setuptools, cython, numpy, scikit-build-core: what the pdqhash and vpdq
# sdists and our C extensions build with) and deploy/dev.lock (runtime + dev tools,
# constrained to the image's deploy/requirements.lock, so the image and the tests run the
# same versions). The project itself is then installed without touching them; pip install compiles hashing/_pdq.c and
# matcher/_mih.c (setup.py): rebuild when they or a lock change.
LOCKS := deploy/build.lock deploy/dev.lock
# vpdq compiles against Debian's FFmpeg libraries: `ffmpeg` below is an order-only prerequisite.
$(STAMP): pyproject.toml setup.py hashing/_pdq.c matcher/_mih.c $(LOCKS) | ffmpeg
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps --require-hashes --only-binary=:all: -r deploy/build.lock
	$(BIN)/pip install --quiet --no-deps --require-hashes --no-build-isolation \
	  --only-binary=:all: --no-binary=pdqhash,vpdq -r deploy/dev.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/radar demo --report demo-report.json

# Benchmarks of issues 6, 11 and 15 (about 15 minutes on 2 cores): bench/results/latest.{json,md} + plots.
bench: $(STAMP)
	$(BIN)/python -m bench

review: $(STAMP)
	$(BIN)/radar review --demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

types: $(STAMP)
	$(BIN)/mypy

# Pinned deployment check tools (kustomize, kubernetes-validate, check-jsonschema,
# hadolint) in a cache folder; idempotent, needs Go and PyPI. tests/k8s uses them.
tools:
	$(PYTHON) deploy/tools.py install

# Debian's Chromium renders render=browser targets and drives the browser tests, which
# fail without it.
chromium:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium || \
	  { echo "install Chromium: sudo apt-get install -y chromium" >&2; exit 1; }; }

# Debian's FFmpeg: vpdq (video PDQ, issue 14) builds against its libraries with cmake and
# decodes videos with them; the tests make their benign clips with the ffmpeg command.
FFMPEG_DEBS := ffmpeg libavcodec-dev libavformat-dev libavutil-dev libswscale-dev \
  libavdevice-dev libavfilter-dev libswresample-dev pkg-config cmake g++
ffmpeg:
	@{ command -v ffmpeg && command -v cmake && command -v g++ && pkg-config --exists \
	  libavcodec libavformat libavutil libswscale libavdevice libavfilter libswresample; \
	  } >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  $(FFMPEG_DEBS) || \
	  { echo "install FFmpeg: sudo apt-get install -y $(FFMPEG_DEBS)" >&2; exit 1; }; }

# Debian's PostgreSQL: the service store's second backend. The tests run every store
# suite on it too (devservers.servers starts a loopback cluster) and fail without it.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	  --no-install-recommends postgresql || \
	  { echo "install PostgreSQL: sudo apt-get install -y postgresql" >&2; exit 1; }; }

unit: $(STAMP) tools chromium postgres
	$(BIN)/pytest

test: lint types unit

# The deployment, run (issue 11; README "Deployment"): builds the Debian base and the image
# with podman (deploy/image.py), plays k8s/overlays/local with `podman kube play`
# (deploy/play.py) against the local Kafka, Elasticsearch and PostgreSQL, and drives it end
# to end (tests/deploy). Root, podman, runc, debootstrap: installed when missing.
deploy-test: $(STAMP) tools postgres
	RADAR_DEPLOY_TEST=1 $(BIN)/pytest tests/deploy -v -p no:cacheprovider

# Property-based fuzzing of the parsers that face hostile input (tests/fuzz, Hypothesis):
# `make test` runs them with a modest example count (profile "suite"), this with 5000
# examples per test (profile "fuzz", some minutes). Found failures are kept in .hypothesis/.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest tests/fuzz -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-report.json demo-output review-demo \
	  build hashing/*.so matcher/*.so
