/// Tunables of the live event streams (product.md §8), read from the environment once per process.
public struct LiveSettings: Sendable {
    /// Seconds between `: heartbeat` comments (`MARKETLENS_HEARTBEAT_SECONDS`, default 15).
    public var heartbeatSeconds: Double
    /// Open streams one process serves before it sheds load with `retry:` (`MARKETLENS_MAX_STREAMS`). Streams
    /// hold no thread (the live writer serves them all); each holds a descriptor, so the default is 10,000 or
    /// what the open-file limit leaves after 512 for everything else, whichever is smaller.
    public var maxStreams: Int
    /// Open streams (report, batch and console event streams together) one client address may hold in one
    /// process (`MARKETLENS_MAX_STREAMS_PER_CLIENT`, default 50); past it: 429, or `retry:` for an SSE client.
    public var maxStreamsPerClient: Int
    /// Events a slow viewer may have queued before it is disconnected (its reconnect replays).
    public var queueEventLimit: Int
    /// Bytes a slow viewer may have queued before it is disconnected.
    public var queueByteLimit: Int
    /// The `retry:` (ms) sent with a shed stream: when the client should try again.
    public var shedRetryMilliseconds: Int
    /// Threads per process answering replay and look-up queries for the streams (each owns one connection).
    public var replayThreads: Int

    /// Settings with explicit values (tests).
    public init(heartbeatSeconds: Double = 15, maxStreams: Int = 10_000, maxStreamsPerClient: Int = 50,
                queueEventLimit: Int = 1000, queueByteLimit: Int = 1 << 20, shedRetryMilliseconds: Int = 5000,
                replayThreads: Int = 2) {
        self.heartbeatSeconds = heartbeatSeconds
        self.maxStreams = maxStreams
        self.maxStreamsPerClient = maxStreamsPerClient
        self.queueEventLimit = queueEventLimit
        self.queueByteLimit = queueByteLimit
        self.shedRetryMilliseconds = shedRetryMilliseconds
        self.replayThreads = replayThreads
    }

    /// Reads `MARKETLENS_HEARTBEAT_SECONDS`, `MARKETLENS_MAX_STREAMS`, `MARKETLENS_MAX_STREAMS_PER_CLIENT`,
    /// `MARKETLENS_REPLAY_THREADS`; anything
    /// missing or unusable keeps its default. `descriptorLimit` is the process's open-file limit.
    public init(environment: [String: String], descriptorLimit: Int = 1024) {
        self.init(maxStreams: max(16, min(10_000, descriptorLimit - 512)))
        if let value = environment["MARKETLENS_HEARTBEAT_SECONDS"].flatMap(Double.init), value > 0, value <= 3600 {
            heartbeatSeconds = value
        }
        if let value = environment["MARKETLENS_MAX_STREAMS"].flatMap(Int.init), value >= 0 {
            maxStreams = value
        }
        if let value = environment["MARKETLENS_MAX_STREAMS_PER_CLIENT"].flatMap(Int.init), value >= 1 {
            maxStreamsPerClient = value
        }
        if let value = environment["MARKETLENS_REPLAY_THREADS"].flatMap(Int.init), (1...16).contains(value) {
            replayThreads = value
        }
    }
}
