import Foundation

/// Checks a JSON output schema against Parallel's rules: errors reject the run (422), warnings go into `run.warnings`.
enum SchemaRules {
    static let unsupported: Set<String> = ["contains", "format", "maxContains", "maxItems", "maxLength", "maxProperties",
                                           "maximum", "minContains", "minItems", "minLength", "minProperties", "multipleOf",
                                           "pattern", "patternProperties", "propertyNames", "uniqueItems",
                                           "unevaluatedItems", "unevaluatedProperties"]
    static let basisNames: Set<String> = ["citations", "confidence", "evidence", "reasoning", "source", "sources", "source_urls"]

    /// Returns an error message, or nil when the schema is acceptable.
    static func error(_ schema: JSON) -> String? {
        guard schema["type"]?.stringValue == "object", let props = schema["properties"]?.objectValue, !props.isEmpty else {
            return "Output schema root must be of type object with properties"
        }
        if schema["anyOf"] != nil { return "anyOf is not allowed at the root of the output schema" }
        var count = 0
        var enums = 0
        func walk(_ s: JSON, depth: Int) -> String? {
            if depth > 5 { return "Output schema nesting depth exceeds 5" }
            guard let obj = s.objectValue else { return nil }
            for (k, v) in obj {
                if unsupported.contains(k) { return "Unsupported keyword '\(k)' in output schema" }
                if k == "type", v.stringValue == "null" { return "Standalone null type is not supported" }
                if k == "enum" { enums += v.arrayValue?.count ?? 0 }
                if k == "properties", let ps = v.objectValue {
                    count += ps.count
                    for (_, p) in ps { if let e = walk(p, depth: depth + 1) { return e } }
                } else if k == "items" || k == "additionalProperties" {
                    if let e = walk(v, depth: depth + 1) { return e }
                } else if ["anyOf", "oneOf", "allOf"].contains(k), let arr = v.arrayValue {
                    for x in arr { if let e = walk(x, depth: depth + 1) { return e } }
                }
            }
            return nil
        }
        if let e = walk(schema, depth: 1) { return e }
        if count > 100 { return "Output schema has more than 100 properties" }
        if enums > 500 { return "Output schema has more than 500 enum values" }
        return nil
    }

    /// Warnings for an accepted schema.
    static func warnings(_ schema: JSON) -> [JSON] {
        var out: [JSON] = []
        let props = schema["properties"]?.objectValue ?? []
        let required = Set((schema["required"]?.arrayValue ?? []).compactMap(\.stringValue))
        let missing = props.map(\.0).filter { !required.contains($0) }
        if !missing.isEmpty {
            out.append(warning("Fields are not required: \(missing.joined(separator: ", ")). All fields should be required; use a [type, null] union for optional values."))
        }
        if schema["additionalProperties"] != .bool(false) {
            out.append(warning("additionalProperties should be set to false"))
        }
        let dup = props.map(\.0).filter { basisNames.contains($0.lowercased()) }
        if !dup.isEmpty {
            out.append(warning("Fields \(dup.joined(separator: ", ")) duplicate information already provided by the research basis"))
        }
        return out
    }

    static func warning(_ m: String) -> JSON {
        .object([("type", "spec_validation_warning"), ("message", .string(m)), ("detail", .null)])
    }
}

/// Builds values that follow a JSON schema.
enum SchemaValues {
    static func value(for schema: JSON, name: String, depth: Int, gen: inout ContentGenerator) -> JSON {
        if let e = schema["enum"]?.arrayValue, !e.isEmpty { return gen.rng.pick(e) }
        if let c = schema["const"] { return c }
        var type = schema["type"]?.stringValue
        if let ts = schema["type"]?.arrayValue { type = ts.compactMap(\.stringValue).first { $0 != "null" } }
        if type == nil, let any = (schema["anyOf"] ?? schema["oneOf"])?.arrayValue,
           let first = any.first(where: { $0["type"]?.stringValue != "null" }) {
            return value(for: first, name: name, depth: depth, gen: &gen)
        }
        if type == nil, schema["properties"] != nil { type = "object" }
        let n = name.lowercased()
        switch type ?? "string" {
        case "object":
            guard depth < 6 else { return .object([]) }
            let props = schema["properties"]?.objectValue ?? []
            return .object(props.map { ($0.0, value(for: $0.1, name: $0.0, depth: depth + 1, gen: &gen)) })
        case "array":
            let items = schema["items"] ?? .object([("type", "string")])
            let count = gen.rng.int(2, 4)
            let singular = n.hasSuffix("s") ? String(n.dropLast()) : n
            return .array((0..<count).map { _ in value(for: items, name: singular, depth: depth + 1, gen: &gen) })
        case "boolean":
            return .bool(!(n.contains("invalid") || n.contains("error")))
        case "integer":
            if n.contains("year") { return .num(gen.rng.int(2019, 2025)) }
            return .num(gen.rng.int(3, 500))
        case "number":
            if ["confidence", "score", "probability", "share", "ratio", "likelihood"].contains(where: n.contains) {
                return .number(Double(gen.rng.int(50, 99)) / 100)
            }
            if n.contains("percent") || n.contains("cagr") || n.contains("growth") {
                return .number(Double(gen.rng.int(20, 150)) / 10)
            }
            return .number(Double(gen.rng.int(10, 9000)) / 10)
        case "null":
            return .null
        default:
            return .string(gen.sentence(for: name))
        }
    }
}
