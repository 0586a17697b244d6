/// `POST /chat/completions` request (§6); only the fields Parallel honours.
public struct ChatCompletionRequest: Sendable, Hashable, Encodable {
    /// `speed`, `lite`, `base` or `core`.
    public var model: String
    /// The conversation; content is a string only.
    public var messages: [ChatMessage]
    /// Answer format.
    public var responseFormat: ChatResponseFormat?
    /// Reuses the context of an earlier interaction.
    public var previousInteractionID: String?

    /// Creates a non-streaming request.
    public init(model: String, messages: [ChatMessage], responseFormat: ChatResponseFormat? = nil,
                previousInteractionID: String? = nil) {
        self.model = model
        self.messages = messages
        self.responseFormat = responseFormat
        self.previousInteractionID = previousInteractionID
    }

    enum CodingKeys: String, CodingKey {
        case model, messages, stream, responseFormat = "response_format"
        case previousInteractionID = "previous_interaction_id"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encode(false, forKey: .stream)
        try container.encode(messages, forKey: .messages)
        try container.encodeIfPresent(responseFormat, forKey: .responseFormat)
        try container.encodeIfPresent(previousInteractionID, forKey: .previousInteractionID)
    }
}

/// One chat message.
public struct ChatMessage: Sendable, Hashable, Codable {
    /// `system`, `user` or `assistant`.
    public var role: String
    /// The text.
    public var content: String

    /// Creates a message.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        role = (try? container.decodeIfPresent(String.self, forKey: .role)) ?? "assistant"
        content = (try? container.decodeIfPresent(String.self, forKey: .content)) ?? ""
    }
}

/// `response_format`: text, any JSON object, or a named JSON schema.
public enum ChatResponseFormat: Sendable, Hashable, Encodable {
    /// Free text.
    case text
    /// Any JSON object.
    case jsonObject
    /// `{"type":"json_schema","json_schema":{name, schema, strict?}}`.
    case jsonSchema(name: String, schema: JSONValue, strict: Bool? = nil)

    enum CodingKeys: String, CodingKey { case type, jsonSchema = "json_schema" }
    enum SchemaKeys: String, CodingKey { case name, schema, strict }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .text:
            try container.encode("text", forKey: .type)
        case .jsonObject:
            try container.encode("json_object", forKey: .type)
        case .jsonSchema(let name, let schema, let strict):
            try container.encode("json_schema", forKey: .type)
            var nested = container.nestedContainer(keyedBy: SchemaKeys.self, forKey: .jsonSchema)
            try nested.encode(name, forKey: .name)
            try nested.encode(schema, forKey: .schema)
            try nested.encodeIfPresent(strict, forKey: .strict)
        }
    }
}

/// Chat answer; Parallel fills only `choices[].message`, `created`, `basis` and `interaction_id` (§6).
public struct ChatCompletion: Sendable, Hashable, Decodable {
    /// The answers (one).
    public var choices: [Choice]
    /// Research basis (research models only).
    public var basis: [FieldBasis]
    /// Reusable interaction id.
    public var interactionID: String?
    /// Unix time.
    public var created: Int?

    /// One answer.
    public struct Choice: Sendable, Hashable, Decodable {
        /// Position.
        public var index: Int
        /// The assistant's message.
        public var message: ChatMessage

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            index = (try? container.decodeIfPresent(Int.self, forKey: .index)) ?? 0
            message = try container.decode(ChatMessage.self, forKey: .message)
        }

        enum CodingKeys: String, CodingKey { case index, message }
    }

    /// The first answer's text (for `json_schema`, a JSON string).
    public var content: String? { choices.first?.message.content }

    /// Parses the first answer's content a second time as JSON (the schema answer arrives as a string).
    public func contentJSON() throws(ParallelError) -> JSONValue {
        guard let content else { throw .decoding("chat answer has no choices") }
        do {
            return try JSONValue.parse(content)
        } catch {
            throw .decoding("chat answer content is not JSON")
        }
    }

    enum CodingKeys: String, CodingKey {
        case choices, basis, interactionID = "interaction_id", created
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        choices = try container.decode([Choice].self, forKey: .choices)
        basis = (try? container.decodeIfPresent([FieldBasis].self, forKey: .basis)) ?? []
        interactionID = try? container.decodeIfPresent(String.self, forKey: .interactionID)
        created = try? container.decodeIfPresent(Int.self, forKey: .created)
    }
}
