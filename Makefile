# Entry points only: the logic lives in the three installable parts (docs/architecture.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
CDK    := node_modules/.bin/cdk
ENV    ?= dev
STAMP  := $(VENV)/.installed

# The pinned Node.js (package.json) runs the CDK CLI and the jsii runtime behind aws-cdk-lib.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
export CDK_DISABLE_VERSION_CHECK := 1

.PHONY: help setup synth diff deploy rollback test unit lint typecheck serve train \
        deploy-local diff-local destroy-local local-down pr-review bench bench-serving

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt model_image/requirements.txt model_image/requirements-train.txt \
          pyproject.toml model_image/pyproject.toml tools/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt -r model_image/requirements.txt -r model_image/requirements-train.txt
	$(PY) -m pip install --quiet --no-deps -e . -e './model_image[train]' -e ./tools
	touch $@

CHECKOV_STAMP := .venv-checkov/.installed
$(CHECKOV_STAMP): requirements-checkov.txt
	test -x .venv-checkov/bin/python || python3 -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

$(CDK): package.json package-lock.json
	npm ci --no-fund --no-audit --loglevel=error
	touch $@

setup: $(STAMP) $(CHECKOV_STAMP) $(CDK) ## Install the Python venv and the pinned CDK CLI (idempotent)

synth: setup ## Synthesize every environment into cdk.out/
	$(CDK) synth --quiet

diff: setup ## cdk diff one environment against its AWS account: make diff ENV=staging
	$(CDK) diff '$(ENV)/*'

deploy: setup ## cdk deploy one environment to its AWS account: make deploy ENV=dev
	$(CDK) deploy '$(ENV)/*' --require-approval broadening

rollback: setup ## Point ENV back at a release already in its repository, building nothing: make rollback ENV=prod TO=<tag>
	$(if $(TO),,$(error TO is required: the release tag to go back to, e.g. make rollback ENV=prod TO=1.0.0-0123456789ab))
	$(CDK) deploy '$(ENV)/*' -c rollback=$(ENV)=$(TO) --require-approval broadening

unit: setup ## Fast tests, no docker: CDK assertions, snapshots, policy checks, model server, tools
	$(PY) -m pytest -m "not e2e and not image" -q

test: setup ## Every test, the local-cloud end-to-end deploy included (what CI runs)
	$(VENV)/bin/local-cloud install-deps
	$(VENV)/bin/local-cloud engine
	$(PY) -m pytest -q

lint: setup ## ruff, and mypy --strict over each of the three parts on its own
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy app.py config stacks ml_constructs tests
	$(PY) -m mypy model_image
	$(PY) -m mypy tools

serve: setup ## Run the model server locally without docker on port 8080 (PORT overrides)
	MODEL_DIR=model_image/model $(PY) -m model_server serve

train: setup ## Re-train the iris model and re-export model_image/model/
	$(PY) -m model_training.train

deploy-local: setup ## Full cdk deploy of the local stages into this machine's local cloud, verified
	$(VENV)/bin/local-cloud deploy

diff-local: setup ## cdk diff of the local stages against the running local cloud
	$(VENV)/bin/local-cloud diff

destroy-local: setup ## cdk destroy of the local stages (their repositories are deleted)
	$(VENV)/bin/local-cloud destroy

local-down: setup ## Stop what the local cloud started and undo its machine changes (registry data kept)
	$(VENV)/bin/local-cloud down

pr-review: setup ## Markdown review of stack changes against BASE (no AWS credentials): make pr-review BASE=origin/main
	$(VENV)/bin/pr-review --base $(or $(BASE),origin/main)

bench: setup ## Run every benchmark and print the numbers for BENCHMARKS.md
	$(VENV)/bin/delivery-bench

bench-serving: setup ## Our model server against gunicorn+Flask, MLServer and KServe (needs wrk: apt-get install wrk)
	$(VENV)/bin/delivery-bench serving
