import Foundation
@testable import Engine
import Postgres
import Testing
import Web

/// The writer thread's per-stream bookkeeping, without sockets: what goes into a viewer's output and when it
/// must read the log instead.
@Suite struct LiveViewerTests {
    /// A body that records what is written and can be told to have no room.
    final class RecordingBody: DetachedBody, @unchecked Sendable {
        private let lock = NSLock()
        private var bytes: [UInt8] = []
        var written: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }
        func write(_ more: [UInt8]) throws { lock.withLock { bytes += more } }
        func flush() throws {}
        var isWritable: Bool { true }
        var writeChunkBytes: Int { 16 }
        func close() {}
    }

    static func event(_ seq: Int, _ type: String = "message") -> LiveEvent {
        LiveEvent(seq: seq, type: type, data: "{}", isTerminal: type == "completed" || type == "failed")
    }

    static func viewer(after: Int = 0, terminal: String? = nil) -> (LiveViewer, RecordingBody) {
        let body = RecordingBody()
        let relay = Relay(key: StreamKey(channel: "test_events", id: 1), eventLimit: 10, byteLimit: 1 << 20)
        let viewer = LiveViewer(LiveHandoff(relay: relay, body: body, after: after,
                                            terminalIfEnded: terminal.map { Array($0.utf8) }))
        return (viewer, body)
    }

    static func drain(_ viewer: LiveViewer) throws {
        while viewer.hasOutput { try viewer.writeChunk(now: Date()) }
    }

    @Test func liveEventsAlreadySentAreSkippedAndAGapAsksForTheLog() throws {
        let (viewer, body) = Self.viewer(after: 2)
        #expect(viewer.appendLive([Self.event(1), Self.event(2), Self.event(3)]))
        #expect(viewer.sent == 3)
        #expect(!viewer.appendLive([Self.event(5)]))
        #expect(viewer.sent == 3)
        try Self.drain(viewer)
        #expect(body.written == "id: 3\nevent: message\ndata: {}\n\n")
    }

    @Test func theTerminalEventEndsTheViewerAndNothingFollowsIt() throws {
        let (viewer, body) = Self.viewer()
        #expect(viewer.appendLive([Self.event(1, "completed"), Self.event(2)]))
        #expect(viewer.ending)
        #expect(viewer.sent == 1)
        try Self.drain(viewer)
        #expect(body.written == "id: 1\nevent: completed\ndata: {}\n\n")
    }

    @Test func aFullReplayPageAsksForMoreAndTheLastPageAddsTheSynthesizedTerminal() throws {
        let (viewer, body) = Self.viewer(terminal: "event: completed\ndata: {}\n\n")
        viewer.appendFromLog([Self.event(1), Self.event(2)], full: true)
        #expect(viewer.moreToCatchUp)
        #expect(!viewer.ending)
        viewer.appendFromLog([Self.event(3)], full: false)
        #expect(viewer.ending)
        try Self.drain(viewer)
        #expect(body.written.hasSuffix("id: 3\nevent: message\ndata: {}\n\nevent: completed\ndata: {}\n\n"))
    }

    @Test func aReportThatWasRunningAtConnectGetsNoSynthesizedTerminal() throws {
        let (running, _) = Self.viewer()
        running.appendFromLog([], full: false)
        running.appendFromLog([Self.event(1)], full: false)
        #expect(!running.ending)
        #expect(running.sent == 1)
    }

    @Test func outputIsWrittenInChunksOfTheBodysSize() throws {
        let (viewer, body) = Self.viewer()
        #expect(viewer.appendLive([Self.event(1)]))
        try viewer.writeChunk(now: Date())
        #expect(body.written.utf8.count == 16)
        #expect(viewer.hasOutput)
        try Self.drain(viewer)
        #expect(!viewer.hasOutput)
    }

    @Test func aRelayKeepsEventsUntilTheWriterHasRoomAndOverflowsPastItsBound() {
        let relay = Relay(key: StreamKey(channel: "test_events", id: 1), eventLimit: 3, byteLimit: 1 << 20)
        #expect(relay.push([Self.event(1)]) == (true, false))
        #expect(relay.push([Self.event(2)]) == (false, false))
        #expect(relay.take(taking: false) == .idle)
        #expect(relay.queuedCount == 2)
        #expect(relay.take(taking: true) == .events([Self.event(1), Self.event(2)]))
        #expect(relay.push([Self.event(3), Self.event(4), Self.event(5), Self.event(6)]) == (true, true))
        #expect(relay.take(taking: false) == .overflow)
    }
}
