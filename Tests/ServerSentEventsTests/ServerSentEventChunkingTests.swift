import ServerSentEvents
import Testing

/// Feeds `bytes` in the given chunks and returns every event, including what `finish()` yields.
func parse(_ bytes: [UInt8], chunks sizes: [Int]) -> [ServerSentEvent] {
    var parser = ServerSentEventParser()
    var events: [ServerSentEvent] = []
    var start = 0
    for size in sizes where start < bytes.count {
        let end = min(bytes.count, start + size)
        events += parser.feed(bytes[start..<end])
        start = end
    }
    events += parser.feed(bytes[start...])
    return events + parser.finish()
}

@Suite("Server-sent event parsing: a recorded Parallel run stream in any chunking")
struct ServerSentEventChunkingTests {
    static let expected = ParallelRunStreamFixture.events.map { ServerSentEvent(type: $0.type, data: $0.data) }

    /// The fixture with its LF line ends replaced (the JSON holds no raw line breaks).
    static func variant(_ lineEnd: String) -> [UInt8] {
        ParallelRunStreamFixture.text.utf8.flatMap { $0 == UInt8(ascii: "\n") ? Array(lineEnd.utf8) : [$0] }
    }

    @Test func wholeStreamGivesEveryEventInOrder() {
        let events = parse(ServerSentEventChunkingTests.variant("\n"), chunks: [])
        #expect(events == ServerSentEventChunkingTests.expected)
        #expect(events.first?.type == "task_run.state")
        #expect(events.last?.data.contains(#""status":"completed""#) == true)
        #expect(events.last?.data.contains("€21.4 bn") == true)
    }

    @Test(arguments: ["\n", "\r\n", "\r"])
    func byteByByte(lineEnd: String) {
        let bytes = ServerSentEventChunkingTests.variant(lineEnd)
        #expect(parse(bytes, chunks: Array(repeating: 1, count: bytes.count)) == ServerSentEventChunkingTests.expected)
    }

    @Test(arguments: ["\n", "\r\n", "\r"])
    func lineByLine(lineEnd: String) {
        let text = String(decoding: ServerSentEventChunkingTests.variant(lineEnd), as: UTF8.self)
        var parser = ServerSentEventParser()
        var events: [ServerSentEvent] = []
        // Chunks end right after each line end, so a CRLF's LF never starts a chunk here.
        for line in text.split(separator: Character(lineEnd), omittingEmptySubsequences: false) {
            events += parser.feed(Array((line + lineEnd).utf8))
        }
        #expect(events == ServerSentEventChunkingTests.expected)
    }

    @Test(arguments: [2, 3, 7, 64, 1000])
    func fixedChunkSizes(size: Int) {
        for lineEnd in ["\n", "\r\n", "\r"] {
            let bytes = ServerSentEventChunkingTests.variant(lineEnd)
            let sizes = Array(repeating: size, count: bytes.count / size + 1)
            #expect(parse(bytes, chunks: sizes) == ServerSentEventChunkingTests.expected, "line end \(lineEnd.debugDescription)")
        }
    }

    @Test func everySplitPointOfASmallStream() {
        // Non-ASCII, CRLF, a comment, an id and a retry: splits land inside every construct.
        let text = "\u{FEFF}: hi\r\nid: 1\r\nevent: task_run.progress_msg.plan\r\ndata: {\"message\":\"é€📈\"}\r\n\r\nretry: 30\rdata: a\rdata: b\r\r"
        let bytes = Array(text.utf8)
        let expected = [
            ServerSentEvent(type: "task_run.progress_msg.plan", data: "{\"message\":\"é€📈\"}", id: "1"),
            ServerSentEvent(data: "a\nb", id: "1", retry: 30),
        ]
        #expect(parse(bytes, chunks: []) == expected)
        for split in 0...bytes.count {
            #expect(parse(bytes, chunks: [split]) == expected, "split at \(split)")
            for second in split...bytes.count where second - split <= 4 {
                #expect(parse(bytes, chunks: [split, second - split]) == expected, "splits at \(split), \(second)")
            }
        }
    }
}
