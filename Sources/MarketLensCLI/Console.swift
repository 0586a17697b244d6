import Foundation

/// Output for the operator on standard output (logs go to standard error).
enum Console {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Left-aligned columns for tables printed by admin commands.
    static func table(_ header: [String], _ rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        for row in all {
            line(
                row.enumerated().map { index, cell in
                    cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                }.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
    }
}

/// A progress bar on standard error for long operations; plain lines when not attached to a terminal.
final class ProgressBar {
    private let total: Int
    private let label: String
    private var done = 0
    private var lastDecile = 0
    private let interactive = isatty(STDERR_FILENO) == 1

    init(total: Int, label: String) {
        self.total = max(total, 1)
        self.label = label
        draw(note: "")
    }

    func advance(note: String = "") {
        done = min(done + 1, total)
        draw(note: note)
    }

    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func draw(note: String) {
        let width = 30
        let filled = done * width / total
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let percent = done * 100 / total
        let text = "\(label) [\(bar)] \(done)/\(total) \(percent)% \(note)"
        if interactive {
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(text)".utf8))
        } else if done > 0, done == total || percent / 10 > lastDecile {
            // Not a terminal (a log, CI): a line per tenth, not one per item.
            lastDecile = percent / 10
            FileHandle.standardError.write(Data("\(text)\n".utf8))
        }
    }
}
