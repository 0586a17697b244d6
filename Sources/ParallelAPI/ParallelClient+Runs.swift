import HTTPClient

extension ParallelClient {
    /// `POST /v1/tasks/runs`. Retries only where no duplicate can result (429, 502, 503, not sent); a timeout or 500/504
    /// after sending throws `.createUncertain`, so the caller reconciles (for example by `metadata.report_id`).
    public func createRun(_ input: RunInput) throws(ParallelError) -> TaskRun {
        var betas = configuration.betas
        if input.webhook != nil { betas.append(ParallelConfiguration.webhookBeta) }
        let request = request("POST", "/v1/tasks/runs", body: try Self.jsonBody(input), betas: betas,
                              timeout: configuration.createTimeout)
        return try performCreate(request, decoding: TaskRun.self, what: "created run")
    }

    /// Sends a request that creates runs (run create, group add-runs) under the create retry rules. A failure
    /// that may have created runs, or an accepted answer we cannot read, throws `.createUncertain`.
    func performCreate<T: Decodable>(_ request: HTTPRequest, decoding type: T.Type, what: String)
        throws(ParallelError) -> T
    {
        let response: HTTPResponse
        do throws(ParallelError) {
            response = try perform(request, kind: .create)
        } catch {
            throw Self.uncertainIfMaybeCreated(error)
        }
        do throws(ParallelError) {
            return try Self.decode(type, from: response.body, what: what)
        } catch {
            // Parallel accepted the request but we cannot read its answer: the runs exist somewhere.
            throw .createUncertain(error)
        }
    }

    /// Classifies a failed create: could the run exist upstream even though we got no answer?
    static func uncertainIfMaybeCreated(_ error: ParallelError) -> ParallelError {
        switch error {
        case .transport(let transport) where !transport.requestNotSent:
            return .createUncertain(error)
        case .api(let status, _, _, _) where status == 500 || status == 504:
            return .createUncertain(error)
        default:
            return error
        }
    }

    /// `GET /v1/tasks/runs/{id}`.
    public func retrieveRun(_ runID: String) throws(ParallelError) -> TaskRun {
        let request = request("GET", "/v1/tasks/runs/\(Self.encode(runID))", timeout: configuration.requestTimeout)
        let response = try perform(request, kind: .idempotent)
        return try Self.decode(TaskRun.self, from: response.body, what: "run")
    }

    /// `GET /v1/tasks/runs/{id}/input`: the create body as stored.
    public func runInput(_ runID: String) throws(ParallelError) -> RunInput {
        let request = request("GET", "/v1/tasks/runs/\(Self.encode(runID))/input", timeout: configuration.requestTimeout)
        let response = try perform(request, kind: .idempotent)
        return try Self.decode(RunInput.self, from: response.body, what: "run input")
    }

    /// `GET /v1/tasks/runs/{id}/result?timeout=N`: blocks up to `timeout` s (libcurl allows `timeout + 30`).
    /// Throws `.stillActive` on 408 (call again) and `.notFoundOrFailed` on 404 (GET the run to tell which).
    public func result(runID: String, timeout: Int = 300) throws(ParallelError) -> TaskRunResult {
        let request = request("GET", "/v1/tasks/runs/\(Self.encode(runID))/result",
                              query: [("timeout", String(max(0, timeout)))],
                              timeout: Double(max(0, timeout)) + 30)
        do throws(ParallelError) {
            let response = try perform(request, kind: .result)
            return try Self.decode(TaskRunResult.self, from: response.body, what: "run result")
        } catch {
            switch error {
            case .api(408, _, _, _): throw .stillActive
            case .api(404, let refID, let message, _): throw .notFoundOrFailed(refID: refID, message: message)
            default: throw error
            }
        }
    }
}
