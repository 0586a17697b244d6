/// A run's status; unknown values are kept rather than failing the decode (§2.2).
public enum RunStatus: Sendable, Hashable, Codable, RawRepresentable, CustomStringConvertible {
    /// Accepted, not started.
    case queued
    /// Executing.
    case running
    /// `action_required`: undocumented and not active; treat as stalled (poll slowly, alert).
    case actionRequired
    /// Being cancelled (no cancel API exists upstream).
    case cancelling
    /// Done; the result is available.
    case completed
    /// Done with `error` set; `/result` answers 404.
    case failed
    /// Cancelled (terminal).
    case cancelled
    /// A value this client does not know yet.
    case unknown(String)

    public init(rawValue: String) {
        switch rawValue {
        case "queued": self = .queued
        case "running": self = .running
        case "action_required": self = .actionRequired
        case "cancelling": self = .cancelling
        case "completed": self = .completed
        case "failed": self = .failed
        case "cancelled": self = .cancelled
        default: self = .unknown(rawValue)
        }
    }

    public var rawValue: String {
        switch self {
        case .queued: return "queued"
        case .running: return "running"
        case .actionRequired: return "action_required"
        case .cancelling: return "cancelling"
        case .completed: return "completed"
        case .failed: return "failed"
        case .cancelled: return "cancelled"
        case .unknown(let value): return value
        }
    }

    /// True for `queued`, `running` and `cancelling`, the statuses Parallel reports as `is_active`.
    public var isActive: Bool { self == .queued || self == .running || self == .cancelling }

    /// True for `completed`, `failed` and `cancelled`.
    public var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A warning attached to an accepted run (`spec_validation_warning`, `input_validation_warning`, `warning`, …).
public struct RunWarning: Sendable, Hashable, Codable {
    /// Warning kind; new kinds may appear.
    public var type: String
    /// Human-readable text.
    public var message: String
    /// Extra structured detail.
    public var detail: JSONValue?

    /// Creates a warning.
    public init(type: String, message: String, detail: JSONValue? = nil) {
        self.type = type
        self.message = message
        self.detail = detail
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = (try? container.decodeIfPresent(String.self, forKey: .type)) ?? "warning"
        message = (try? container.decodeIfPresent(String.self, forKey: .message)) ?? ""
        detail = try? container.decodeIfPresent(JSONValue.self, forKey: .detail)
    }
}

/// The run object (§2.2).
public struct TaskRun: Sendable, Hashable, Codable {
    /// `trun_…`.
    public var runID: String
    /// Equal to `runID` in every example; reuse it as `previous_interaction_id`.
    public var interactionID: String?
    /// Current status.
    public var status: RunStatus
    /// Whether the run is queued, running or cancelling (derived from `status` when absent).
    public var isActive: Bool
    /// Processor the run uses.
    public var processor: String
    /// Metadata as submitted.
    public var metadata: [String: JSONValue]?
    /// Group the run belongs to (wire name `taskgroup_id`).
    public var taskgroupID: String?
    /// Set when the run failed.
    public var error: UpstreamError?
    /// Spec or input warnings.
    public var warnings: [RunWarning]?
    /// RFC 3339 creation time.
    public var createdAt: String?
    /// RFC 3339 time of the last status change.
    public var modifiedAt: String?

    /// Creates a run value (tests, simulators of our own).
    public init(runID: String, interactionID: String? = nil, status: RunStatus, isActive: Bool? = nil,
                processor: String = "", metadata: [String: JSONValue]? = nil, taskgroupID: String? = nil,
                error: UpstreamError? = nil, warnings: [RunWarning]? = nil, createdAt: String? = nil,
                modifiedAt: String? = nil) {
        self.runID = runID
        self.interactionID = interactionID
        self.status = status
        self.isActive = isActive ?? status.isActive
        self.processor = processor
        self.metadata = metadata
        self.taskgroupID = taskgroupID
        self.error = error
        self.warnings = warnings
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
    }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id", interactionID = "interaction_id", status, isActive = "is_active", processor, metadata
        case taskgroupID = "taskgroup_id", error, warnings, createdAt = "created_at", modifiedAt = "modified_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        runID = try container.decode(String.self, forKey: .runID)
        interactionID = try? container.decodeIfPresent(String.self, forKey: .interactionID)
        status = try container.decode(RunStatus.self, forKey: .status)
        isActive = (try? container.decodeIfPresent(Bool.self, forKey: .isActive)) ?? status.isActive
        processor = (try? container.decodeIfPresent(String.self, forKey: .processor)) ?? ""
        metadata = try? container.decodeIfPresent([String: JSONValue].self, forKey: .metadata)
        taskgroupID = try? container.decodeIfPresent(String.self, forKey: .taskgroupID)
        error = try? container.decodeIfPresent(UpstreamError.self, forKey: .error)
        warnings = try? container.decodeIfPresent([RunWarning].self, forKey: .warnings)
        createdAt = try? container.decodeIfPresent(String.self, forKey: .createdAt)
        modifiedAt = try? container.decodeIfPresent(String.self, forKey: .modifiedAt)
    }
}
