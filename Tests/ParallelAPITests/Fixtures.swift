/// The JSON examples of upstream-api.md, copied verbatim. Where the doc elides structure with a bare `…`
/// (`"basis":[…]`, `"run":{…}`, `{…TaskGroupStatus…}`), which is not JSON, the note says what was substituted.
enum Fixtures {
    static let canonicalError = """
        {"type": "error",
         "error": {"ref_id": "5b0c2e5e-3f7e-4c61-9a43-0d7f1d2a9b11",
                   "message": "Run id not found",
                   "detail": null}}
        """

    static let fastAPIError = """
        {"detail": [{"loc": ["body", "inputs", 0, "processor"], "msg": "Field required", "type": "missing"}]}
        """

    static let createRequest = #"""
        {"input": "Industry: cold-chain logistics\nRegion: EU\nFocus: market size, growth drivers, top 10 players, M&A since 2023",
         "processor": "ultra2x",
         "task_spec": {"output_schema": {"type": "text", "description": "Analyst-grade markdown report with sections and inline citations"}},
         "enable_events": true,
         "metadata": {"report_id": "rpt_8812", "env": "prod"},
         "source_policy": {"exclude_domains": ["reddit.com"], "after_date": "2024-01-01"},
         "webhook": {"url": "https://app.example.com/hooks/parallel", "event_types": ["task_run.status"]}}
        """#

    static let createResponse = """
        {"run_id": "trun_4be1d0c2a7f94b9c8e1f2a3b4c5d6e7f", "interaction_id": "trun_4be1d0c2a7f94b9c8e1f2a3b4c5d6e7f",
         "status": "queued", "is_active": true, "processor": "ultra2x",
         "metadata": {"report_id": "rpt_8812", "env": "prod"}, "taskgroup_id": null,
         "error": null, "warnings": null,
         "created_at": "2026-01-10T09:00:00.104211Z", "modified_at": "2026-01-10T09:00:00.104211Z"}
        """

    static let failedRun = """
        {"run_id":"trun_…","interaction_id":"trun_…","status":"failed","is_active":false,"processor":"ultra2x",
         "metadata":{"report_id":"rpt_8812"},"taskgroup_id":null,"warnings":null,
         "error":{"ref_id":"c1f0a6d4-2b7e-4f0e-9a55-6d2f3b8e7a10","message":"Task execution failed","detail":null},
         "created_at":"…","modified_at":"…"}
        """

    static let textResult = #"""
        {"run": {"run_id":"trun_…","interaction_id":"trun_…","status":"completed","is_active":false,"processor":"ultra2x",
                 "metadata":{"report_id":"rpt_8812"},"taskgroup_id":null,"error":null,"warnings":null,
                 "created_at":"2026-01-10T09:00:00.104211Z","modified_at":"2026-01-10T09:21:37.880310Z"},
         "output": {"type":"text",
                    "content":"# EU Cold-Chain Logistics Market\n\n## Market size\nEstimated at …[1]\n…",
                    "basis":[{"field":"output","reasoning":"Synthesised from trade-body and filings data …","confidence":"high",
                              "citations":[{"url":"https://example-industry.org/report-2025","title":"Cold chain outlook 2025",
                                            "excerpts":["The European cold chain market reached …"]}]}],
                    "mcp_tool_calls":null,"beta_fields":null}}
        """#

    static let jsonOutput = """
        {"type":"json","content":{"market_size_eur":"€52bn (2025)","top_players":["Lineage","Americold"]},
         "basis":[{"field":"market_size_eur","reasoning":"…","confidence":"medium","citations":[{"url":"https://…","title":null,"excerpts":null}]},
                  {"field":"top_players","reasoning":"…","confidence":"high","citations":[]},
                  {"field":"top_players.0","reasoning":"…","confidence":"high","citations":[]}],
         "output_schema":null}
        """

    static let progressStats = """
        {"type":"task_run.progress_stats","progress_meter":37.5,
         "source_stats":{"num_sources_considered":223,"num_sources_read":22,
                         "sources_read_sample":["https://example.org/a","https://example.com/b"]}}
        """

    /// `"basis":[…]` → `"basis":[]`.
    static let completedStateEvent = """
        {"type":"task_run.state","event_id":null,"input":null,
         "run":{"run_id":"trun_…","interaction_id":"trun_…","status":"completed","is_active":false,"processor":"ultra2x",
                "metadata":{"report_id":"rpt_8812"},"taskgroup_id":null,"error":null,"warnings":null,
                "created_at":"…","modified_at":"…"},
         "output":{"type":"text","content":"# …","basis":[]}}
        """

    static let errorEvent = """
        {"type":"error","error":{"ref_id":"0f9e…","message":"Upstream fetch failed","detail":null}}
        """

    static let planMessage = """
        {"type":"task_run.progress_msg.plan","message":"…","timestamp":"2026-01-10T09:00:04.512003Z"}
        """

    static let taskGroup = """
        {"taskgroup_id":"tgrp_9c1e0b7a5d3f4e2a8b6c","metadata":{"batch":"weekly"},"created_at":"2026-01-10T09:00:00.000001Z",
         "status":{"num_task_runs":3,"task_run_status_counts":{"queued":1,"running":1,"completed":1},
                   "is_active":true,"status_message":null,"modified_at":"2026-01-10T09:05:12.400000Z"}}
        """

    /// `{…TaskGroupStatus…}` → the status object of `taskGroup`.
    static let groupRunResponse = """
        {"run_ids":["trun_…","trun_…"],"status":{"num_task_runs":3,"task_run_status_counts":{"queued":1,"running":1,"completed":1},
                   "is_active":true,"status_message":null,"modified_at":"2026-01-10T09:05:12.400000Z"},"event_cursor":"…or null","run_cursor":"…or null"}
        """

    /// `"basis":[…]` → `"basis":[]`.
    static let groupRunsEvent = """
        {"type":"task_run.state","event_id":"1842",
         "input":{"input":{"company_name":"Acme"},"processor":"core","metadata":{"row":"17"}},
         "run":{"run_id":"trun_…","interaction_id":"trun_…","status":"completed","is_active":false,"processor":"core",
                "metadata":{"row":"17"},"taskgroup_id":"tgrp_…","error":null,"warnings":null,"created_at":"…","modified_at":"…"},
         "output":{"type":"json","content":{"hq":"Berlin"},"basis":[]}}
        """

    static let webhookBody = """
        {"timestamp":"2026-01-10T09:21:38.002114Z","type":"task_run.status",
         "data":{"run_id":"trun_…","interaction_id":"trun_…","status":"completed","is_active":false,"processor":"ultra2x",
                 "metadata":{"report_id":"rpt_8812"},"taskgroup_id":null,"error":null,"warnings":null,
                 "created_at":"…","modified_at":"…"}}
        """

    static let chatRequest = #"""
        {"model":"speed","stream":false,
         "messages":[{"role":"system","content":"You validate inputs for a market-research site."},
                     {"role":"user","content":"Industry: cold-chain logistics\nGeography: EU\nDetails: "}],
         "response_format":{"type":"json_schema","json_schema":{"name":"validation","schema":{
            "type":"object","additionalProperties":false,
            "properties":{"is_valid":{"type":"boolean"},"reasoning":{"type":"string"},"issues_found":{"type":"array","items":{"type":"string"}}},
            "required":["is_valid","reasoning","issues_found"]}}}}
        """#

    static let chatResponse = #"""
        {"id":"","object":"chat.completion","created":1767225600,"model":"speed",
         "choices":[{"index":0,"message":{"role":"assistant","content":"{\"is_valid\":true,\"reasoning\":\"Real industry\",\"issues_found\":[]}"},
                     "finish_reason":null}],
         "usage":null,"basis":[],"interaction_id":"…"}
        """#

    static let openAIError = """
        {"error":{"message":"…","type":"invalid_request_error","param":null,"code":null}}
        """

    /// §2.4 prose: the research-basis docs show JSON `content` as a string.
    static let jsonOutputAsString = #"""
        {"type":"json","content":"{\"market_size_eur\":\"€52bn (2025)\"}","basis":[]}
        """#
}
