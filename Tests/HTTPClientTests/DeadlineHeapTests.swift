import HTTPClient
import Testing

/// The min-heap behind the engine's timers and `HTTPStreamSet`'s stall checks (pure logic).
@Suite("DeadlineHeap: earliest deadline first")
struct DeadlineHeapTests {
    @Test func popsInDeadlineOrderAndTiesInPushOrder() {
        var heap = DeadlineHeap<String>()
        var expected: [(Double, String)] = []
        var generator = SystemRandomNumberGenerator()
        for index in 0..<500 {
            let deadline = Double(Int.random(in: 0..<50, using: &generator)) / 10
            heap.push("\(index)", at: deadline)
            expected.append((deadline, "\(index)"))
        }
        // A stable sort: equal deadlines keep the order they were pushed in.
        let sorted = expected.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }
            .map(\.element.1)
        var popped: [String] = []
        while let top = heap.pop() { popped.append(top.value) }
        #expect(popped == sorted)
        #expect(heap.isEmpty && heap.nextDeadline == nil)
    }

    @Test func popDueTakesOnlyWhatIsDueAndLeavesWhatIsPushedMeanwhile() {
        var heap = DeadlineHeap<Int>()
        for (value, deadline) in [(3, 3.0), (1, 1.0), (4, 4.0), (2, 2.0)] { heap.push(value, at: deadline) }
        #expect(heap.popDue(now: 0.5) == [])
        #expect(heap.popDue(now: 2) == [1, 2])
        heap.push(0, at: 0)
        #expect(heap.nextDeadline == 0)
        #expect(heap.popDue(now: 3.5) == [0, 3])
        #expect(heap.count == 1 && heap.nextDeadline == 4)
    }
}
