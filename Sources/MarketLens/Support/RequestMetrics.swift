import Engine
import Synchronization

/// Request counters of this worker process, shared by all its request threads (hence the `Mutex`), exposed in
/// Prometheus text format on `/metrics`. Each worker process reports its own; the `worker` label tells them apart.
public final class RequestMetrics: Sendable {
    private struct Counts {
        var byStatusClass: [String: Int] = [:]
        var durationSum: Double = 0
        var durationCount: Int = 0
        var inFlight: Int = 0
        var buckets: [Int] = Array(repeating: 0, count: RequestMetrics.bucketBounds.count)
    }

    /// Upper bounds (seconds) of the latency histogram buckets.
    static let bucketBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private let counts = Mutex(Counts())
    /// The worker index its series are labelled with.
    public let workerLabel: String

    /// `worker` names this process in the exported labels (e.g. its index).
    public init(worker: String) { workerLabel = worker }

    /// Marks a request as started.
    public func begin() { counts.withLock { $0.inFlight += 1 } }

    /// Records a finished request with its status and duration in seconds.
    public func end(status: Int, seconds: Double) {
        counts.withLock { counts in
            counts.inFlight -= 1
            counts.byStatusClass["\(status / 100)xx", default: 0] += 1
            counts.durationSum += seconds
            counts.durationCount += 1
            for (index, bound) in Self.bucketBounds.enumerated() where seconds <= bound {
                counts.buckets[index] += 1
            }
        }
    }

    /// The counters in Prometheus text exposition format.
    /// The text, with the live-stream counters of this worker (`RelayHub.counters`) when given.
    public func prometheusText(live: (open: Int, shed: Int, overflows: Int)? = nil) -> String {
        let snapshot = counts.withLock { $0 }
        let label = "worker=\"\(workerLabel)\""
        var lines = [
            "# HELP marketlens_http_requests_total Requests answered by this worker, by status class.",
            "# TYPE marketlens_http_requests_total counter",
        ]
        for statusClass in snapshot.byStatusClass.keys.sorted() {
            lines.append(
                "marketlens_http_requests_total{\(label),status=\"\(statusClass)\"} \(snapshot.byStatusClass[statusClass] ?? 0)")
        }
        lines += [
            "# HELP marketlens_http_requests_in_flight Requests being answered right now (open live streams are counted apart).",
            "# TYPE marketlens_http_requests_in_flight gauge",
            "marketlens_http_requests_in_flight{\(label)} \(snapshot.inFlight)",
            "# HELP marketlens_http_request_duration_seconds Time to answer a request.",
            "# TYPE marketlens_http_request_duration_seconds histogram",
        ]
        for (index, bound) in Self.bucketBounds.enumerated() {
            lines.append("marketlens_http_request_duration_seconds_bucket{\(label),le=\"\(bound)\"} \(snapshot.buckets[index])")
        }
        lines += [
            "marketlens_http_request_duration_seconds_bucket{\(label),le=\"+Inf\"} \(snapshot.durationCount)",
            "marketlens_http_request_duration_seconds_sum{\(label)} \(snapshot.durationSum)",
            "marketlens_http_request_duration_seconds_count{\(label)} \(snapshot.durationCount)",
        ]
        if let live {
            lines += [
                "# HELP marketlens_live_streams_open Live event streams open in this worker.",
                "# TYPE marketlens_live_streams_open gauge",
                "marketlens_live_streams_open{\(label)} \(live.open)",
                "# HELP marketlens_live_streams_shed_total Live streams answered with retry: because the worker was full.",
                "# TYPE marketlens_live_streams_shed_total counter",
                "marketlens_live_streams_shed_total{\(label)} \(live.shed)",
                "# HELP marketlens_live_streams_overflowed_total Slow viewers disconnected at their queue bound.",
                "# TYPE marketlens_live_streams_overflowed_total counter",
                "marketlens_live_streams_overflowed_total{\(label)} \(live.overflows)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
