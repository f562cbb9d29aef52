# The platform's front door. `make up` starts everything with a demo campaign; `make test` runs
# every test. Both install what they need (uv, Python deps, PostgreSQL, Kafka) themselves.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
ENV := . deploy/env.sh &&

.PHONY: up down test lint contract deps infra topics demo status browser axe chaos bench asyncapi-tools

deps:  ## Python and the locked dependencies
	@command -v $(UV) >/dev/null || python3 -m pip install -q --user uv==$(UV_VERSION) \
	  || python3 -m pip install -q --break-system-packages uv==$(UV_VERSION)
	@$(UV) sync --frozen --quiet

infra:  ## PostgreSQL and Kafka on loopback, roles, schemas, topics
	@deploy/infra.sh up
	@$(ENV) $(UV) run --frozen grassroots topics create

up: deps infra asyncapi-tools browser  ## the whole platform, with a demo campaign
	@$(UV) run --frozen python -m grassroots.contract_documents site --if-stale  # /contract/
	@deploy/services.sh up
	@$(ENV) $(UV) run --frozen grassroots demo
	@$(ENV) link=$$(GRASSROOTS_DATABASE_URL=$$REPORTING_DATABASE_URL $(UV) run --frozen \
	  python -m reporting.cli signin-link --county 610526 --label 演示-党委办) && \
	  echo "Platform up. Dashboard (one-time sign-in link, valid once for 10 minutes): $$link" && \
	  echo "API (needs a bearer token; make one, it is printed once):  . deploy/env.sh && token=\$$(GRASSROOTS_DATABASE_URL=\$$REPORTING_DATABASE_URL uv run python -m reporting.cli token create --county 610526 --label 演示-API)" && \
	  echo "     then  curl -H \"Authorization: Bearer \$$token\" http://127.0.0.1:8080/v1/campaigns/pucheng-edu-2012/summary"
	@$(ENV) inbox=$$($(UV) run --frozen python -m notification.cli inbox-token 610526-edu-0001) && \
	  echo "Inbox of 610526-edu-0001: curl -H 'Authorization: Bearer $$inbox' http://127.0.0.1:8083/v1/inbox/610526-edu-0001" && \
	  echo "(make down to stop)"

down:
	@deploy/services.sh down
	@deploy/infra.sh down

status:
	@deploy/infra.sh status; deploy/services.sh status

lint: deps
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy contract/src contract/tests shared/src services tests bench

contract: deps asyncapi-tools  ## regenerate the JSON Schemas, the AsyncAPI (and its HTML) and the OpenAPI documents
	@$(UV) run --frozen grassroots contract write
	@$(UV) run --frozen python -m grassroots.contract_documents site --if-stale
	@$(UV) run --frozen python -m grassroots.contract_documents check
	@$(UV) run --frozen python -m reporting.openapi

# Node tools, each pinned by its tools/<name>/package-lock.json, into tools/<name>/node_modules
# (gitignored): the official AsyncAPI tools (@asyncapi/parser, the generator's HTML template) and
# axe-core, injected into the dashboard pages by the tests. No install scripts: none is needed,
# and puppeteer's would download a browser.
ASYNCAPI_TOOLS := tools/asyncapi/node_modules/.package-lock.json
AXE := tools/axe/node_modules/.package-lock.json
asyncapi-tools: $(ASYNCAPI_TOOLS)
axe: $(AXE)
tools/%/node_modules/.package-lock.json: tools/%/package.json tools/%/package-lock.json
	@if ! command -v npm >/dev/null; then \
	  echo "installing nodejs and npm (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    nodejs npm >/dev/null; fi
	@cd tools/$* && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

browser:  ## Debian's chromium (also the PDF printer), a CJK font, poppler-utils for the PDF tests
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi wenquanyi \
	  || ! command -v pdftotext >/dev/null; then \
	  echo "installing chromium, fonts-wqy-zenhei and poppler-utils (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium fonts-wqy-zenhei poppler-utils >/dev/null; fi

test: deps lint infra browser axe asyncapi-tools  ## every test, on the real broker and database
	@deploy/services.sh down >/dev/null  # a running demo would share the consumer groups
	@$(ENV) $(UV) run --frozen pytest

chaos: deps infra  ## 24 faults while a seeded campaign is published; prints the checker's table
	@deploy/services.sh down >/dev/null
	@$(ENV) $(UV) run --frozen python -m tests.chaos --faults 24

bench: deps  ## the benchmark (its own PostgreSQL and Kafka): bench/results/{results.md,json,plot.png}
	@$(UV) run --frozen python -m bench
