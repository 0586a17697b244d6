public import ParallelAPI

/// The upstream run that researches a report. Creating a report and the monitor's one retry of an uncertain
/// create must send the same request, so both build it here.
public enum ReportRunRequest {
    /// The run input: the request fenced as data in the prompt (`ResearchPrompt`), a text report schema, events on,
    /// `metadata.report_id` = the public id (how a webhook or a duplicate run is matched), the webhook when a
    /// secret is configured.
    public static func input(
        for request: ResearchRequest, publicID: String, processor: String, configuration: AppConfiguration
    ) -> RunInput {
        RunInput(
            input: .text(ResearchPrompt.runInput(request)),
            processor: processor,
            taskSpec: TaskSpec(outputSchema: .text(description: ResearchPrompt.outputDescription)),
            metadata: ["report_id": .string(publicID)],
            webhook: configuration.webhookSecret == nil
                ? nil : Webhook(url: configuration.baseURL + "/webhooks/parallel", eventTypes: ["task_run.status"]),
            enableEvents: true)
    }

    /// The run input of a stored report (the monitor's retry of an uncertain create, `runs retry`).
    public static func input(for report: Report, configuration: AppConfiguration) -> RunInput {
        let request = ResearchRequest(
            industry: report.industry, region: report.region, focus: report.focus, email: nil,
            visibility: report.visibility == "unlisted" ? .unlisted : .listed)
        return input(for: request, publicID: report.publicID, processor: report.processor, configuration: configuration)
    }
}
