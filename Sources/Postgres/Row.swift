public import Foundation

/// The column names of one result, shared by all its rows.
final class ColumnIndex: Sendable {
    let names: [String]
    let positions: [String: Int]

    init(names: [String]) {
        self.names = names
        var positions: [String: Int] = [:]
        // The first column of a name wins, as in most drivers; alias duplicates in SQL.
        for (index, name) in names.enumerated() where positions[name] == nil {
            positions[name] = index
        }
        self.positions = positions
    }
}

/// One result row, copied out of libpq: values in text format, read by column name.
public struct Row: Sendable {
    let columns: ColumnIndex
    let values: [String?]

    init(columns: ColumnIndex, values: [String?]) {
        self.columns = columns
        self.values = values
    }

    /// The column names in result order.
    public var columnNames: [String] { columns.names }

    /// The raw text of a column (`nil` for NULL or an unknown column).
    public subscript(column: String) -> String? {
        guard let position = columns.positions[column] else { return nil }
        return values[position]
    }

    /// True when the column exists and is NULL.
    public func isNull(_ column: String) throws -> Bool {
        try rawValue(column) == nil
    }

    /// Decodes a column; `T` may be optional to accept NULL.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let text = try rawValue(column) else {
            if let null = T.postgresNull { return null }
            throw PostgresError(.decodingFailed, call: "Row.decode", message: "column \"\(column)\" is NULL")
        }
        guard let value = T(postgresText: text) else {
            throw PostgresError(.decodingFailed, call: "Row.decode",
                                message: "column \"\(column)\" cannot be read as \(T.self)")
        }
        return value
    }

    private func rawValue(_ column: String) throws -> String? {
        guard let position = columns.positions[column] else {
            throw PostgresError(.decodingFailed, call: "Row.decode", message: "no column named \"\(column)\"")
        }
        return values[position]
    }
}

extension Row {
    /// A non-NULL text column.
    public func string(_ column: String) throws -> String { try decode(column) }
    /// A text column that may be NULL.
    public func optionalString(_ column: String) throws -> String? { try decode(column) }
    /// A non-NULL integer column.
    public func int(_ column: String) throws -> Int { try decode(column) }
    /// An integer column that may be NULL.
    public func optionalInt(_ column: String) throws -> Int? { try decode(column) }
    /// A non-NULL bigint column.
    public func int64(_ column: String) throws -> Int64 { try decode(column) }
    /// A bigint column that may be NULL.
    public func optionalInt64(_ column: String) throws -> Int64? { try decode(column) }
    /// A non-NULL floating-point or numeric column.
    public func double(_ column: String) throws -> Double { try decode(column) }
    /// A floating-point or numeric column that may be NULL.
    public func optionalDouble(_ column: String) throws -> Double? { try decode(column) }
    /// A non-NULL boolean column.
    public func bool(_ column: String) throws -> Bool { try decode(column) }
    /// A boolean column that may be NULL.
    public func optionalBool(_ column: String) throws -> Bool? { try decode(column) }
    /// A non-NULL timestamp column.
    public func date(_ column: String) throws -> Date { try decode(column) }
    /// A timestamp column that may be NULL.
    public func optionalDate(_ column: String) throws -> Date? { try decode(column) }
    /// A non-NULL bytea column.
    public func bytes(_ column: String) throws -> [UInt8] { try decode(column) }
    /// A bytea column that may be NULL.
    public func optionalBytes(_ column: String) throws -> [UInt8]? { try decode(column) }
    /// A non-NULL uuid column.
    public func uuid(_ column: String) throws -> UUID { try decode(column) }
    /// A uuid column that may be NULL.
    public func optionalUUID(_ column: String) throws -> UUID? { try decode(column) }
    /// A non-NULL json/jsonb column.
    public func json(_ column: String) throws -> PostgresJSON { try decode(column) }
    /// A json/jsonb column that may be NULL.
    public func optionalJSON(_ column: String) throws -> PostgresJSON? { try decode(column) }

    /// A non-NULL one-dimensional array column (`text[]`, `bigint[]`, …) as strings; NULL elements are refused.
    public func stringArray(_ column: String) throws -> [String] {
        let text: String = try decode(column)
        guard let elements = PostgresArrayText.decode(text) else {
            throw PostgresError(.decodingFailed, call: "Row.decode",
                                message: "column \"\(column)\" is not a one-dimensional array")
        }
        return try elements.map { element in
            guard let element else {
                throw PostgresError(.decodingFailed, call: "Row.decode",
                                    message: "column \"\(column)\" holds a NULL element")
            }
            return element
        }
    }
}
