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

.PHONY: deps build release test bench run clean

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

# make run: the whole pipeline in one process (embedded Kafka, the project's rules, alerts on this terminal), fed the
# built-in sample through the real webhook once the ingress is ready. Ctrl-C stops auditpipe gracefully (the trap
# forwards it as SIGTERM and waits), leaving no process behind.
RUN_RULES ?= rules/auditpipe_rules.yaml
RUN_LISTEN ?= 127.0.0.1:8765
run: release
	@.build/release/auditpipe run $(foreach f,$(RUN_RULES),--rules $(f)) --listen $(RUN_LISTEN) & pid=$$!; \
	trap 'kill -TERM $$pid 2>/dev/null; wait $$pid; exit 0' INT TERM; \
	.build/release/auditpipe loadgen --sample --url http://$(RUN_LISTEN) --wait-ready 60s --report-every 0 >&2 \
		&& echo "make run: the sample went through the webhook; alerts above. POST more to http://$(RUN_LISTEN)/k8s-audit/<cluster>; Ctrl-C stops." >&2; \
	wait $$pid

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
	$(SWIFT) build -c release --product PipelineBench
	.build/release/AuditpipeBench --falco-rules ../shared/falco/k8s_audit_rules.yaml
	.build/release/IngressBench
	.build/release/SinkBench
	.build/release/EngineBench --falco-rules ../shared/falco/k8s_audit_rules.yaml
	.build/release/GRPCOutputBench --falco-rules ../shared/falco/k8s_audit_rules.yaml
	.build/release/PipelineBench --falco-rules ../shared/falco/k8s_audit_rules.yaml

clean:
	rm -rf .build
