import Foundation

/// One migration file: `NNNN_name.sql`, applied once, in version order, never edited afterwards.
public struct Migration: Sendable, Equatable {
    /// The number before the first underscore.
    public var version: Int
    /// The file name without `.sql` (`0001_initial`); recorded in `schema_migrations`.
    public var name: String
    /// The SQL text (may hold several statements; it must not BEGIN or COMMIT itself).
    public var sql: String

    /// Creates a migration from its parts.
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Reads every `*.sql` file of a directory, sorted by version. Other files are ignored; a `.sql` file
    /// whose name is not `NNNN_name.sql`, a duplicate version or text that is not UTF-8 is an error.
    public static func load(from directory: String) throws -> [Migration] {
        let fileNames: [String]
        do {
            fileNames = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw MigrationError.directoryUnreadable(path: directory)
        }
        var migrations: [Migration] = []
        for fileName in fileNames where fileName.hasSuffix(".sql") {
            let name = String(fileName.dropLast(4))
            guard let version = parseVersion(name) else { throw MigrationError.invalidFileName(fileName) }
            let path = (directory as NSString).appendingPathComponent(fileName)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw MigrationError.directoryUnreadable(path: path)
            }
            guard let sql = String(data: data, encoding: .utf8) else { throw MigrationError.invalidEncoding(fileName) }
            migrations.append(Migration(version: version, name: name, sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (previous, next) in zip(migrations, migrations.dropFirst()) where previous.version == next.version {
            throw MigrationError.duplicateVersion(previous.version, [previous.name, next.name])
        }
        return migrations
    }

    /// `0012_add_index` → 12; nil unless digits, an underscore and a name of letters, digits, `_` or `-`.
    static func parseVersion(_ name: String) -> Int? {
        guard let underscore = name.firstIndex(of: "_") else { return nil }
        let digits = name[..<underscore]
        let label = name[name.index(after: underscore)...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
              !label.isEmpty,
              label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            return nil
        }
        return Int(digits)
    }
}
