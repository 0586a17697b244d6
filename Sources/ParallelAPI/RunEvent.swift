import Foundation

/// One event of a run stream or a group stream (§3.3, §4), dispatched on the JSON `type` (as the SDK does).
public enum RunEvent: Sendable, Hashable {
    /// `task_run.state`: first event of every connection, and the last when the run stops being active.
    case state(RunStateEvent)
    /// `task_run.progress_stats`: the latest snapshot.
    case progressStats(ProgressStats)
    /// `task_run.progress_msg.<kind>`: one line of the reasoning trace.
    case progressMessage(ProgressMessage)
    /// `error`: a problem during execution.
    case error(UpstreamError)
    /// `task_group_status` (group streams only).
    case groupStatus(eventID: String?, status: TaskGroupStatus)
    /// A type this client does not know; kept so the stream goes on.
    case unknown(type: String)

    /// The group cursor (`event_id`) of the event, when it has one.
    public var eventID: String? {
        switch self {
        case .state(let state): return state.eventID
        case .groupStatus(let eventID, _): return eventID
        default: return nil
        }
    }

    /// Decodes one SSE `data:` payload. Throws `.decoding` for invalid JSON or a known type with a wrong shape.
    /// `skippingOutput` leaves a state event's output undecoded (`RunStateEvent.skippedOutput` says whether it
    /// had one): a finished report is the largest thing a stream carries, and a caller that reads many streams
    /// on one thread decodes it elsewhere, from the same payload.
    public static func decode(_ data: String, skippingOutput: Bool = false) throws(ParallelError) -> RunEvent {
        let decoder = JSONDecoder()
        if skippingOutput { decoder.userInfo[RunStateEvent.skipOutput] = true }
        do {
            return try decoder.decode(Envelope.self, from: Data(data.utf8)).event
        } catch let shape as UnexpectedShape {
            throw .decoding("event \(shape.type) has an unexpected shape")
        } catch {
            throw .decoding("event payload is not a JSON object")
        }
    }

    /// Reads the `type`, then the body of that type, from one parse of the payload: the monitoring thread decodes
    /// every event of every run it follows, and parsing each payload twice (once for the type) doubled that.
    private struct Envelope: Decodable {
        var event: RunEvent

        init(from decoder: any Decoder) throws {
            guard let type = try TypeProbe(from: decoder).type else {
                event = .unknown(type: "")
                return
            }
            do {
                event = try Self.body(type, from: decoder)
            } catch {
                throw UnexpectedShape(type: type)
            }
        }

        private static func body(_ type: String, from decoder: any Decoder) throws -> RunEvent {
            switch type {
            case "task_run.state":
                return .state(try RunStateEvent(from: decoder))
            case "task_run.progress_stats":
                return .progressStats(try ProgressStats(from: decoder))
            case "error":
                return .error(try ErrorEventBody(from: decoder).error)
            case "task_group_status":
                let body = try GroupStatusBody(from: decoder)
                return .groupStatus(eventID: body.eventID, status: body.status)
            default:
                let prefix = "task_run.progress_msg."
                if type.hasPrefix(prefix) {
                    let body = try MessageBody(from: decoder)
                    return .progressMessage(ProgressMessage(kind: String(type.dropFirst(prefix.count)),
                                                            message: body.message ?? "", timestamp: body.timestamp))
                }
                return .unknown(type: type)
            }
        }
    }

    /// A payload whose `type` is known but whose body is not that type's.
    private struct UnexpectedShape: Error {
        var type: String
    }

    private struct TypeProbe: Decodable {
        var type: String?
    }

    private struct ErrorEventBody: Decodable {
        var error: UpstreamError
    }

    private struct GroupStatusBody: Decodable {
        var eventID: String?
        var status: TaskGroupStatus
        enum CodingKeys: String, CodingKey { case eventID = "event_id", status }
    }

    private struct MessageBody: Decodable {
        var message: String?
        var timestamp: String?
    }
}

/// `task_run.state` payload.
public struct RunStateEvent: Sendable, Hashable, Decodable {
    /// Group cursor; null on single-run streams.
    public var eventID: String?
    /// The run as it is now.
    public var run: TaskRun
    /// The run input (only on group runs streams with `include_input`).
    public var input: RunInput?
    /// The output: only on the terminal event of a completed run (run streams) or with `include_output`.
    public var output: RunOutput?
    /// The payload had an output that was left undecoded (`RunEvent.decode(_:skippingOutput:)`).
    public var skippedOutput = false

    /// Creates a state event.
    public init(eventID: String? = nil, run: TaskRun, input: RunInput? = nil, output: RunOutput? = nil) {
        self.eventID = eventID
        self.run = run
        self.input = input
        self.output = output
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id", run, input, output
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        eventID = try? container.decodeIfPresent(String.self, forKey: .eventID)
        run = try container.decode(TaskRun.self, forKey: .run)
        input = try? container.decodeIfPresent(RunInput.self, forKey: .input)
        if decoder.userInfo[Self.skipOutput] as? Bool == true {
            skippedOutput = (try? container.decodeIfPresent(Skipped.self, forKey: .output)) != nil
        } else {
            output = try? container.decodeIfPresent(RunOutput.self, forKey: .output)
        }
    }

    /// The decoder option of `RunEvent.decode(_:skippingOutput:)`.
    static let skipOutput = CodingUserInfoKey(rawValue: "skipOutput")!

    /// Any JSON value but null, read no further.
    private struct Skipped: Decodable {
        init(from decoder: any Decoder) throws {}
    }
}

/// `task_run.progress_stats` payload.
public struct ProgressStats: Sendable, Hashable, Decodable {
    /// 0–100 (missing in older samples).
    public var progressMeter: Double?
    /// Sources considered so far.
    public var numSourcesConsidered: Int?
    /// Sources read so far.
    public var numSourcesRead: Int?
    /// A few recently read URLs.
    public var sourcesReadSample: [String]?

    /// Creates a stats snapshot.
    public init(progressMeter: Double?, numSourcesConsidered: Int? = nil, numSourcesRead: Int? = nil,
                sourcesReadSample: [String]? = nil) {
        self.progressMeter = progressMeter
        self.numSourcesConsidered = numSourcesConsidered
        self.numSourcesRead = numSourcesRead
        self.sourcesReadSample = sourcesReadSample
    }

    enum CodingKeys: String, CodingKey {
        case progressMeter = "progress_meter", sourceStats = "source_stats"
    }

    enum SourceKeys: String, CodingKey {
        case considered = "num_sources_considered", read = "num_sources_read", sample = "sources_read_sample"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        progressMeter = try container.decodeIfPresent(Double.self, forKey: .progressMeter)
        if let sources = try? container.nestedContainer(keyedBy: SourceKeys.self, forKey: .sourceStats) {
            numSourcesConsidered = try? sources.decodeIfPresent(Int.self, forKey: .considered)
            numSourcesRead = try? sources.decodeIfPresent(Int.self, forKey: .read)
            sourcesReadSample = try? sources.decodeIfPresent([String].self, forKey: .sample)
        }
    }
}

/// `task_run.progress_msg.<kind>` payload.
public struct ProgressMessage: Sendable, Hashable {
    /// The suffix after `task_run.progress_msg.` (plan, search, tool_call, … or any new kind), shown as a label.
    public var kind: String
    /// The text.
    public var message: String
    /// RFC 3339 time the message was first produced (kept on replays).
    public var timestamp: String?

    /// Creates a message.
    public init(kind: String, message: String, timestamp: String?) {
        self.kind = kind
        self.message = message
        self.timestamp = timestamp
    }
}
