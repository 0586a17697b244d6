import Foundation

/// An `upstream-sim` started for one test on free ports (`--port 0`), stopped on `stop()` or when released.
/// Every test suite that talks to the simulator starts it through here, so the binary look-up, the ready-line
/// protocol and the keys live in one place.
public final class SimulatorProcess: @unchecked Sendable {
    // @unchecked: `Process` is not Sendable; after `init` it is only terminated and waited on, which is safe
    // from any thread.
    public static let parallelKey = "sim-parallel-key"
    public static let resendKey = "re_sim_key"
    public static let webhookSecret = "sim_webhook_secret_123"

    /// `UPSTREAM_SIM_BIN`, else the debug build of this package.
    public static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["UPSTREAM_SIM_BIN"], !path.isEmpty { return path }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent(".build/debug/upstream-sim").path
    }()

    /// True when the binary exists, or when `MARKETLENS_REQUIRE_SIM=1` makes a missing one a failure instead of a skip.
    public static var isEnabled: Bool {
        FileManager.default.isExecutableFile(atPath: binary)
            || ProcessInfo.processInfo.environment["MARKETLENS_REQUIRE_SIM"] == "1"
    }

    /// The Parallel base URL, e.g. `http://127.0.0.1:40123`.
    public let parallelURL: String
    /// The Resend base URL.
    public let resendURL: String
    private let process: Process

    /// Why the simulator did not start.
    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts the simulator with `apiKey` (default the standard key), the standard Resend key and webhook secret,
    /// `timeScale`, and `arguments` appended.
    public init(timeScale: Double = 0.02, apiKey: String = SimulatorProcess.parallelKey, arguments: [String] = []) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw StartError(description: "upstream-sim binary missing at \(Self.binary): build it or set UPSTREAM_SIM_BIN")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "--port", "0", "--resend-port", "0", "--time-scale", String(timeScale),
            "--api-key", apiKey, "--resend-api-key", Self.resendKey, "--webhook-secret", Self.webhookSecret,
        ] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line: [UInt8] = []
        while !line.contains(10) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        var fields: [String: String] = [:]
        for part in text.split(separator: " ").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { fields[pair[0]] = pair[1] }
        }
        guard text.hasPrefix("upstream-sim "), let parallel = fields["parallel"], let resend = fields["resend"] else {
            process.terminate()
            process.waitUntilExit()
            throw StartError(description: "unexpected upstream-sim ready line: \(text)")
        }
        parallelURL = parallel
        resendURL = resend
        self.process = process
    }

    /// Stops the simulator and waits for it to exit (idempotent).
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}
