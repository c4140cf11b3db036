// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "auditpipe",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "auditpipe", targets: ["auditpipe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Already in the graph through swift-nio-ssl and Hummingbird; the ingress reads client certificates' CN with it.
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        // HMAC-SHA256 and SHA-256 for AWS Signature V4 only (already in the graph through swift-certificates).
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // Falco's gRPC outputs service (the grpc output).
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // simdjson behind a small C interface: Swift never sees C++ types.
        .target(
            name: "CSimdJSON",
            cxxSettings: [.unsafeFlags(["-O3", "-std=c++17"])],
            linkerSettings: [.linkedLibrary("simdjson"), .linkedLibrary("stdc++")]
        ),
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        // zlib, for gzip-encoded webhook bodies.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "Kafka", dependencies: ["CRdKafka"]),
        .target(name: "AuditModel", dependencies: ["CSimdJSON"]),
        .target(name: "Rules", dependencies: ["AuditModel", "Yams"]),
        // The configuration file's decoder and value types (durations, sizes, addresses), shared by every stage.
        .target(name: "Settings", dependencies: ["Yams"]),
        // Falco's gRPC API (proto/falco), generated once with protoc and committed: see proto/README.md.
        .target(
            name: "FalcoOutputsAPI",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // Where alerts go: one file per output over one delivery policy.
        .target(
            name: "Outputs",
            dependencies: [
                "Rules", "AuditModel", "Kafka", "Settings", "FalcoOutputsAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The stages (ingress, engine, sink, replay), their configuration and observability; all stages in one
        // process (auditpipe run); the load generator.
        .target(
            name: "Pipeline",
            dependencies: [
                "Kafka", "AuditModel", "Rules", "Outputs", "Settings", "Yams", "CZlib", "Workload",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "auditpipe",
            dependencies: [
                "Rules", "AuditModel", "Kafka", "Pipeline", "Outputs", "Settings",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Realistic audit events (a busy control plane with a few attacks) for benchmarks and the load generator.
        .target(name: "Workload", dependencies: ["AuditModel"]),
        .executableTarget(name: "AuditpipeBench", dependencies: ["Rules", "AuditModel", "Workload"]),
        // The ingress against an in-process dev cluster, and kcat for scale (make bench).
        .executableTarget(
            name: "IngressBench",
            dependencies: [
                "Pipeline", "Kafka", "Settings", "Workload",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // make bench: the whole pipeline end to end (loadgen → ingress → engine → alerts topic), as auditpipe run.
        .executableTarget(
            name: "PipelineBench",
            dependencies: [
                "Pipeline", "Kafka", "Rules", "Settings", "Workload",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // make bench: alerts/s through the sink (a Kafka output topic, and the http output when it exists).
        .executableTarget(
            name: "SinkBench",
            dependencies: [
                "Pipeline", "Outputs", "Rules", "Kafka", "Settings", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The engine stage's benchmark: a dev cluster in-process, kcat as the Kafka floor.
        .executableTarget(
            name: "EngineBench",
            dependencies: [
                "Pipeline", "Kafka", "Rules", "Settings", "Workload",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // make bench: the grpc output's throughput and latency to subscribed clients.
        .executableTarget(
            name: "GRPCOutputBench",
            dependencies: [
                "Outputs", "Rules", "Kafka", "Workload", "FalcoOutputsAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Helpers shared by the test targets: clusters, topic readers, bounded waits, servers.
        .target(
            name: "TestSupport",
            dependencies: [
                "Kafka", "Rules",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "AuditModelTests", dependencies: ["AuditModel"]),
        .testTarget(name: "RulesTests", dependencies: ["Rules", "AuditModel"]),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka", "TestSupport"]),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "Pipeline", "Outputs", "Rules", "Kafka", "Settings", "TestSupport", "Workload",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "OutputsTests",
            dependencies: [
                "Outputs", "Rules", "AuditModel", "Kafka", "Settings", "TestSupport", "FalcoOutputsAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            // Programs the tests run (servers, the Python Falco gRPC client), read from the source tree, not bundled.
            exclude: ["Resources"]
        ),
        .testTarget(
            name: "AuditpipeCLITests",
            dependencies: [
                "auditpipe", "TestSupport", "Kafka", "Workload", "Pipeline", "Settings", "Rules", "Outputs",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
