public import HTTPClient

/// The run calls as requests and decoders, for callers that send them on their own transfers (the monitoring
/// thread's multi handle) instead of this client's blocking handle.
extension ParallelClient {
    /// `GET /v1/tasks/runs/{id}/events` (as `runEvents` sends it).
    public func runEventsRequest(runID: String, idleTimeout: Double? = nil) -> HTTPRequest {
        request("GET", "/v1/tasks/runs/\(Self.encode(runID))/events", accept: "text/event-stream",
                betas: [ParallelConfiguration.eventsBeta] + configuration.betas, timeout: 0,
                idleTimeout: idleTimeout ?? configuration.streamIdleTimeout)
    }

    /// `GET /v1/tasks/runs/{id}`.
    public func retrieveRunRequest(_ runID: String) -> HTTPRequest {
        request("GET", "/v1/tasks/runs/\(Self.encode(runID))", timeout: configuration.requestTimeout)
    }

    /// `GET /v1/tasks/runs/{id}/result?timeout=N`.
    public func resultRequest(runID: String, timeout: Int) -> HTTPRequest {
        request("GET", "/v1/tasks/runs/\(Self.encode(runID))/result", query: [("timeout", String(max(0, timeout)))],
                timeout: Double(max(0, timeout)) + 30)
    }

    /// The error an answer other than 200 stands for (the body is Parallel's error JSON, if any).
    public func error(status: Int, body: [UInt8], head: HTTPResponseHead?) -> ParallelError {
        apiError(status: status, body: body, head: head)
    }

    /// The run in the answer to `retrieveRunRequest`.
    public func decodeRun(_ response: HTTPResponse) throws(ParallelError) -> TaskRun {
        guard response.status == 200 else { throw error(status: response.status, body: response.body, head: response.head) }
        return try Self.decode(TaskRun.self, from: response.body, what: "run")
    }

    /// The result in the answer to `resultRequest` (`.stillActive` on 408, `.notFoundOrFailed` on 404).
    public func decodeResult(_ response: HTTPResponse) throws(ParallelError) -> TaskRunResult {
        switch response.status {
        case 200: return try Self.decode(TaskRunResult.self, from: response.body, what: "run result")
        case 408: throw .stillActive
        default:
            let failure = error(status: response.status, body: response.body, head: response.head)
            if case .api(404, let refID, let message, _) = failure { throw .notFoundOrFailed(refID: refID, message: message) }
            throw failure
        }
    }
}
