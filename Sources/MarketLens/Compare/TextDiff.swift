/// A small, dependency-free diff for the compare page (issue 16): longest common subsequence over lines, then
/// over words inside a changed line, so a reader sees "12.3 → 13.1" rather than two whole paragraphs.
/// Pure: no I/O, no HTML (see `DiffHTML`).
enum TextDiff {
    /// One piece of a diff.
    enum Piece: Equatable {
        case same(String)
        case deleted(String)
        case inserted(String)
    }

    /// One line of a line-level diff: unchanged, only in the old text, only in the new one, or changed in
    /// place (its word-level pieces).
    enum Line: Equatable {
        case same(String)
        case deleted(String)
        case inserted(String)
        case changed([Piece])
    }

    /// Above this many cells (old × new tokens) the quadratic table is not built: the texts are shown as
    /// wholly replaced instead, which is still correct, only coarser.
    static let maxCells = 2_000_000

    /// The line-level diff of `old` and `new`. A run of deleted lines followed by a run of inserted ones is
    /// paired up line by line: pairs that share enough words become `.changed` with word-level pieces.
    static func lines(_ old: String, _ new: String) -> [Line] {
        let a = splitLines(old)
        let b = splitLines(new)
        var result: [Line] = []
        var deleted: [String] = []
        var inserted: [String] = []
        func flush() {
            let paired = min(deleted.count, inserted.count)
            for index in 0..<paired {
                let pieces = words(deleted[index], inserted[index])
                if similarity(pieces) >= 0.3 {
                    result.append(.changed(pieces))
                } else {
                    result.append(.deleted(deleted[index]))
                    result.append(.inserted(inserted[index]))
                }
            }
            result += deleted.dropFirst(paired).map(Line.deleted)
            result += inserted.dropFirst(paired).map(Line.inserted)
            deleted = []
            inserted = []
        }
        for piece in diff(a, b) {
            switch piece {
            case .same(let line):
                flush()
                result.append(.same(line))
            case .deleted(let line): deleted.append(line)
            case .inserted(let line): inserted.append(line)
            }
        }
        flush()
        return result
    }

    /// The word-level diff of two lines: words and the whitespace between them are the tokens, and neighbouring
    /// pieces of one kind are merged.
    static func words(_ old: String, _ new: String) -> [Piece] {
        merge(diff(tokens(old), tokens(new)))
    }

    /// The share of the text (by characters) that is unchanged, from 0 to 1.
    static func similarity(_ pieces: [Piece]) -> Double {
        var same = 0
        var total = 0
        for piece in pieces {
            switch piece {
            case .same(let text):
                same += text.count * 2
                total += text.count * 2
            case .deleted(let text), .inserted(let text):
                total += text.count
            }
        }
        return total == 0 ? 1 : Double(same) / Double(total)
    }

    /// Lines without their terminators; a final newline does not make an empty last line.
    static func splitLines(_ text: String) -> [String] {
        guard !text.isEmpty else { return [] }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Runs of whitespace and runs of anything else, in order; joined they give the text back.
    static func tokens(_ text: String) -> [String] {
        var result: [String] = []
        var current = ""
        var currentIsSpace = false
        for character in text {
            let isSpace = character.isWhitespace
            if !current.isEmpty, isSpace != currentIsSpace {
                result.append(current)
                current = ""
            }
            current.append(character)
            currentIsSpace = isSpace
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    /// Longest common subsequence of two token lists, as pieces in order (deletions before insertions where
    /// both happen at one place).
    static func diff(_ a: [String], _ b: [String]) -> [Piece] {
        // Common ends cost nothing and keep the table small.
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix,
            a[a.count - 1 - suffix] == b[b.count - 1 - suffix]
        {
            suffix += 1
        }
        let midA = Array(a[prefix..<(a.count - suffix)])
        let midB = Array(b[prefix..<(b.count - suffix)])
        var result = a[..<prefix].map(Piece.same)
        if midA.isEmpty || midB.isEmpty || midA.count * midB.count > maxCells {
            result += midA.map(Piece.deleted)
            result += midB.map(Piece.inserted)
        } else {
            result += lcs(midA, midB)
        }
        result += a[(a.count - suffix)...].map(Piece.same)
        return result
    }

    /// The classic dynamic-programming table, walked from the start.
    private static func lcs(_ a: [String], _ b: [String]) -> [Piece] {
        let n = a.count
        let m = b.count
        // lengths[i][j]: LCS length of a[i...] and b[j...], in one flat array.
        var lengths = [Int32](repeating: 0, count: (n + 1) * (m + 1))
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                lengths[i * (m + 1) + j] = a[i] == b[j]
                    ? lengths[(i + 1) * (m + 1) + j + 1] + 1
                    : max(lengths[(i + 1) * (m + 1) + j], lengths[i * (m + 1) + j + 1])
            }
        }
        var result: [Piece] = []
        var i = 0
        var j = 0
        while i < n, j < m {
            if a[i] == b[j] {
                result.append(.same(a[i]))
                i += 1
                j += 1
            } else if lengths[(i + 1) * (m + 1) + j] >= lengths[i * (m + 1) + j + 1] {
                result.append(.deleted(a[i]))
                i += 1
            } else {
                result.append(.inserted(b[j]))
                j += 1
            }
        }
        result += a[i...].map(Piece.deleted)
        result += b[j...].map(Piece.inserted)
        return result
    }

    /// Neighbouring pieces of one kind joined; a lone whitespace kept between two changes joins them, so a
    /// replaced phrase reads as one deletion and one insertion rather than alternating words.
    static func merge(_ pieces: [Piece]) -> [Piece] {
        var absorbed: [Piece] = []
        for (index, piece) in pieces.enumerated() {
            if case .same(let text) = piece, text.allSatisfy(\.isWhitespace), index > 0, index < pieces.count - 1,
                !isSame(pieces[index - 1]), !isSame(pieces[index + 1])
            {
                absorbed.append(.deleted(text))
                absorbed.append(.inserted(text))
            } else {
                absorbed.append(piece)
            }
        }
        // Deletions first, then insertions, inside every changed stretch.
        var result: [Piece] = []
        var deleted = ""
        var inserted = ""
        func flush() {
            if !deleted.isEmpty { result.append(.deleted(deleted)) }
            if !inserted.isEmpty { result.append(.inserted(inserted)) }
            deleted = ""
            inserted = ""
        }
        for piece in absorbed {
            switch piece {
            case .same(let text):
                flush()
                if case .same(let previous)? = result.last {
                    result[result.count - 1] = .same(previous + text)
                } else {
                    result.append(.same(text))
                }
            case .deleted(let text): deleted += text
            case .inserted(let text): inserted += text
            }
        }
        flush()
        return result
    }

    private static func isSame(_ piece: Piece) -> Bool {
        if case .same = piece { return true }
        return false
    }
}
