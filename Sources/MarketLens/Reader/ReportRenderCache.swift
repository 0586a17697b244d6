import Synchronization

/// Rendered report bodies of this worker process, shared by its request threads (hence the `Mutex`): a finished
/// report never changes, so rendering its Markdown once per process instead of once per request is safe. Keyed
/// by the report's id and its page ETag (which changes with the completion time and the render version).
/// Bounded by total HTML size; the least recently used entries go first.
public final class ReportRenderCache: Sendable {
    /// What identifies one rendering.
    public struct Key: Hashable, Sendable {
        var id: Int64
        var etag: String
    }

    private struct State {
        var entries: [Key: (rendered: ReportRendering.Rendered, lastUse: UInt64)] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())
    private let maxBytes: Int

    /// A cache holding at most about `maxBytes` of HTML (default 32 MiB).
    public init(maxBytes: Int = 32 << 20) { self.maxBytes = maxBytes }

    /// The cached rendering for `key`, or `content` rendered now (outside the lock) and remembered.
    func rendered(key: Key, content: String) -> ReportRendering.Rendered {
        let hit = state.withLock { state -> ReportRendering.Rendered? in
            guard let entry = state.entries[key] else { return nil }
            state.clock += 1
            state.entries[key]?.lastUse = state.clock
            return entry.rendered
        }
        if let hit { return hit }
        let rendered = ReportRendering.render(content: content)
        let size = rendered.html.utf8.count
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
                    state.bytes -= entry.rendered.html.utf8.count
                }
            }
        }
        return rendered
    }

    /// How many renderings are cached (for tests and metrics).
    public var count: Int { state.withLock { $0.entries.count } }
}
