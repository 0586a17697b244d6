/// A task group (§4).
public struct TaskGroup: Sendable, Hashable, Codable {
    /// `tgrp_…`.
    public var taskgroupID: String
    /// Metadata given at creation.
    public var metadata: [String: JSONValue]?
    /// RFC 3339 creation time.
    public var createdAt: String?
    /// Run counts and activity.
    public var status: TaskGroupStatus

    enum CodingKeys: String, CodingKey {
        case taskgroupID = "taskgroup_id", metadata, createdAt = "created_at", status
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        taskgroupID = try container.decode(String.self, forKey: .taskgroupID)
        metadata = try? container.decodeIfPresent([String: JSONValue].self, forKey: .metadata)
        createdAt = try? container.decodeIfPresent(String.self, forKey: .createdAt)
        status = try container.decode(TaskGroupStatus.self, forKey: .status)
    }
}

/// Counts of a group's runs by status (§4).
public struct TaskGroupStatus: Sendable, Hashable, Codable {
    /// Runs in the group.
    public var numTaskRuns: Int
    /// Run status → count; zero counts may be missing.
    public var taskRunStatusCounts: [String: Int]
    /// At least one run is queued, running or cancelling.
    public var isActive: Bool
    /// Optional note from Parallel.
    public var statusMessage: String?
    /// RFC 3339 time of the last change.
    public var modifiedAt: String?

    /// The count for one status (0 when missing).
    public func count(_ status: RunStatus) -> Int { taskRunStatusCounts[status.rawValue] ?? 0 }

    enum CodingKeys: String, CodingKey {
        case numTaskRuns = "num_task_runs", taskRunStatusCounts = "task_run_status_counts", isActive = "is_active"
        case statusMessage = "status_message", modifiedAt = "modified_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        numTaskRuns = (try? container.decodeIfPresent(Int.self, forKey: .numTaskRuns)) ?? 0
        taskRunStatusCounts = (try? container.decodeIfPresent([String: Int].self, forKey: .taskRunStatusCounts)) ?? [:]
        isActive = try container.decode(Bool.self, forKey: .isActive)
        statusMessage = try? container.decodeIfPresent(String.self, forKey: .statusMessage)
        modifiedAt = try? container.decodeIfPresent(String.self, forKey: .modifiedAt)
    }
}

/// Answer to adding runs to a group (§4).
public struct TaskGroupRunResponse: Sendable, Hashable, Codable {
    /// Ids of the new runs, in input order.
    public var runIDs: [String]
    /// Group status after the add.
    public var status: TaskGroupStatus
    /// `last_event_id` for the group events stream.
    public var eventCursor: String?
    /// `last_event_id` for the group runs stream.
    public var runCursor: String?

    enum CodingKeys: String, CodingKey {
        case runIDs = "run_ids", status, eventCursor = "event_cursor", runCursor = "run_cursor"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        runIDs = try container.decode([String].self, forKey: .runIDs)
        status = try container.decode(TaskGroupStatus.self, forKey: .status)
        eventCursor = try? container.decodeIfPresent(String.self, forKey: .eventCursor)
        runCursor = try? container.decodeIfPresent(String.self, forKey: .runCursor)
    }
}

/// Body of `POST /v1/tasks/groups/{id}/runs`.
struct AddRunsBody: Encodable {
    var inputs: [RunInput]
    var defaultTaskSpec: TaskSpec?

    enum CodingKeys: String, CodingKey {
        case inputs, defaultTaskSpec = "default_task_spec"
    }
}
