# Two commands: `make run` and `make test`. Each installs what it needs first.

SHELL := /bin/bash
# A build directory outside the checkout, so fresh clones (CI) reuse earlier builds.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/otp-relay/target
TOOLS_DIR := $(HOME)/.cache/otp-relay/tools
export PATH := $(TOOLS_DIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo

.PHONY: soak soak-tools fuzz fuzz-tools pow run test tools release-tools static-tools image-tools test-tools fmt-check lint wasm-check frontend size tests bench load release image reproduce

## The page at http://127.0.0.1:8080, the relay beside it on its embedded defaults.
run: tools
	scripts/run.sh

## A solved proof of work from the relay `make run` starts (OTP_RELAY_URL for another): the
## `pow` a send carries, for curl (README).
pow:
	@$(CARGO) run --quiet -p otp-relay --bin otp-relay -- pow

## Everything CI checks: formatting, lints, the wasm build, the size budget, the static binary
## (built twice from clean clones, the same bytes) and the image, every test.
test: test-tools fmt-check lint wasm-check frontend size release image reproduce tests

## What building and running need, at pinned versions, installed only when missing: rustfmt and
## clippy, the wasm32 target, trunk and the wasm-bindgen CLI (cargo install, in ~/.cargo/bin),
## wasm-opt from binaryen (npm, in $(TOOLS_DIR)).
tools:
	@scripts/ensure-tools.sh build

## Plus what finishes a release build: esbuild (npm, in $(TOOLS_DIR)) and zopfli (Debian).
release-tools: tools
	@scripts/ensure-tools.sh release

## Plus what the static binary takes: the musl target, musl-gcc, cargo-cyclonedx.
static-tools: tools
	@scripts/ensure-tools.sh static

## Plus what builds and runs the image: podman, buildah, runc (Debian).
image-tools:
	@scripts/ensure-tools.sh image

## One static Linux binary with the page and the widget built in, reproducible, in release/ with
## its SHA-256 and a CycloneDX SBOM (scripts/release.sh).
release: frontend static-tools
	scripts/release.sh

## The release binary from two clean clones of this commit: the same bytes (scripts/reproduce.sh).
reproduce: static-tools release-tools
	scripts/reproduce.sh

## The container image localhost/otp-relay (FROM scratch: the static binary, a CA bundle, a
## non-root user), built offline with buildah (scripts/image.sh); its size printed.
image: release image-tools
	scripts/image.sh

## Plus the real peers the tests start: aiosmtpd (the SMTP server), PyJWT, Chromium and
## ChromeDriver (Debian packages).
test-tools: tools
	@scripts/ensure-tools.sh test

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p otp-relay-frontend --target wasm32-unknown-unknown -- -D warnings
	scripts/binary-deps.sh

wasm-check:
	$(CARGO) build -p otp-relay-shared --target wasm32-unknown-unknown

## The release build of the page (dist/), which the browser tests load: trunk minifies the HTML
## and the CSS (Trunk.toml), esbuild the JavaScript, zopfli precompresses what the relay serves.
frontend: release-tools
	trunk build --release
	scripts/finish-dist.sh

size: frontend
	scripts/size.sh

## Every test (the Redis Cluster failover on its own, to print its figures), then the attack table
## again against a single Redis and a three-master Redis Cluster (the test kit gives each relay
## one when OTP_RELAY_TEST_STORE says so).
tests:
	$(CARGO) test --workspace -- --skip failover::
	$(CARGO) test -p otp-relay --test integration -- failover:: --nocapture
	OTP_RELAY_TEST_STORE=redis $(CARGO) test -p otp-relay --test integration -- attacks::
	OTP_RELAY_TEST_STORE=redis-cluster $(CARGO) test -p otp-relay --test integration -- attacks::

## The relay under the whole flow, wrong codes and hostile requests for SOAK_MINUTES (default
## 10), its RSS, descriptors, tasks, store size and latency sampled; the report, a CSV and a plot
## go to docs/soak/ with the commit measured (scripts/soak.sh).
soak: soak-tools
	scripts/soak.sh

## matplotlib (Debian), which plots the soak.
soak-tools:
	@scripts/ensure-tools.sh soak

## Every fuzz target (fuzz/, cargo-fuzz on the nightly tool chain) for FUZZ_SECONDS each
## (default 60), from the corpus in fuzz/corpus/; the same properties run as property tests in
## `make test` (relay/src/tests/parsers.rs).
fuzz: fuzz-tools
	scripts/fuzz.sh

## cargo-fuzz, pinned (cargo install), for the nightly tool chain these machines carry.
fuzz-tools:
	@scripts/ensure-tools.sh fuzz

## Micro-benchmarks (criterion): token, code derivation, store; then how often the limit
## sketches refuse early at their default size.
bench:
	$(CARGO) bench -p otp-relay --bench core
	$(CARGO) run --release -q -p otp-relay --example sketch_rates

## Load test on loopback, each figure beside a baseline from the same run: verify against a bare
## axum endpoint, RSS over 100,000 issued codes, the whole flow, sends against the SMTP server's
## own ceiling, shared stores (one Redis, two relays on it, a three-master cluster) against one
## relay in memory, and the proof of work (the relay's check, the page's solver against ALTCHA's).
load: test-tools frontend
	scripts/load.sh
