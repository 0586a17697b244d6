# Marketlens: `make run` to use it, `make test` to check it. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help run test soak up down status bench build clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## install, build, start everything and stay in the foreground (Ctrl-C stops it)
	@scripts/stack.sh run

test: ## every test on a throw-away stack (free ports, temporary data), removed afterwards
	@scripts/test.sh

soak: ## multi-host soak (network namespaces, root): every fault at once for SOAK_DURATION s (600), prints a table
	@scripts/soak.sh

up: ## start the stack in the background and print its URL
	@scripts/stack.sh up

down: ## stop the background stack (keeps the database; `make down PURGE=1` deletes it)
	@scripts/stack.sh down $(if $(PURGE),--purge)

status: ## show processes, sockets and health of the background stack
	@scripts/stack.sh status || [ $$? -eq 3 ]

bench: ## page, live-stream fan-out, stream-load and monitoring-capacity benchmarks (release build, throw-away stacks)
	@bench/run.sh
	@bench/live.sh
	@bench/streams.sh
	@bench/monitor.sh

build: ## release build of marketlens and upstream-sim
	swift build -c release

clean: ## stop the stack, remove build products, .run/ and .venv/ (keeps .data/)
	-@scripts/stack.sh down
	swift package clean
	rm -rf .run .venv
