# auditpipe: one image for every stage (ingress, engine, sink, run, replay, check).
#   docker build -t auditpipe/auditpipe:latest .
# Build stage: the Swift toolchain plus the C libraries auditpipe links (librdkafka, simdjson).
ARG SWIFT_IMAGE=swift:6.3-bookworm
FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      pkg-config libsimdjson-dev librdkafka-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that source changes do not fetch them again.
COPY Package.swift ./
RUN swift package resolve
# Tests too: SwiftPM checks that every target of Package.swift has its directory, even when building one product.
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product auditpipe --static-swift-stdlib \
 && install -D .build/release/auditpipe /out/auditpipe

# Runtime stage: Debian slim with only the shared libraries auditpipe needs, as a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librdkafka1 libsimdjson14 zlib1g ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 auditpipe \
 && useradd --system --uid 10001 --gid auditpipe --home-dir /nonexistent --shell /usr/sbin/nologin auditpipe
COPY --from=build /out/auditpipe /usr/local/bin/auditpipe
COPY rules /etc/auditpipe/rules
USER 10001:10001
# 8765: the audit webhook (ingress); 9464: engine metrics; 9465: sink metrics.
EXPOSE 8765 9464 9465
ENTRYPOINT ["/usr/local/bin/auditpipe"]
CMD ["--help"]
