import Synchronization

/// Rendered report pages (HTML and Markdown downloads) of this worker process, shared by its request threads
/// (hence the `Mutex`): a finished report never changes, so rendering it once per process instead of once per
/// request is safe. Keyed by the report's id and the representation's ETag (which changes with the completion
/// time, the visibility and the render version; hiding is checked before the cache is consulted).
/// Bounded by total size; the least recently used entries go first.
public final class ReportRenderCache: Sendable {
    /// What identifies one rendering.
    public struct Key: Hashable, Sendable {
        var id: Int64
        var etag: String
    }

    private struct State {
        var entries: [Key: (text: String, lastUse: UInt64)] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())
    private let maxBytes: Int

    /// A cache holding at most about `maxBytes` of HTML (default 32 MiB).
    public init(maxBytes: Int = 32 << 20) { self.maxBytes = maxBytes }

    /// The cached text for `key`, or `render()`'s (run outside the lock) remembered.
    func text(key: Key, render: () throws -> String) rethrows -> String {
        let hit = state.withLock { state -> String? in
            guard let entry = state.entries[key] else { return nil }
            state.clock += 1
            state.entries[key]?.lastUse = state.clock
            return entry.text
        }
        if let hit { return hit }
        let rendered = try render()
        let size = rendered.utf8.count
        guard size <= maxBytes / 4 else { return rendered }
        state.withLock { state in
            state.clock += 1
            if state.entries[key] == nil { state.bytes += size }
            state.entries[key] = (rendered, state.clock)
            if state.bytes > maxBytes {
                // Evict the older half by last use: rare, and simpler than keeping an ordered list.
                let sorted = state.entries.sorted { $0.value.lastUse < $1.value.lastUse }
                for (old, entry) in sorted.prefix(sorted.count / 2) {
                    state.entries[old] = nil
                    state.bytes -= entry.text.utf8.count
                }
            }
        }
        return rendered
    }

    /// How many renderings are cached (for tests and metrics).
    public var count: Int { state.withLock { $0.entries.count } }
}
