import Foundation

/// One scheduled thing in a run's life, at a real-clock time.
struct TimelineItem: Sendable {
    enum Kind: Sendable {
        case status(String)
        case progress(kind: String, message: String)
        case stats(JSON)
        case error(JSON)
    }
    var at: Date
    var kind: Kind
}

/// A simulated task run. Its whole life is scheduled at creation; "now" decides what is visible.
final class Run: @unchecked Sendable {
    let id: String
    let created: Date
    let input: JSON
    let processor: String
    let metadata: JSON
    let taskgroupID: String?
    let warnings: JSON
    var timeline: [TimelineItem]
    let faults: [FaultSpec]
    let output: JSON
    var error: JSON = .null
    let webhookURL: String?
    var webhookScheduled = false
    var resultSlowServed = 0

    init(id: String, created: Date, input: JSON, processor: String, metadata: JSON, taskgroupID: String?,
         warnings: JSON, timeline: [TimelineItem], faults: [FaultSpec], output: JSON, webhookURL: String?) {
        self.id = id; self.created = created; self.input = input; self.processor = processor
        self.metadata = metadata; self.taskgroupID = taskgroupID; self.warnings = warnings
        self.timeline = timeline; self.faults = faults; self.output = output; self.webhookURL = webhookURL
    }

    func fault(_ name: String) -> FaultSpec? { faults.first { $0.name == name } }

    /// Status and the time it was entered, as of `now`.
    func status(at now: Date) -> (String, Date) {
        var s = ("queued", created)
        for item in timeline where item.at <= now { if case let .status(v) = item.kind { s = (v, item.at) } }
        return s
    }

    static func isActive(_ status: String) -> Bool { ["queued", "running", "cancelling"].contains(status) }
    static func isTerminal(_ status: String) -> Bool { ["completed", "failed", "cancelled"].contains(status) }

    /// The time the run reaches its terminal status.
    var terminalAt: Date {
        timeline.last(where: { if case let .status(s) = $0.kind { return Run.isTerminal(s) }; return false })?.at ?? created
    }

    /// The TaskRun object as of `now`.
    func json(at now: Date) -> JSON {
        let (st, since) = status(at: now)
        return .object([
            ("run_id", .string(id)), ("interaction_id", .string(id)), ("status", .string(st)),
            ("is_active", .bool(Run.isActive(st))), ("processor", .string(processor)), ("metadata", metadata),
            ("taskgroup_id", .str(taskgroupID)), ("error", st == "failed" ? error : .null), ("warnings", warnings),
            ("created_at", .string(Timestamp.format(created))), ("modified_at", .string(Timestamp.format(since))),
        ])
    }

    /// Replaces the rest of the schedule with a terminal status at `now`.
    func finish(_ status: String, at now: Date, error: JSON = .null) {
        timeline.removeAll { $0.at > now }
        if case let (s, _) = self.status(at: now), Run.isTerminal(s) { return }
        if status == "failed" { self.error = error }
        if self.status(at: now).0 == "queued" && status == "completed" {
            timeline.append(TimelineItem(at: now, kind: .status("running")))
        }
        timeline.append(TimelineItem(at: now.addingTimeInterval(0.000001), kind: .status(status)))
    }

    var hostile: Bool {
        metadata["sim_content"]?.stringValue == "hostile" || input["input"].map { $0.compact.contains("sim:hostile") } == true
    }
}

/// A simulated task group with its materialized event log.
final class Group: @unchecked Sendable {
    let id: String
    let metadata: JSON
    let created: Date
    var runIDs: [String] = []
    var events: [JSON] = []
    var eventSeq = 0
    var lastCounts: [String: Int]? = nil
    var statusModified: Date
    var reported: Set<String> = []

    init(id: String, metadata: JSON, created: Date) {
        self.id = id; self.metadata = metadata; self.created = created; self.statusModified = created
    }

    func nextEventID() -> String {
        eventSeq += 1
        return String(eventSeq)
    }
}
