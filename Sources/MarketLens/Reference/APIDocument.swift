import Foundation

/// The API's OpenAPI 3.1 document (`api/openapi.json`), read once per worker at start-up: its bytes are served
/// as they are at `/api/v1/openapi.json`, and `/api` is rendered from the same parsed content, so the machine-
/// readable contract and the page for people cannot drift apart. A missing or malformed file stops the worker
/// at start-up, like a broken template.
public struct APIDocument: Sendable {
    /// The file's bytes, served unchanged.
    public let bytes: [UInt8]
    /// A strong validator of the bytes (they change only with a deploy).
    public let etag: String
    /// The operations in the document's order, grouped by their first tag (the page's sections).
    let sections: [APIReferenceSection]
    let title: String
    let summary: String

    /// Reads and parses the document at `path`.
    public init(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw APIDocumentError("cannot read the OpenAPI document \(path)")
        }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let paths = root["paths"] as? [String: Any]
        else { throw APIDocumentError("the OpenAPI document \(path) is not a JSON object with paths") }
        bytes = Array(data)
        etag = "\"" + APIDocument.digest(data) + "\""
        let info = root["info"] as? [String: Any] ?? [:]
        title = info["title"] as? String ?? "API"
        summary = info["description"] as? String ?? ""
        let resolver = APIReferenceResolver(root: root)
        let tagOrder = (root["tags"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        let tagText = Dictionary(
            (root["tags"] as? [[String: Any]] ?? []).compactMap { tag in
                (tag["name"] as? String).map { ($0, tag["description"] as? String ?? "") }
            }, uniquingKeysWith: { first, _ in first })
        // JSONSerialization loses key order: operations are ordered by tag, then path, then method.
        var byTag: [String: [APIReferenceOperation]] = [:]
        for (path, value) in paths.sorted(by: { $0.key < $1.key }) {
            guard let item = value as? [String: Any] else { continue }
            let shared = item["parameters"] as? [Any] ?? []
            for method in ["get", "post", "put", "patch", "delete"] {
                guard let operation = item[method] as? [String: Any] else { continue }
                let parsed = APIReferenceOperation(method: method, path: path, operation: operation,
                                                   sharedParameters: shared, resolver: resolver)
                byTag[parsed.tag, default: []].append(parsed)
            }
        }
        let tags = tagOrder + byTag.keys.filter { !tagOrder.contains($0) }.sorted()
        sections = tags.compactMap { tag in
            byTag[tag].map { APIReferenceSection(name: tag, description: tagText[tag] ?? "", operations: $0) }
        }
    }

    /// Every documented operation as `(method, path)`, e.g. `("GET", "/api/v1/reports/{id}")`.
    public var operations: [(method: String, path: String)] {
        sections.flatMap { $0.operations.map { ($0.method, $0.path) } }
    }

    /// A short hex digest of the bytes (FNV-1a, 64 bits): enough to tell deployments apart, not a security hash.
    static func digest(_ data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}

/// Why the document could not be loaded (start-up only).
public struct APIDocumentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
