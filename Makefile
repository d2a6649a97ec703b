# Two commands: `make run` and `make test`. Each installs what it needs first.

SHELL := /bin/bash
# A build directory outside the checkout, so fresh clones (CI) reuse earlier builds.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/otp-relay/target
CARGO ?= cargo

.PHONY: run test tools-run tools-test fmt-check lint wasm-check unit-and-integration bench load

## Serve the relay on its embedded defaults: development outbox, in-memory store.
run: tools-run
	$(CARGO) run --release -p otp-relay -- serve

## Everything CI checks: formatting, lints, the wasm build of shared/, every test.
test: tools-test fmt-check lint wasm-check unit-and-integration

tools-run:
	@scripts/ensure-tools.sh run

tools-test:
	@scripts/ensure-tools.sh test

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

wasm-check:
	$(CARGO) build -p otp-relay-shared --target wasm32-unknown-unknown

unit-and-integration:
	$(CARGO) test --workspace

## Micro-benchmarks (criterion): token, code derivation, ledger.
bench: tools-test
	$(CARGO) bench -p otp-relay --bench core

## Load test on loopback: a release relay (outbox, high limits) and 16 clients for 10 s.
load: tools-test
	scripts/load.sh
