# auditpipe: `make test` and `make bench` install what they need, build, and run.
SWIFT ?= swift
APT_PACKAGES := pkg-config libsimdjson-dev librdkafka-dev zlib1g-dev kcat openssl
# Servers the output tests start on loopback (each test starts and stops its own).
APT_PACKAGES += prometheus-alertmanager influxdb nats-server
# Python packages of the servers the tests start, as MODULE=PACKAGE: installed when MODULE does not import.
PIP_PACKAGES := aiosmtpd=aiosmtpd moto.server=moto[server]
# grpcio, grpcio-tools: a Falco gRPC client generated from proto/falco by the grpc output's tests.
PIP_PACKAGES += grpc=grpcio grpc_tools=grpcio-tools
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build release test bench clean

# Installs the Debian and Python packages that are missing (and only those).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make: installing$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@set -f; missing=""; for spec in $(PIP_PACKAGES); do \
		$(PYTHON) -c "import $${spec%%=*}" >/dev/null 2>&1 || missing="$$missing $${spec#*=}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make: installing (pip)$$missing"; \
		$(PYTHON) -m pip install --quiet $$missing 2>/dev/null || \
		$(PYTHON) -m pip install --quiet --break-system-packages $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product auditpipe

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Benchmarks are separate from tests: they print throughput and latency, assert nothing.
bench: deps
	$(SWIFT) build -c release --product AuditpipeBench
	$(SWIFT) build -c release --product SinkBench
	$(SWIFT) build -c release --product EngineBench
	$(SWIFT) build -c release --product IngressBench
	$(SWIFT) build -c release --product GRPCOutputBench
	.build/release/AuditpipeBench --falco-rules ../shared/falco/k8s_audit_rules.yaml
	.build/release/IngressBench
	.build/release/SinkBench
	.build/release/EngineBench --falco-rules ../shared/falco/k8s_audit_rules.yaml
	.build/release/GRPCOutputBench --falco-rules ../shared/falco/k8s_audit_rules.yaml

clean:
	rm -rf .build
