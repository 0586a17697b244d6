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

    /// The answer of a transfer, or its transport failure as Parallel's error.
    public static func response(_ outcome: Result<HTTPResponse, HTTPClientError>) throws(ParallelError) -> HTTPResponse {
        switch outcome {
        case .success(let response): return response
        case .failure(let error): throw .transport(error)
        }
    }

    /// The problem an ended event-stream transfer stands for (`body`: the answer's body when it was not 200); nil
    /// when the stream answered 200 and closed.
    public func streamProblem(_ end: Result<HTTPResponseHead, HTTPClientError>, body: [UInt8]) -> ParallelError? {
        switch end {
        case .success(let head) where head.status == 200: nil
        case .success(let head): error(status: head.status, body: body, head: head)
        case .failure(let error): .transport(error)
        }
    }

    /// The run in the answer to `retrieveRunRequest`.
    public func decodeRun(_ response: HTTPResponse) throws(ParallelError) -> TaskRun {
        guard response.status == 200 else { throw error(status: response.status, body: response.body, head: response.head) }
        return try Self.decode(TaskRun.self, from: response.body, what: "run")
    }

    /// The result in the answer to `resultRequest` (`.stillActive` on 408, `.notFoundOrFailed` on 404).
    public func decodeResult(_ response: HTTPResponse) throws(ParallelError) -> TaskRunResult {
        try Self.decodeResult(body: resultBody(response))
    }

    /// The result in the body of a 200 answer to `resultRequest`. Static, so it can run on another thread than the
    /// one that owns the client: a result is a whole report with its citations, the largest thing upstream sends.
    public static func decodeResult(body: [UInt8]) throws(ParallelError) -> TaskRunResult {
        try decode(TaskRunResult.self, from: body, what: "run result")
    }

    /// The body of a 200 answer to `resultRequest`, undecoded (`.stillActive` on 408, `.notFoundOrFailed` on 404).
    public func resultBody(_ response: HTTPResponse) throws(ParallelError) -> [UInt8] {
        switch response.status {
        case 200: return response.body
        case 408: throw .stillActive
        default:
            let failure = error(status: response.status, body: response.body, head: response.head)
            if case .api(404, let refID, let message, _) = failure { throw .notFoundOrFailed(refID: refID, message: message) }
            throw failure
        }
    }
}

/// The group calls as requests and decoders, for the monitoring thread's multi handle (as the blocking
/// `createGroup`, `addRuns`, `groupEvents` and `groupRuns` send them).
extension ParallelClient {
    /// `POST /v1/tasks/groups`.
    public func createGroupRequest(metadata: [String: JSONValue] = [:]) throws(ParallelError) -> HTTPRequest {
        struct Body: Encodable { var metadata: [String: JSONValue] }
        return request("POST", "/v1/tasks/groups", body: try Self.jsonBody(Body(metadata: metadata)),
                       timeout: configuration.requestTimeout)
    }

    /// The group in the answer to `createGroupRequest`.
    public func decodeGroup(_ response: HTTPResponse) throws(ParallelError) -> TaskGroup {
        guard (200..<300).contains(response.status) else {
            throw error(status: response.status, body: response.body, head: response.head)
        }
        return try Self.decode(TaskGroup.self, from: response.body, what: "task group")
    }

    /// `POST /v1/tasks/groups/{id}/runs` (≤ 1000 inputs).
    public func addRunsRequest(groupID: String, inputs: [RunInput], defaultTaskSpec: TaskSpec? = nil,
                               refreshStatus: Bool = true) throws(ParallelError) -> HTTPRequest {
        var betas = configuration.betas
        if inputs.contains(where: { $0.webhook != nil }) { betas.append(ParallelConfiguration.webhookBeta) }
        let body = try Self.jsonBody(AddRunsBody(inputs: inputs, defaultTaskSpec: defaultTaskSpec))
        return request("POST", "/v1/tasks/groups/\(Self.encode(groupID))/runs",
                       query: [("refresh_status", refreshStatus ? "true" : "false")], body: body, betas: betas,
                       timeout: configuration.createTimeout)
    }

    /// The run ids in the outcome of `addRunsRequest`, under the create rules: `.createUncertain` when runs may
    /// exist without our knowing their ids (no answer after sending, 500/504, an accepted answer we cannot read).
    public func decodeAddedRuns(_ outcome: Result<HTTPResponse, HTTPClientError>)
        throws(ParallelError) -> TaskGroupRunResponse
    {
        let response: HTTPResponse
        switch outcome {
        case .failure(let failure): throw Self.uncertainIfMaybeCreated(.transport(failure))
        case .success(let answer) where !(200..<300).contains(answer.status):
            throw Self.uncertainIfMaybeCreated(error(status: answer.status, body: answer.body, head: answer.head))
        case .success(let answer): response = answer
        }
        do throws(ParallelError) {
            return try Self.decode(TaskGroupRunResponse.self, from: response.body, what: "added runs")
        } catch {
            throw .createUncertain(error)
        }
    }

    /// `GET /v1/tasks/groups/{id}/events`, resuming strictly after `lastEventID`; the server closes it after
    /// `timeout` s when given (or earlier when the group is inactive, at the latest after an hour).
    public func groupEventsRequest(groupID: String, lastEventID: String? = nil, timeout: Double? = nil) -> HTTPRequest {
        var query: [(String, String)] = []
        if let lastEventID, !lastEventID.isEmpty { query.append(("last_event_id", lastEventID)) }
        if let timeout { query.append(("timeout", Self.format(timeout))) }
        return request("GET", "/v1/tasks/groups/\(Self.encode(groupID))/events", query: query,
                       accept: "text/event-stream", timeout: (timeout ?? 3600) + 30,
                       idleTimeout: configuration.streamIdleTimeout)
    }

    /// `GET /v1/tasks/groups/{id}/runs`: one `task_run.state` per run (filtered), then the server closes it.
    public func groupRunsRequest(groupID: String, includeInput: Bool = false, includeOutput: Bool = false,
                                 status: RunStatus? = nil, lastEventID: String? = nil) -> HTTPRequest {
        var query: [(String, String)] = [
            ("include_input", includeInput ? "true" : "false"), ("include_output", includeOutput ? "true" : "false"),
        ]
        if let status { query.append(("status", status.rawValue)) }
        if let lastEventID, !lastEventID.isEmpty { query.append(("last_event_id", lastEventID)) }
        return request("GET", "/v1/tasks/groups/\(Self.encode(groupID))/runs", query: query,
                       accept: "text/event-stream", timeout: 0, idleTimeout: configuration.streamIdleTimeout)
    }

    /// How long to wait before sending a `kind` call again after `outcome` (attempt `attempt`, 0 for the first
    /// retry), as the blocking calls' retry policy decides; nil when it is not to be repeated (a 2xx, a refusal,
    /// or retries used up).
    public func retryDelay(after outcome: Result<HTTPResponse, HTTPClientError>, kind: RetryPolicy.CallKind,
                           attempt: Int) -> Double? {
        let policy = configuration.retryPolicy
        guard attempt < policy.maxRetries else { return nil }
        switch outcome {
        case .success(let response):
            if (200..<300).contains(response.status) { return nil }
            guard policy.shouldRetry(status: response.status, shouldRetryHeader: response.header("x-should-retry"),
                                     kind: kind)
            else { return nil }
            return policy.delay(retry: attempt, after: response.head)
        case .failure(let failure):
            guard policy.shouldRetry(transport: failure, kind: kind) else { return nil }
            return policy.delay(retry: attempt, after: nil)
        }
    }
}
