/// A run event stream as Parallel frames it (upstream-api.md §3.2): `event:` + one compact `data:` JSON line +
/// blank line; a first `task_run.state`, a replayed trace, the latest stats, live messages, and a terminal
/// `task_run.state` carrying the output. The report text has non-ASCII characters (é, €, —, 📈) so that
/// byte-by-byte feeding splits multi-byte UTF-8 sequences.
enum ParallelRunStreamFixture {
    static let runID = "trun_6eb64a3f2c3d4b5e8f9a0b1c2d3e4f50"

    static let stateQueued = #"{"type":"task_run.state","event_id":null,"input":null,"run":{"run_id":"trun_6eb64a3f2c3d4b5e8f9a0b1c2d3e4f50","interaction_id":"trun_6eb64a3f2c3d4b5e8f9a0b1c2d3e4f50","status":"running","is_active":true,"processor":"ultra2x","metadata":{"report_id":"rpt_8812"},"taskgroup_id":null,"error":null,"warnings":null,"created_at":"2026-01-10T09:00:00.101532Z","modified_at":"2026-01-10T09:00:02.004411Z"},"output":null}"#
    static let plan = #"{"type":"task_run.progress_msg.plan","message":"Plan: size the European e-bike market (€, units) and name the leaders","timestamp":"2026-01-10T09:00:04.512003Z"}"#
    static let search = #"{"type":"task_run.progress_msg.search","message":"Searching: \"e-bike market size Europe 2025\"","timestamp":"2026-01-10T09:00:09.100270Z"}"#
    static let toolCall = #"{"type":"task_run.progress_msg.tool_call","message":"Reading https://example.org/report — page 3","timestamp":"2026-01-10T09:00:15.870001Z"}"#
    static let stats = #"{"type":"task_run.progress_stats","progress_meter":37.5,"source_stats":{"num_sources_considered":223,"num_sources_read":22,"sources_read_sample":["https://example.org/a","https://example.com/b"]}}"#
    static let result = #"{"type":"task_run.progress_msg.result","message":"Found: Café-Bikes GmbH leads with 14 % share 📈","timestamp":"2026-01-10T09:01:02.334455Z"}"#
    static let statsFinal = #"{"type":"task_run.progress_stats","progress_meter":100,"source_stats":{"num_sources_considered":410,"num_sources_read":57,"sources_read_sample":null}}"#
    static let stateCompleted = ##"{"type":"task_run.state","event_id":null,"input":null,"run":{"run_id":"trun_6eb64a3f2c3d4b5e8f9a0b1c2d3e4f50","interaction_id":"trun_6eb64a3f2c3d4b5e8f9a0b1c2d3e4f50","status":"completed","is_active":false,"processor":"ultra2x","metadata":{"report_id":"rpt_8812"},"taskgroup_id":null,"error":null,"warnings":null,"created_at":"2026-01-10T09:00:00.101532Z","modified_at":"2026-01-10T09:02:40.918273Z"},"output":{"type":"text","content":"# European e-bike market\n\nThe market reached €21.4 bn — see [source](https://example.org/a).","basis":[{"field":"content","citations":[{"url":"https://example.org/a","excerpts":["€21.4 bn in 2025"]}],"reasoning":"Two sources agree.","confidence":"high"}]}}"##

    /// The expected events, in order.
    static let events: [(type: String, data: String)] = [
        ("task_run.state", stateQueued),
        ("task_run.progress_msg.plan", plan),
        ("task_run.progress_msg.search", search),
        ("task_run.progress_msg.tool_call", toolCall),
        ("task_run.progress_stats", stats),
        ("task_run.progress_msg.result", result),
        ("task_run.progress_stats", statsFinal),
        ("task_run.state", stateCompleted),
    ]

    /// The stream with LF line ends, as the simulator emits it.
    static var text: String {
        events.map { "event: \($0.type)\ndata: \($0.data)\n\n" }.joined()
    }
}
