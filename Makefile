# The verbs people type. `make test` on a fresh machine installs what it needs and runs everything.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PROTO_FILES := $(shell find proto/akri_proto -name '*.proto' | sort)
HANDWRITTEN := services tests demo testbed/akri_testbed images

.PHONY: setup testbed images proto crds chart go-handler lint typecheck contracts unit integration test bench demo clean

setup:
	@bash scripts/setup.sh

## testbed: build the real control plane and node binaries (cached outside the tree; see testbed/README.md)
testbed:
	@bash testbed/build.sh

## images: build every service's OCI image archive (IMAGES="agent ..." for some; see images/README.md)
images: setup
	@$(PY) -m akri_images build $(IMAGES)

## proto: regenerate the Python for every .proto (messages, gRPC stubs and their .pyi)
proto: setup
	@$(PY) -m akri_proto.generate

## crds: regenerate the CRD YAML in helm/akri/crds from the Python schemas
crds: setup
	@$(PY) -m akri_common.crds.schema --out helm/akri/crds

## chart: lint the Helm chart with the testbed's helm (its tests: tests/integration/test_chart*.py)
chart: testbed
	@"$$(bash testbed/build.sh --paths | sed -n 's/^helm=//p')" lint helm/akri --strict

## go-handler: build the Go example discovery handler (static; `build.sh generate` regenerates v0/)
go-handler:
	@bash examples/handlers/go/build.sh

lint: setup
	$(VENV)/bin/ruff check $(HANDWRITTEN) proto/akri_proto/generate.py
	$(VENV)/bin/ruff format --check $(HANDWRITTEN) proto/akri_proto/generate.py

typecheck: setup
	$(VENV)/bin/mypy services tests demo testbed/akri_testbed images proto/akri_proto/generate.py

contracts: setup
	$(VENV)/bin/lint-imports

unit: setup
	$(PY) -m pytest tests/unit -q

integration: setup
	$(PY) -m pytest tests/integration -q

## test: lint, types, import contracts and every test
test: lint typecheck contracts testbed images
	$(PY) -m pytest tests/unit tests/integration tests/e2e -q -m "not umockdev"
	umockdev-wrapper $(PY) -m pytest tests/unit tests/integration -q -m umockdev

## bench: benchmarks that print medians, p95 and memory
bench: setup testbed images
	@bash scripts/setup.sh --runtime
	@.venv-runtime/bin/python -m compileall -q proto services  # bytecode, as the images carry it
	AKRI_RUNTIME_PYTHON=$(CURDIR)/.venv-runtime/bin/python $(PY) -m pytest tests/bench -q -s -m "not umockdev"
	AKRI_RUNTIME_PYTHON=$(CURDIR)/.venv-runtime/bin/python umockdev-wrapper $(PY) -m pytest tests/bench -q -s -m umockdev

## demo: helm install of the chart on a two-node container testbed, live (ARGS=--once: once, checked; ARGS=--local: no cluster)
demo: setup testbed images
	PYTHONPATH=testbed $(PY) -m demo $(ARGS)

clean:
	rm -rf $(VENV) .venv-runtime .mypy_cache .ruff_cache .pytest_cache
