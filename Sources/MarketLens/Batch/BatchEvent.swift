public import Foundation

/// The event vocabulary of seed 001 (`POST /research/batch/stream`): names, payload fields and their order.
/// Stored events live in `batch_events` (id = seq); `connected` and `heartbeat` are written by the streaming
/// request thread only.
public enum BatchEventType: String, Sendable, CaseIterable {
    case connected, heartbeat, disconnected
    case pipelineStart = "pipeline_start"
    case evidenceProgress = "evidence_progress"
    case evidenceComplete = "evidence_complete"
    case analysisStart = "analysis_start"
    case domainAnalyzed = "domain_analyzed"
    case pipelineComplete = "pipeline_complete"
    case completed
    case error
    case streamError = "stream_error"

    /// Top-level payload keys in the seed's order; keys not listed follow in sorted order.
    public var keyOrder: [String] {
        switch self {
        case .connected, .disconnected: ["message", "timestamp"]
        case .heartbeat: ["timestamp", "message"]
        case .pipelineStart: ["type", "message", "domains", "total_strategies", "timestamp"]
        case .evidenceProgress: ["type", "progress", "completed", "total", "domains_with_evidence", "timestamp"]
        case .evidenceComplete: ["type", "message", "total_evidence", "domains_with_evidence", "timestamp"]
        case .analysisStart: ["type", "message", "domains_to_analyze", "timestamp"]
        case .domainAnalyzed:
            ["type", "domain", "confidence", "evidence_count", "technologies", "progress", "total", "timestamp"]
        case .pipelineComplete:
            ["type", "message", "summary", "results", "high_confidence_results", "metrics", "timestamp"]
        case .completed: ["message", "total_events", "timestamp"]
        case .error: ["message", "recoverable", "timestamp"]
        case .streamError: ["message", "error", "timestamp"]
        }
    }

    /// Whether the stream ends after this event.
    public var isTerminal: Bool { self == .completed || self == .streamError }
}

/// Seconds since 1970 with millisecond precision, as the seed's `timestamp` fields.
public func batchTimestamp(_ date: Date = Date()) -> Double {
    (date.timeIntervalSince1970 * 1000).rounded() / 1000
}

/// Payloads of the stored events (field names exactly as seed 001).
enum BatchPayload {
    struct PipelineStart: Encodable {
        var type = "pipeline_start"
        var message = "Starting evidence collection"
        var domains: [String]
        var totalStrategies: Int
        var batchID: String
        var timestamp = batchTimestamp()
        enum CodingKeys: String, CodingKey {
            case type, message, domains, totalStrategies = "total_strategies", batchID = "batch_id", timestamp
        }
    }

    struct EvidenceProgress: Encodable {
        var type = "evidence_progress"
        var progress: Int
        var completed: Int
        var total: Int
        var domainsWithEvidence: Int
        var timestamp = batchTimestamp()
        enum CodingKeys: String, CodingKey {
            case type, progress, completed, total, domainsWithEvidence = "domains_with_evidence", timestamp
        }
    }

    struct EvidenceComplete: Encodable {
        var type = "evidence_complete"
        var message = "Evidence collection finished"
        var totalEvidence: Int
        var domainsWithEvidence: Int
        var timestamp = batchTimestamp()
        enum CodingKeys: String, CodingKey {
            case type, message, totalEvidence = "total_evidence", domainsWithEvidence = "domains_with_evidence"
            case timestamp
        }
    }

    struct AnalysisStart: Encodable {
        var type = "analysis_start"
        var message = "Starting domain analysis"
        var domainsToAnalyze: Int
        var timestamp = batchTimestamp()
        enum CodingKeys: String, CodingKey {
            case type, message, domainsToAnalyze = "domains_to_analyze", timestamp
        }
    }

    struct DomainAnalyzed: Encodable {
        var type = "domain_analyzed"
        var domain: String
        var confidence: Double
        var evidenceCount: Int
        var technologies: [String]
        var progress: Int
        var total: Int
        /// `completed` or `failed` (a failed domain is reported with confidence 0 and its `error`).
        var status: String
        var error: String?
        var timestamp = batchTimestamp()
        enum CodingKeys: String, CodingKey {
            case type, domain, confidence, evidenceCount = "evidence_count", technologies, progress, total, status
            case error, timestamp
        }
    }

    struct PipelineComplete: Encodable {
        var type = "pipeline_complete"
        var message = "Research pipeline completed"
        var summary: Summary
        var results: [DomainResult]
        var highConfidenceResults: [DomainResult]
        var metrics: Metrics
        var timestamp = batchTimestamp()
        enum CodingKeys: String, CodingKey {
            case type, message, summary, results, highConfidenceResults = "high_confidence_results", metrics, timestamp
        }
    }

    struct Summary: Codable, Equatable {
        var totalDomains: Int
        var domainsAnalyzed: Int
        var highConfidenceMatches: Int
        var avgConfidence: Double
        var totalEvidence: Int
        var processingTime: Double
        enum CodingKeys: String, CodingKey {
            case totalDomains = "total_domains", domainsAnalyzed = "domains_analyzed"
            case highConfidenceMatches = "high_confidence_matches", avgConfidence = "avg_confidence"
            case totalEvidence = "total_evidence", processingTime = "processing_time"
        }
    }

    struct Metrics: Codable, Equatable {
        var queriesPerSecond: Double
        var failedRequests: Int
        enum CodingKeys: String, CodingKey {
            case queriesPerSecond = "queries_per_second", failedRequests = "failed_requests"
        }
    }

    struct Completed: Encodable {
        var message = "Research pipeline completed successfully"
        var totalEvents: Int
        var timestamp = batchTimestamp()
        enum CodingKeys: String, CodingKey { case message, totalEvents = "total_events", timestamp }
    }

    struct ErrorEvent: Encodable {
        var message: String
        var recoverable: Bool
        var domain: String?
        var timestamp = batchTimestamp()
    }

    struct StreamError: Encodable {
        var message = "Stream ended due to error"
        var error: String
        var timestamp = batchTimestamp()
    }

    /// `connected`, `heartbeat` and `disconnected` (not stored).
    struct Connection: Encodable {
        var message: String
        var batchID: String?
        var timestamp = batchTimestamp()
        enum CodingKeys: String, CodingKey { case message, batchID = "batch_id", timestamp }
    }
}

/// One evidence item: a source URL with what it says.
public struct Evidence: Codable, Sendable, Equatable {
    public var url: String
    public var title: String?
    public var excerpt: String?
}

/// One domain's stored result, as `results[]` of `pipeline_complete` and `GET /research/batch/{id}` show it.
public struct DomainResult: Codable, Sendable, Equatable {
    public var domain: String
    public var status: String
    public var matches: Bool?
    public var confidence: Double
    public var evidenceCount: Int
    public var technologies: [String]
    public var evidence: [Evidence]
    public var summary: String?
    public var error: String?
    public var runID: String?

    enum CodingKeys: String, CodingKey {
        case domain, status, matches, confidence, evidenceCount = "evidence_count", technologies, evidence, summary
        case error, runID = "run_id"
    }
}
