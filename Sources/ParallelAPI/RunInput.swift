/// The body of `POST /v1/tasks/runs` (§2.1), also echoed by `/input` and carried by group events.
public struct RunInput: Sendable, Hashable, Codable {
    /// The research question (text) or the entity to enrich (a JSON object).
    public enum Input: Sendable, Hashable, Codable {
        /// Free text.
        case text(String)
        /// Structured input, normally an object.
        case json(JSONValue)

        public init(from decoder: any Decoder) throws {
            let value = try JSONValue(from: decoder)
            if case .string(let text) = value { self = .text(text) } else { self = .json(value) }
        }

        public func encode(to encoder: any Encoder) throws {
            switch self {
            case .text(let text): try JSONValue.string(text).encode(to: encoder)
            case .json(let value): try value.encode(to: encoder)
            }
        }
    }

    /// What to research.
    public var input: Input
    /// Processor name (`lite` … `ultra8x`, optionally `-fast`).
    public var processor: String
    /// Output (and input) schema; nil means the auto schema.
    public var taskSpec: TaskSpec?
    /// Which sources may be used.
    public var sourcePolicy: SourcePolicy?
    /// Up to 16-char keys, values string/number/bool ≤ 512 chars; returned on the run.
    public var metadata: [String: JSONValue]?
    /// Where Parallel posts the terminal status (needs beta `webhook-2025-08-12`).
    public var webhook: Webhook?
    /// Records progress events for the events stream; cannot be turned on later.
    public var enableEvents: Bool?
    /// Reuses the context of an earlier run or chat.
    public var previousInteractionID: String?

    /// Creates a run input; nil fields are left out of the JSON.
    public init(input: Input, processor: String, taskSpec: TaskSpec? = nil, sourcePolicy: SourcePolicy? = nil,
                metadata: [String: JSONValue]? = nil, webhook: Webhook? = nil, enableEvents: Bool? = nil,
                previousInteractionID: String? = nil) {
        self.input = input
        self.processor = processor
        self.taskSpec = taskSpec
        self.sourcePolicy = sourcePolicy
        self.metadata = metadata
        self.webhook = webhook
        self.enableEvents = enableEvents
        self.previousInteractionID = previousInteractionID
    }

    enum CodingKeys: String, CodingKey {
        case input, processor, metadata, webhook
        case taskSpec = "task_spec", sourcePolicy = "source_policy", enableEvents = "enable_events"
        case previousInteractionID = "previous_interaction_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        input = try container.decode(Input.self, forKey: .input)
        processor = (try? container.decodeIfPresent(String.self, forKey: .processor)) ?? ""
        taskSpec = try container.decodeIfPresent(TaskSpec.self, forKey: .taskSpec)
        sourcePolicy = try? container.decodeIfPresent(SourcePolicy.self, forKey: .sourcePolicy)
        metadata = try? container.decodeIfPresent([String: JSONValue].self, forKey: .metadata)
        webhook = try? container.decodeIfPresent(Webhook.self, forKey: .webhook)
        enableEvents = try? container.decodeIfPresent(Bool.self, forKey: .enableEvents)
        previousInteractionID = try? container.decodeIfPresent(String.self, forKey: .previousInteractionID)
    }
}

/// `{output_schema, input_schema?}` (§2.1).
public struct TaskSpec: Sendable, Hashable, Codable {
    /// The shape of the result.
    public var outputSchema: TaskSchema
    /// The shape of the input (not `.auto`).
    public var inputSchema: TaskSchema?

    /// Creates a task spec.
    public init(outputSchema: TaskSchema, inputSchema: TaskSchema? = nil) {
        self.outputSchema = outputSchema
        self.inputSchema = inputSchema
    }

    enum CodingKeys: String, CodingKey {
        case outputSchema = "output_schema", inputSchema = "input_schema"
    }
}

/// An output or input schema: JSON Schema, text with a description, or auto (§2.1).
public enum TaskSchema: Sendable, Hashable, Codable {
    /// `{"type":"json","json_schema":{…}}`; the result's `output.type` is `json`.
    case json(JSONValue)
    /// `{"type":"text","description":…}` (a bare string on the wire means the same).
    case text(description: String?)
    /// `{"type":"auto"}`: the processor picks the schema (pro and above).
    case auto

    enum CodingKeys: String, CodingKey {
        case type, jsonSchema = "json_schema", description
    }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
            self = .text(description: text)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = (try? container.decodeIfPresent(String.self, forKey: .type)) ?? "json"
        switch type {
        case "text": self = .text(description: try? container.decodeIfPresent(String.self, forKey: .description))
        case "auto": self = .auto
        default: self = .json(try container.decodeIfPresent(JSONValue.self, forKey: .jsonSchema) ?? .object([:]))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .json(let schema):
            try container.encode("json", forKey: .type)
            try container.encode(schema, forKey: .jsonSchema)
        case .text(let description):
            try container.encode("text", forKey: .type)
            try container.encodeIfPresent(description, forKey: .description)
        case .auto:
            try container.encode("auto", forKey: .type)
        }
    }
}

/// Which sources a run may use (§2.1).
public struct SourcePolicy: Sendable, Hashable, Codable {
    /// The complete allowlist when non-empty.
    public var includeDomains: [String]?
    /// Ignored when `includeDomains` is non-empty.
    public var excludeDomains: [String]?
    /// `YYYY-MM-DD`: only content published on or after this date.
    public var afterDate: String?

    /// Creates a source policy.
    public init(includeDomains: [String]? = nil, excludeDomains: [String]? = nil, afterDate: String? = nil) {
        self.includeDomains = includeDomains
        self.excludeDomains = excludeDomains
        self.afterDate = afterDate
    }

    enum CodingKeys: String, CodingKey {
        case includeDomains = "include_domains", excludeDomains = "exclude_domains", afterDate = "after_date"
    }
}

/// `{url, event_types}`: where Parallel posts `task_run.status` (§5).
public struct Webhook: Sendable, Hashable, Codable {
    /// Receiver URL.
    public var url: String
    /// Only `task_run.status` exists.
    public var eventTypes: [String]

    /// Creates a webhook subscription for the terminal status.
    public init(url: String, eventTypes: [String] = ["task_run.status"]) {
        self.url = url
        self.eventTypes = eventTypes
    }

    enum CodingKeys: String, CodingKey {
        case url, eventTypes = "event_types"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        url = try container.decode(String.self, forKey: .url)
        eventTypes = (try? container.decodeIfPresent([String].self, forKey: .eventTypes)) ?? []
    }
}
