import Foundation
import Postgres
import Web

/// The parameters of `GET /api/v1/reports`: `q` (optional search), `cursor` (opaque, from `next_cursor`),
/// `limit` (1 to 100, default 20).
struct ReportListRequest: Equatable {
    var text: String?
    var cursor: ReportCursor?
    var limit: Int

    init(text: String? = nil, cursor: ReportCursor? = nil, limit: Int = 20) {
        self.text = text
        self.cursor = cursor
        self.limit = limit
    }

    init(form: URLEncodedForm) throws(HTTPError) {
        self.init()
        var problems: [String: String] = [:]
        if let raw = form["q"] {
            let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.count > LibraryQuery.maxTextLength
                || trimmed.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
            {
                problems["q"] = "must be at most \(LibraryQuery.maxTextLength) characters, without control characters"
            } else if !trimmed.isEmpty {
                text = trimmed
            }
        }
        if let raw = form["cursor"], !raw.isEmpty {
            if let cursor = ReportCursor(encoded: raw) { self.cursor = cursor } else { problems["cursor"] = "is not a cursor this API gave out" }
        }
        if let raw = form["limit"], !raw.isEmpty {
            if raw.utf8.count <= 3, let value = Int(raw), (1...100).contains(value) {
                limit = value
            } else {
                problems["limit"] = "must be a whole number from 1 to 100"
            }
        }
        guard problems.isEmpty else {
            throw HTTPError(
                status: 400, code: "invalid_query", message: "Some query parameters are invalid.", fields: problems)
        }
    }
}

/// A position in the newest-first list: the exact completion time (microseconds since 1970, as PostgreSQL
/// stores it, so no rounding can skip or repeat a report) and the id that breaks ties.
struct ReportCursor: Equatable {
    var completedMicros: Int64
    var id: Int64

    init(completedMicros: Int64, id: Int64) {
        self.completedMicros = completedMicros
        self.id = id
    }

    /// Decodes base64url `v1:<micros>:<id>`; nil for anything else.
    init?(encoded: String) {
        guard encoded.utf8.count <= 100 else { return nil }
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let micros = Int64(parts[1]), let id = Int64(parts[2]), id > 0 else {
            return nil
        }
        self.init(completedMicros: micros, id: id)
    }

    /// The opaque form handed to clients.
    var encoded: String {
        Data("v1:\(completedMicros):\(id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// Keyset pages of listed reports, newest first, for the JSON API.
enum ReportListing {
    struct Page {
        var items: [LibraryItem]
        var nextCursor: String?
    }

    static func page(_ request: ReportListRequest, on connection: Connection) throws -> Page {
        var filter = LibraryQuery()
        filter.text = request.text
        var conditions = [LibrarySearch.filters(filter)]
        if let cursor = request.cursor {
            conditions.append(
                """
                (completed_at, id) < (timestamptz 'epoch' + \(cursor.completedMicros) * interval '1 microsecond', \
                \(cursor.id))
                """)
        }
        let rows = try connection.query(
            """
            SELECT id, public_id, slug, title, industry, region, completed_at,
                   (extract(epoch FROM completed_at) * 1000000)::bigint AS completed_us
            FROM reports WHERE \(Query.joined(conditions, separator: " AND "))
            ORDER BY completed_at DESC, id DESC LIMIT \(request.limit + 1)
            """)
        var items: [LibraryItem] = []
        var last: ReportCursor?
        for row in rows.prefix(request.limit) {
            let id = try row.int64("id")
            items.append(
                LibraryItem(
                    id: id, publicID: try row.string("public_id"), slug: try row.string("slug"),
                    title: try row.string("title"), industry: try row.string("industry"),
                    region: try row.string("region"), completedAt: try row.date("completed_at"), snippet: []))
            last = ReportCursor(completedMicros: try row.int64("completed_us"), id: id)
        }
        return Page(items: items, nextCursor: rows.count > request.limit ? last?.encoded : nil)
    }
}
