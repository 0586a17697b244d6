import HTTPClient

extension ParallelClient {
    /// `POST /v1/tasks/groups`.
    public func createGroup(metadata: [String: JSONValue] = [:]) throws(ParallelError) -> TaskGroup {
        let request = try createGroupRequest(metadata: metadata)
        // An empty duplicate group costs nothing, but keep to the safe retries anyway.
        let response = try perform(request, kind: .create)
        return try Self.decode(TaskGroup.self, from: response.body, what: "task group")
    }

    /// `GET /v1/tasks/groups/{id}`.
    public func groupStatus(_ groupID: String) throws(ParallelError) -> TaskGroup {
        let request = request("GET", "/v1/tasks/groups/\(Self.encode(groupID))", timeout: configuration.requestTimeout)
        let response = try perform(request, kind: .idempotent)
        return try Self.decode(TaskGroup.self, from: response.body, what: "task group")
    }

    /// `POST /v1/tasks/groups/{id}/runs` (≤ 1000 inputs). Creates runs, so it follows the create rules:
    /// `.createUncertain` when the runs may exist without our knowing their ids.
    public func addRuns(groupID: String, inputs: [RunInput], defaultTaskSpec: TaskSpec? = nil,
                        refreshStatus: Bool = true) throws(ParallelError) -> TaskGroupRunResponse {
        let request = try addRunsRequest(groupID: groupID, inputs: inputs, defaultTaskSpec: defaultTaskSpec,
                                         refreshStatus: refreshStatus)
        return try performCreate(request, decoding: TaskGroupRunResponse.self, what: "added runs")
    }

    /// `GET /v1/tasks/groups/{id}/runs/{run_id}`.
    public func groupRun(groupID: String, runID: String) throws(ParallelError) -> TaskRun {
        let request = request("GET", "/v1/tasks/groups/\(Self.encode(groupID))/runs/\(Self.encode(runID))",
                              timeout: configuration.requestTimeout)
        let response = try perform(request, kind: .idempotent)
        return try Self.decode(TaskRun.self, from: response.body, what: "run")
    }
}
