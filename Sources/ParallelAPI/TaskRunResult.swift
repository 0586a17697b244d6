/// `GET /result` answer: the completed run and its output (§2.4).
public struct TaskRunResult: Sendable, Hashable, Codable {
    /// The run (status completed).
    public var run: TaskRun
    /// What the run produced.
    public var output: RunOutput

    /// Creates a result.
    public init(run: TaskRun, output: RunOutput) {
        self.run = run
        self.output = output
    }
}

/// A run's output: text (markdown) or JSON, with its research basis (§2.4).
public struct RunOutput: Sendable, Hashable, Codable {
    /// Output payload, by `type`.
    public enum Content: Sendable, Hashable {
        /// `type: text`: markdown.
        case text(String)
        /// `type: json`: the object (a JSON string on the wire is parsed; if it does not parse it stays a string).
        case json(JSONValue)
    }

    /// The payload.
    public var content: Content
    /// One entry per output field (`output` for text).
    public var basis: [FieldBasis]
    /// The inferred schema of an auto-schema run.
    public var outputSchema: JSONValue?

    /// Creates an output.
    public init(content: Content, basis: [FieldBasis] = [], outputSchema: JSONValue? = nil) {
        self.content = content
        self.basis = basis
        self.outputSchema = outputSchema
    }

    /// The markdown of a text output, nil for JSON.
    public var text: String? {
        if case .text(let text) = content { return text }
        return nil
    }

    /// The object of a JSON output, nil for text.
    public var json: JSONValue? {
        if case .json(let value) = content { return value }
        return nil
    }

    enum CodingKeys: String, CodingKey {
        case type, content, basis, outputSchema = "output_schema"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = (try? container.decodeIfPresent(String.self, forKey: .type)) ?? "text"
        let raw = try container.decode(JSONValue.self, forKey: .content)
        switch (type, raw) {
        case ("text", .string(let text)):
            content = .text(text)
        case ("json", .string(let text)):
            content = .json((try? JSONValue.parse(text)) ?? .string(text))
        default:
            content = .json(raw)
        }
        basis = (try? container.decodeIfPresent([FieldBasis].self, forKey: .basis)) ?? []
        outputSchema = try? container.decodeIfPresent(JSONValue.self, forKey: .outputSchema)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch content {
        case .text(let text):
            try container.encode("text", forKey: .type)
            try container.encode(text, forKey: .content)
        case .json(let value):
            try container.encode("json", forKey: .type)
            try container.encode(value, forKey: .content)
        }
        try container.encode(basis, forKey: .basis)
        try container.encodeIfPresent(outputSchema, forKey: .outputSchema)
    }
}

/// The research basis of one output field (§2.4).
public struct FieldBasis: Sendable, Hashable, Codable {
    /// `output`, a top-level field name, or `field.i` for array elements.
    public var field: String
    /// Why the value was chosen.
    public var reasoning: String
    /// Sources.
    public var citations: [Citation]
    /// `low`, `medium`, `high`, or nil.
    public var confidence: String?

    /// Creates a basis entry.
    public init(field: String, reasoning: String = "", citations: [Citation] = [], confidence: String? = nil) {
        self.field = field
        self.reasoning = reasoning
        self.citations = citations
        self.confidence = confidence
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        field = (try? container.decodeIfPresent(String.self, forKey: .field)) ?? ""
        reasoning = (try? container.decodeIfPresent(String.self, forKey: .reasoning)) ?? ""
        citations = (try? container.decodeIfPresent([Citation].self, forKey: .citations)) ?? []
        confidence = try? container.decodeIfPresent(String.self, forKey: .confidence)
    }
}

/// One cited source.
public struct Citation: Sendable, Hashable, Codable {
    /// Source URL.
    public var url: String
    /// Page title, if known.
    public var title: String?
    /// Quoted passages, if the processor gives them.
    public var excerpts: [String]?

    /// Creates a citation.
    public init(url: String, title: String? = nil, excerpts: [String]? = nil) {
        self.url = url
        self.title = title
        self.excerpts = excerpts
    }
}
