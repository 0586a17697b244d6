import HTTPClient

/// How an event stream ended without an error.
public enum StreamEnd: Sendable, Equatable {
    /// The server closed the connection.
    case closed
    /// The handler returned false or the stop check said so.
    case stopped
}

extension ParallelClient {
    /// Reads `GET /v1/tasks/runs/{id}/events` until the server closes it, `onEvent` returns false or `shouldStop()`
    /// is true (checked whenever bytes arrive). A connection idle for `idleTimeout` s (default `streamIdleTimeout`)
    /// fails with a `.transport` error of kind `.stalled`. A non-200 answer throws `.api` before any parsing.
    public func runEvents(runID: String, idleTimeout: Double? = nil, shouldStop: () -> Bool = { false },
                          onEvent: (RunEvent) -> Bool) throws(ParallelError) -> StreamEnd {
        // The SDK uses the GA path without a beta; the docs use the beta. The header is harmless, so send it.
        let request = request("GET", "/v1/tasks/runs/\(Self.encode(runID))/events", accept: "text/event-stream",
                              betas: [ParallelConfiguration.eventsBeta] + configuration.betas, timeout: 0,
                              idleTimeout: idleTimeout ?? configuration.streamIdleTimeout)
        return try streamEvents(request, shouldStop: shouldStop, onEvent: onEvent)
    }

    /// Reads `GET /v1/tasks/groups/{id}/events`, resuming strictly after `lastEventID`. The server closes it when the
    /// group is inactive, after `timeout` s, or after an hour. Each event's `eventID` is the next cursor.
    public func groupEvents(groupID: String, lastEventID: String? = nil, timeout: Double? = nil,
                            shouldStop: () -> Bool = { false }, onEvent: (RunEvent) -> Bool)
        throws(ParallelError) -> StreamEnd
    {
        let request = groupEventsRequest(groupID: groupID, lastEventID: lastEventID, timeout: timeout)
        return try streamEvents(request, shouldStop: shouldStop, onEvent: onEvent)
    }

    /// Reads `GET /v1/tasks/groups/{id}/runs`: one `task_run.state` per run (filtered), then the server closes it.
    public func groupRuns(groupID: String, includeInput: Bool = false, includeOutput: Bool = false,
                          status: RunStatus? = nil, lastEventID: String? = nil, shouldStop: () -> Bool = { false },
                          onEvent: (RunEvent) -> Bool) throws(ParallelError) -> StreamEnd {
        let request = groupRunsRequest(groupID: groupID, includeInput: includeInput, includeOutput: includeOutput,
                                       status: status, lastEventID: lastEventID)
        return try streamEvents(request, shouldStop: shouldStop, onEvent: onEvent)
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }

    /// Shared SSE reading: status first, then decode; invalid payloads are logged and skipped.
    func streamEvents(_ request: HTTPRequest, shouldStop: () -> Bool, onEvent: (RunEvent) -> Bool)
        throws(ParallelError) -> StreamEnd
    {
        var head: HTTPResponseHead?
        var errorBody: [UInt8] = []
        var decoder = RunEventStreamDecoder()
        var stopped = false
        let path = Self.logPath(request.url)
        do {
            _ = try http.stream(request, onHead: { received in
                head = received
                return true
            }, onBytes: { bytes in
                guard head?.status == 200 else {
                    // Keep the error body (bounded) to report it after the transfer.
                    if errorBody.count < 65_536 { errorBody += bytes }
                    return true
                }
                if shouldStop() {
                    stopped = true
                    return false
                }
                let skippedBefore = decoder.skipped
                for event in decoder.feed(bytes) {
                    if case .unknown(let type) = event {
                        logger.debug("Skipping unknown Parallel event type", metadata: ["type": "\(type)"])
                    }
                    if !onEvent(event) {
                        stopped = true
                        return false
                    }
                }
                if decoder.skipped > skippedBefore {
                    logger.warning("Skipped malformed Parallel event", metadata: ["path": "\(path)"])
                }
                return true
            })
        } catch let error as HTTPClientError {
            if stopped { return .stopped }
            if let head, head.status != 200 {
                throw apiError(status: head.status, body: errorBody, head: head)
            }
            throw .transport(error)
        } catch {
            throw .invalidRequest("unexpected stream failure")
        }
        guard let head else { throw .decoding("stream ended without a response head") }
        if head.status != 200 { throw apiError(status: head.status, body: errorBody, head: head) }
        if stopped { return .stopped }
        for event in decoder.finish() where !onEvent(event) {
            return .stopped
        }
        return .closed
    }
}
