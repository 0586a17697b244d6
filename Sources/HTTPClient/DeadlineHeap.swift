/// A min-heap of values by deadline (seconds on a monotonic clock): the next deadline in O(1), push and pop in
/// O(log n). Values with equal deadlines come out in the order they were pushed. It keeps no index by value, so a
/// value that no longer matters (a cancelled timer, a removed transfer) is dropped by its owner when it comes out
/// (lazily, by generation or id), rather than searched for. Used by `HTTPStreamSet`'s stall checks and the engine's
/// `FollowLoop` timers, so neither walks everything it holds on each pass.
public struct DeadlineHeap<Value> {
    private var items: [(deadline: Double, order: UInt64, value: Value)] = []
    private var pushed: UInt64 = 0

    /// An empty heap.
    public init() {}

    /// How many values it holds (including those their owner no longer wants).
    public var count: Int { items.count }

    /// Whether it holds nothing.
    public var isEmpty: Bool { items.isEmpty }

    /// The earliest deadline, or nil when empty.
    public var nextDeadline: Double? { items.first?.deadline }

    /// Adds `value`, due at `deadline`.
    public mutating func push(_ value: Value, at deadline: Double) {
        pushed &+= 1
        items.append((deadline, pushed, value))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(child, parent) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest value with its deadline, or nil when empty.
    public mutating func pop() -> (deadline: Double, value: Value)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var first = parent
            if left < items.count, precedes(left, first) { first = left }
            if right < items.count, precedes(right, first) { first = right }
            guard first != parent else { break }
            items.swapAt(parent, first)
            parent = first
        }
        return (top.deadline, top.value)
    }

    /// Removes and returns, earliest first, every value due at `now` (deadline ≤ `now`). Values pushed meanwhile
    /// by the caller wait for the next call, so an action that reschedules itself cannot spin.
    public mutating func popDue(now: Double) -> [Value] {
        var due: [Value] = []
        while let deadline = nextDeadline, deadline <= now, let top = pop() { due.append(top.value) }
        return due
    }

    private func precedes(_ a: Int, _ b: Int) -> Bool {
        items[a].deadline < items[b].deadline || (items[a].deadline == items[b].deadline && items[a].order < items[b].order)
    }
}
