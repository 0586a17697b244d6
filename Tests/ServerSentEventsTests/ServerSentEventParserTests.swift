import ServerSentEvents
import Testing

/// Parses `text` fed whole, then ends the stream.
func parse(_ text: String) -> [ServerSentEvent] {
    var parser = ServerSentEventParser()
    return parser.feed(Array(text.utf8)) + parser.finish()
}

@Suite("Server-sent event parsing: WHATWG rules")
struct ServerSentEventParserTests {
    @Test func defaultTypeIsMessage() {
        #expect(parse("data: hello\n\n") == [ServerSentEvent(type: "message", data: "hello")])
    }

    /// Bytes that are not contiguous in memory (a lazy sequence) parse as the same bytes in an array do.
    @Test func anySequenceOfBytesParsesAlike() {
        let text = "\u{FEFF}event: a\r\ndata: x\r\rdata: y\n\n: note\ndata: z\n\n"
        var parser = ServerSentEventParser()
        let lazy = parser.feed(text.utf8.lazy.map { $0 }) + parser.finish()
        #expect(lazy == parse(text))
        #expect(lazy.map(\.data) == ["x", "y", "z"] && lazy.first?.type == "a")
    }

    @Test func eventFieldSetsType() {
        #expect(parse("event: task_run.state\ndata: {}\n\n") == [ServerSentEvent(type: "task_run.state", data: "{}")])
    }

    @Test func dataLinesJoinWithNewlineAndTheLastNewlineIsDropped() {
        #expect(parse("data: a\ndata: b\ndata:\ndata: c\n\n") == [ServerSentEvent(data: "a\nb\n\nc")])
    }

    @Test func onlyOneLeadingSpaceIsDropped() {
        #expect(parse("data:  two spaces\n\ndata:none\n\ndata: x \n\n").map(\.data) == [" two spaces", "none", "x "])
    }

    @Test func valueSplitsAtTheFirstColon() {
        #expect(parse("data: a: b: c\n\n").map(\.data) == ["a: b: c"])
    }

    @Test func commentsAreIgnoredButCounted() {
        var parser = ServerSentEventParser()
        let events = parser.feed(Array(": heartbeat\n:\ndata: x\n: inside\n\n: another\n\n".utf8))
        #expect(events == [ServerSentEvent(data: "x")])
        #expect(parser.commentCount == 4)
    }

    @Test func fieldWithoutColonHasEmptyValue() {
        // "data" alone appends an empty line, so the event dispatches with empty data.
        #expect(parse("data\n\n") == [ServerSentEvent(data: "")])
        #expect(parse("data\ndata\n\n") == [ServerSentEvent(data: "\n")])
        // "event" alone sets an empty type, which means "message".
        #expect(parse("event: x\nevent\ndata: y\n\n") == [ServerSentEvent(type: "message", data: "y")])
    }

    @Test func emptyDataBufferDispatchesNothingButResetsTheType() {
        #expect(parse("event: lonely\n\ndata: x\n\n") == [ServerSentEvent(type: "message", data: "x")])
        #expect(parse("\n\n\n").isEmpty)
    }

    @Test func unknownFieldsAndCaseVariantsAreIgnored() {
        #expect(parse("foo: bar\nData: no\nEVENT: no\ndata: yes\n\n") == [ServerSentEvent(data: "yes")])
    }

    @Test func idPersistsAcrossEventsUntilChanged() {
        var parser = ServerSentEventParser()
        let events = parser.feed(Array("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 7\n\n".utf8))
        #expect(events.map(\.id) == ["1", "1", nil])
        // An id in a block without data still becomes the last event ID.
        #expect(parser.lastEventID == "7")
    }

    @Test func idContainingNULIsIgnored() {
        var parser = ServerSentEventParser()
        let events = parser.feed(Array("id: ok\ndata: a\n\nid: bad\u{0}id\ndata: b\n\n".utf8))
        #expect(events.map(\.id) == ["ok", "ok"])
        #expect(parser.lastEventID == "ok")
    }

    @Test func retryNeedsOnlyASCIIDigits() {
        var parser = ServerSentEventParser()
        let events = parser.feed(Array("retry: 2500\ndata: a\n\nretry: 12a\ndata: b\n\nretry: -1\nretry:  5\nretry:\nretry: ３\ndata: c\n\n".utf8))
        #expect(events.map(\.retry) == [2500, nil, nil])
        #expect(parser.reconnectionTime == 2500)
        _ = parser.feed(Array("retry: 0\n\n".utf8))
        #expect(parser.reconnectionTime == 0)
    }

    @Test func leadingBOMIsStrippedOnce() {
        #expect(parse("\u{FEFF}data: a\n\n") == [ServerSentEvent(data: "a")])
        // A second BOM is content: "\u{FEFF}data" is an unknown field name.
        #expect(parse("\u{FEFF}\u{FEFF}data: a\n\ndata: b\n\n") == [ServerSentEvent(data: "b")])
        // A BOM later in the stream is not stripped either.
        #expect(parse("data: a\n\n\u{FEFF}data: b\n\n") == [ServerSentEvent(data: "a")])
    }

    @Test func bomSplitAcrossChunksIsStillStripped() {
        var parser = ServerSentEventParser()
        var events: [ServerSentEvent] = []
        for byte in Array("\u{FEFF}data: a\n\n".utf8) { events += parser.feed([byte]) }
        #expect(events == [ServerSentEvent(data: "a")])
    }

    @Test func bytesThatOnlyStartLikeABOMAreContent() {
        // EF BB followed by something else: not a BOM; the bytes decode to U+FFFD in the field name.
        var parser = ServerSentEventParser()
        let events = parser.feed([0xEF, 0xBB] + Array("data: a\n\ndata: b\n\n".utf8))
        #expect(events == [ServerSentEvent(data: "b")])
    }

    @Test func incompleteEventAtEndIsDiscarded() {
        var parser = ServerSentEventParser()
        #expect(parser.feed(Array("data: a\n\ndata: unfinished\n".utf8)) == [ServerSentEvent(data: "a")])
        #expect(parser.finish().isEmpty)
        // A line without its line end is discarded too, and the parser starts afresh for a new connection.
        #expect(parser.feed(Array("data: x".utf8)).isEmpty)
        #expect(parser.finish().isEmpty)
        #expect(parser.feed(Array("data: next\n\n".utf8)) == [ServerSentEvent(data: "next")])
    }

    @Test(arguments: ["\n", "\r\n", "\r"])
    func everyLineEndWorks(lineEnd: String) {
        let text = ["event: e", "data: a", "data: b", "", ": c", "data: z", "", ""].joined(separator: lineEnd)
        #expect(parse(text) == [ServerSentEvent(type: "e", data: "a\nb"), ServerSentEvent(data: "z")])
    }

    @Test func mixedLineEnds() {
        #expect(parse("data: a\rdata: b\r\ndata: c\n\r\n") == [ServerSentEvent(data: "a\nb\nc")])
    }

    @Test func crAndLFInSeparateChunksAreOneLineEnd() {
        var parser = ServerSentEventParser()
        var events = parser.feed(Array("data: a\r".utf8))
        events += parser.feed(Array("\ndata: b\r".utf8))
        events += parser.feed(Array("\n\r".utf8))
        events += parser.feed(Array("\n".utf8))
        // Had a CR then LF counted as two line ends, "a" would have dispatched alone.
        #expect(events == [ServerSentEvent(data: "a\nb")])
    }

    @Test func crCRIsABlankLine() {
        #expect(parse("data: a\r\rdata: b\r\r") == [ServerSentEvent(data: "a"), ServerSentEvent(data: "b")])
    }

    @Test func multiByteCharactersSplitAcrossChunks() {
        let text = "event: é\ndata: €uro 📈 ünïcödé\n\n"
        var parser = ServerSentEventParser()
        var events: [ServerSentEvent] = []
        for byte in Array(text.utf8) { events += parser.feed(CollectionOfOne(byte)) }
        #expect(events == [ServerSentEvent(type: "é", data: "€uro 📈 ünïcödé")])
    }

    @Test func invalidUTF8BecomesReplacementCharacter() {
        var parser = ServerSentEventParser()
        let events = parser.feed(Array("data: a".utf8) + [0xFF] + Array("b\n\n".utf8))
        #expect(events == [ServerSentEvent(data: "a\u{FFFD}b")])
    }
}
