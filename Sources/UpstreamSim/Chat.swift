import Foundation

/// Decides whether a market-research input looks real (the chat validator's canned judgement).
enum InputJudge {
    static let keyboardRuns = ["asdf", "qwer", "zxcv", "hjkl", "jkl;", "uiop", "sdfg", "dfgh", "wert"]

    /// Returns the issues found; empty means valid.
    static func issues(_ text: String, denyList: [String]) -> [String] {
        var subject = text
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, ["industry", "topic", "company"].contains(parts[0].trimmingCharacters(in: .whitespaces).lowercased()) {
                subject = String(parts[1])
            }
        }
        let s = subject.replacingOccurrences(of: "sim:hostile", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
        let lower = s.lowercased()
        if s.count < 2 { return ["The industry is empty or too short"] }
        if denyList.contains(lower) { return ["'\(s)' is a placeholder, not a real industry"] }
        if s.allSatisfy({ $0.isNumber || $0.isWhitespace }) { return ["The industry consists only of digits"] }
        let letters = s.filter(\.isLetter)
        if Double(letters.count) < Double(s.count) * 0.5 { return ["The industry is mostly symbols"] }
        for w in lower.split(whereSeparator: { !$0.isLetter }) {
            let word = String(w)
            if keyboardRuns.contains(where: word.contains) { return ["'\(word)' looks like keyboard mashing"] }
            if word.count >= 5, !word.contains(where: { "aeiouy".contains($0) }) { return ["'\(word)' is not a real word"] }
            var run = 1
            var prev: Character?
            for c in word {
                run = c == prev ? run + 1 : 1
                prev = c
                if run >= 4 { return ["'\(word)' repeats the same letter"] }
            }
        }
        return []
    }
}

extension Simulator {
    func chatCompletions(_ req: HTTPRequest, _ conn: Connection) {
        guard checkParallelAuth(req, conn, allowBearer: true) else { return }
        if applyResponseFault(takeFaults(req, endpoint: "chat"), conn: conn) { return }
        guard let body = req.json else { validationError(conn, loc: ["body"], msg: "Invalid JSON body", type: "json_invalid"); return }
        guard let model = body["model"]?.stringValue else { validationError(conn, loc: ["body", "model"], msg: "Field required", type: "missing"); return }
        guard let messages = body["messages"]?.arrayValue, !messages.isEmpty else {
            validationError(conn, loc: ["body", "messages"], msg: "Field required", type: "missing"); return
        }
        let delays: [String: Double] = ["speed": config.chatDelay, "lite": 10, "base": 15, "core": 60]
        guard let delay = delays[model] else {
            try? conn.respondJSON(400, .object([("error", .object([("message", .string("The model '\(model)' does not exist")),
                                                                   ("type", "invalid_request_error"), ("param", "model"), ("code", "model_not_found")]))]))
            return
        }
        let userText = messages.last(where: { $0["role"]?.stringValue == "user" })?["content"]?.stringValue ?? ""
        let allText = messages.compactMap { $0["content"]?.stringValue }.joined(separator: "\n")
        let hostile = allText.contains("sim:hostile")
        let issues = InputJudge.issues(userText, denyList: config.denyList)
        var reasoning = issues.isEmpty ? "The input names a real, researchable industry and market." : "The input does not describe a real industry: \(issues.joined(separator: "; "))."
        if hostile { reasoning += " " + Hostile.all }
        var gen = ContentGenerator(seed: config.seed, key: allText + "|" + model,
                                   topic: Topic(input: .string(userText), hostile: hostile))
        let content: String
        let format = body["response_format"]
        switch format?["type"]?.stringValue {
        case "json_schema":
            let schema = format?["json_schema"]?["schema"] ?? .object([])
            content = chatJSON(schema: schema, issues: issues, reasoning: reasoning, gen: &gen).compact
        case "json_object":
            content = JSON.object([("is_valid", .bool(issues.isEmpty)), ("reasoning", .string(reasoning)),
                                   ("issues_found", .array(issues.map { .string($0) }))]).compact
        default:
            content = reasoning
        }
        Thread.sleep(forTimeInterval: config.real(delay))
        var basis: JSON = .array([])
        if model != "speed" {
            basis = .array([.object([("field", "content"), ("reasoning", .string(reasoning)),
                                     ("citations", .array(gen.citations(2))), ("confidence", "medium")])])
        }
        let created = JSON.num(Int(Date().timeIntervalSince1970))
        let interaction = JSON.string(IDs.run())
        if body["stream"]?.boolValue == true {
            streamChat(conn, content: content, model: model, created: created, basis: basis, interaction: interaction)
            return
        }
        let message: JSON = .object([("role", "assistant"), ("content", .string(content))])
        try? conn.respondJSON(200, .object([
            ("id", ""), ("object", "chat.completion"), ("created", created), ("model", .string(model)),
            ("choices", .array([.object([("index", 0), ("message", message), ("finish_reason", .null)])])),
            ("usage", .null), ("basis", basis), ("interaction_id", interaction),
        ]))
    }

    private func chatJSON(schema: JSON, issues: [String], reasoning: String, gen: inout ContentGenerator) -> JSON {
        guard let props = schema["properties"]?.objectValue else {
            return .object([("is_valid", .bool(issues.isEmpty)), ("reasoning", .string(reasoning))])
        }
        return .object(props.map { name, sub in
            let n = name.lowercased()
            let type = sub["type"]?.stringValue ?? sub["type"]?.arrayValue?.first?.stringValue
            if type == "boolean", n.contains("valid") || n.contains("real") || n.contains("ok") || n.contains("accept") {
                return (name, .bool(issues.isEmpty))
            }
            if type == "string", n.contains("reason") || n.contains("explanation") || n.contains("message") {
                return (name, .string(reasoning))
            }
            if type == "array", n.contains("issue") || n.contains("problem") || n.contains("error") {
                return (name, .array(issues.map { .string($0) }))
            }
            return (name, SchemaValues.value(for: sub, name: name, depth: 1, gen: &gen))
        })
    }

    private func streamChat(_ conn: Connection, content: String, model: String, created: JSON, basis: JSON, interaction: JSON) {
        do {
            try conn.writeHead(status: 200, headers: [("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache")],
                               contentLength: nil)
            func chunk(_ delta: JSON, finish: JSON = .null) -> String {
                let c: JSON = .object([("id", ""), ("object", "chat.completion.chunk"), ("type", "chat.completion.chunk"),
                                       ("created", created), ("model", .string(model)),
                                       ("choices", .array([.object([("index", 0), ("delta", delta), ("finish_reason", finish)])])),
                                       ("interaction_id", interaction)])
                return "data: \(c.compact)\n\n"
            }
            try conn.writeBody(chunk(.object([("role", "assistant"), ("content", "")])))
            var rest = Substring(content)
            while !rest.isEmpty {
                let piece = rest.prefix(16)
                rest = rest.dropFirst(piece.count)
                try conn.writeBody(chunk(.object([("content", .string(String(piece)))])))
            }
            try conn.writeBody(chunk(.object([]), finish: "stop"))
            try conn.writeBody("data: [DONE]\n\n")
            try conn.finishBody()
        } catch { conn.close() }
    }
}
