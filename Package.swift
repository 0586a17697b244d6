// swift-tools-version:6.1
import PackageDescription

/// Every Swift target: Swift 6 language mode, explicit `any`, and internal imports so no C type leaks into a public API.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let log = Target.Dependency.product(name: "Logging", package: "swift-log")

let package = Package(
    name: "marketlens",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "marketlens", targets: ["MarketLensCLI"]),
        .executable(name: "upstream-sim", targets: ["UpstreamSim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"4.0.0"),
    ],
    targets: [
        // C libraries: a module map and a shim header each, nothing else.
        .systemLibrary(name: "CFastCGI", path: "Sources/CFastCGI"),
        .systemLibrary(name: "CPostgres", path: "Sources/CPostgres", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCmark", path: "Sources/CCmark"),
        .systemLibrary(name: "CProcess", path: "Sources/CProcess"),

        // Thin wrappers: the only modules that import a C module.
        .target(name: "FastCGI", dependencies: ["CFastCGI"], swiftSettings: strict),
        .target(name: "Postgres", dependencies: ["CPostgres"], swiftSettings: strict),
        .target(name: "HTTPClient", dependencies: ["CCurl"], swiftSettings: strict),
        .target(name: "Markdown", dependencies: ["CCmark", "Web"], swiftSettings: strict),

        // Pure Swift layers.
        .target(name: "ServerSentEvents", swiftSettings: strict),
        .target(name: "Web", dependencies: [log], swiftSettings: strict),
        .target(name: "ReportFigures", dependencies: ["Web"], swiftSettings: strict),
        .target(name: "FastCGIServer", dependencies: ["FastCGI", "CProcess", "Web", log], swiftSettings: strict),
        .target(name: "ParallelAPI", dependencies: ["HTTPClient", "ServerSentEvents", log], swiftSettings: strict),
        .target(name: "ResendAPI", dependencies: ["HTTPClient", log], swiftSettings: strict),
        .target(name: "Migrations", dependencies: ["Postgres", log], swiftSettings: strict),
        // The event engine: leased work, followed upstream transfers, database lanes, the live streams (relay hub,
        // writer, replay). Knows no report or batch.
        .target(name: "Engine", dependencies: ["Postgres", "HTTPClient", "ServerSentEvents", "Web", log],
                swiftSettings: strict),
        .target(
            name: "MarketLens",
            dependencies: [
                "Web", "ReportFigures", "Postgres", "Markdown", "HTTPClient", "ParallelAPI", "Engine", "ResendAPI", "Migrations", log,
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict),

        // Executables.
        .executableTarget(
            name: "MarketLensCLI",
            dependencies: [
                "MarketLens", "Engine", "FastCGIServer", "Migrations", "Postgres", "HTTPClient", "Web", log,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "UpstreamSim",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),

        // Tests: one target per module plus shared support (test FastCGI client, database helpers, fixtures).
        .target(name: "TestSupport", dependencies: ["Postgres", log], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "FastCGITests", dependencies: ["FastCGI", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "MarkdownTests", dependencies: ["Markdown"], swiftSettings: strict),
        .testTarget(name: "ServerSentEventsTests", dependencies: ["ServerSentEvents"], swiftSettings: strict),
        .testTarget(name: "WebTests", dependencies: ["Web"], swiftSettings: strict),
        .testTarget(name: "ReportFiguresTests", dependencies: ["ReportFigures"], swiftSettings: strict),
        .testTarget(name: "FastCGIServerTests", dependencies: ["FastCGIServer", "Web", "TestSupport"],
                    swiftSettings: strict),
        .testTarget(name: "ParallelAPITests", dependencies: ["ParallelAPI", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ResendAPITests", dependencies: ["ResendAPI", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "MigrationsTests", dependencies: ["Migrations", "Postgres", "TestSupport", log],
                    swiftSettings: strict),
        .testTarget(name: "MarketLensTests", dependencies: ["MarketLens", "ReportFigures", "Web", "Postgres", "Migrations", "TestSupport",
                                                      "ParallelAPI", "FastCGIServer", "HTTPClient", "ResendAPI", "Engine", log],
                    swiftSettings: strict),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Postgres", "HTTPClient", "ParallelAPI", "TestSupport", "Web", log],
                    swiftSettings: strict),
        .testTarget(name: "UpstreamSimTests", dependencies: ["UpstreamSim", "ReportFigures"], swiftSettings: strict),
    ]
)
