# The two commands of README.md. Everything else lives in scripts/.
.PHONY: dev test bench

## dev: install what is missing, then run the whole stack locally (Ctrl-C stops all of it)
dev:
	@./scripts/dev.sh

## test: install what is missing, then run every test and print a pass/fail summary
test:
	@./scripts/test.sh

## bench: benchmarks (not tests), printed as Markdown for BENCHMARKS.md; `make bench WHAT=ledger`
bench:
	@./scripts/bench.sh $(or $(WHAT),ledger)
