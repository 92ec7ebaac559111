.PHONY: dev test check cli demo bench bench-exchange bench-instructions panic-check fmt lint lint-infra clean

## Run both functions locally against the emulator (127.0.0.1:9000, moto on 4566).
dev:
	@bash scripts/dev.sh

## Every test (unit and integration) against an emulator of its own.
test:
	@bash scripts/test.sh

## The fast loop, no emulator: formatting, clippy (warnings fail) and the unit tests.
check: lint
	cargo test --locked --lib

## The whole story (organization, issuers, application, exchange, verify, refresh) against make dev.
demo:
	@bash scripts/demo.sh

## Load, cold start, memory and size of the release functions against a local stack (BENCHMARKS.md).
bench:
	@bash scripts/bench.sh

## A panicking request fails alone in a binary built as the deployment builds it (cargo lambda
## build --release of probes/panic-probe; minutes, so not in make test; make bench runs it too).
panic-check:
	@bash scripts/panic_check.sh

## The warm exchange in-process against one signature verify (criterion; BENCHMARKS.md).
## BENCH_RUNS (default 5) runs of each pair; each ratio's median, min and max over them.
bench-exchange:
	cargo bench --locked --bench exchange

## The same budgets in instructions (callgrind): figures that do not move with the host's load.
bench-instructions:
	@bash scripts/bench_instructions.sh

fmt:
	cargo fmt --all

## What CI checks first: formatting, then clippy on every target of the workspace, the CLI
## included, with the CLI's features as make test builds it (warnings fail).
lint:
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --features trustgate/cli-features --all-targets -- -D warnings

## The operator CLI: target/debug/trustgate (`cargo install --path cli` puts it on PATH). With
## the features make dev and make test build with, so it reuses their build of the AWS SDK.
cli:
	cargo build --locked -p trustgate-cli --features trustgate/cli-features

## infra/template.yaml: cfn-lint (warnings fail), the SAM translator, checkov.
lint-infra:
	@bash scripts/lint_infra.sh

clean:
	cargo clean
	rm -rf .venv .venv-lint
