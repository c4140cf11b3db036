// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "auditpipe",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "auditpipe", targets: ["auditpipe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // simdjson behind a small C interface: Swift never sees C++ types.
        .target(
            name: "CSimdJSON",
            cxxSettings: [.unsafeFlags(["-O3", "-std=c++17"])],
            linkerSettings: [.linkedLibrary("simdjson"), .linkedLibrary("stdc++")]
        ),
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .target(name: "Kafka", dependencies: ["CRdKafka"]),
        .target(name: "AuditModel", dependencies: ["CSimdJSON"]),
        .target(name: "Rules", dependencies: ["AuditModel", "Yams"]),
        .executableTarget(
            name: "auditpipe",
            dependencies: [
                "Rules", "AuditModel", "Kafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "AuditpipeBench", dependencies: ["Rules", "AuditModel"]),
        .testTarget(name: "AuditModelTests", dependencies: ["AuditModel"]),
        .testTarget(name: "RulesTests", dependencies: ["Rules", "AuditModel"]),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka"]),
        .testTarget(name: "AuditpipeCLITests", dependencies: ["auditpipe"]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
