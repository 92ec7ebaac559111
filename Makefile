.PHONY: dev test demo fmt lint lint-infra clean

## Run both functions locally against the emulator (127.0.0.1:9000, moto on 4566).
dev:
	@bash scripts/dev.sh

## Every test (unit and integration) against an emulator of its own.
test:
	@bash scripts/test.sh

## The whole story (organization, issuers, application, exchange, verify, refresh) against make dev.
demo:
	@bash scripts/demo.sh

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

## infra/template.yaml: cfn-lint (warnings fail), the SAM translator, checkov.
lint-infra:
	@bash scripts/lint_infra.sh

clean:
	cargo clean
	rm -rf .venv .venv-lint
