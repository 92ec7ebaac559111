.PHONY: dev test bench bench-exchange fmt lint clean

## Run both functions locally against the emulator (127.0.0.1:9000, moto on 4566).
dev:
	@bash scripts/dev.sh

## Every test (unit and integration) against an emulator of its own.
test:
	@bash scripts/test.sh

## Load, cold start, memory and size of the release functions against a local stack (BENCHMARKS.md).
bench:
	@bash scripts/bench.sh

## The warm exchange in-process against one signature verify (criterion; BENCHMARKS.md).
bench-exchange:
	cargo bench --locked --bench exchange

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

clean:
	cargo clean
	rm -rf .venv
