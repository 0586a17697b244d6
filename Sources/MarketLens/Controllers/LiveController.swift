import Engine
import Foundation
import Postgres
import Web

/// `GET /reports/{id}/events` (and `/api/v1/…`): the live event stream (product.md §8); `GET /reports/{id}`:
/// the live progress page.
enum LiveController {
    /// The event stream. A report a visitor may not see (`ReportAccess`: unknown or hidden 404, deleted 410) is a JSON
    /// error before any stream; when the process is at its stream cap or the database cannot be read in time, a 200
    /// stream carrying only `retry:` (a browser's `EventSource` gives up for good on any other status, but
    /// retries after a clean end); when the client's address holds `MARKETLENS_MAX_STREAMS_PER_CLIENT` streams,
    /// the same for an SSE client, else 429.
    @Sendable static func events(_ request: Request, _ context: RequestContext) throws -> Response {
        let hub = context.app.relayHub
        let publicID = request.parameters["id"] ?? ""
        let after = Self.resumePoint(request)
        let report: Report?
        do {
            report = try ReportStore.isPlausiblePublicID(publicID)
                ? hub.replay.perform { connection in try ReportStore.find(publicID: publicID, on: connection) }
                : nil
        } catch {
            context.logger.warning("live stream look-up failed; asking the client to retry",
                                   metadata: ["error": "\(error)"])
            return LiveStream.retryLater(hub.settings.shedRetryMilliseconds)
        }
        let visible: Report
        do {
            visible = try ReportAccess.require(report, message: "There is no report with this id.")
        } catch {
            var response = try Response.json(
                ErrorBody(error: .init(code: error.code, message: error.message)), status: error.status)
            response.headers["Cache-Control"] = "no-store"
            return response
        }
        let retry = hub.settings.shedRetryMilliseconds
        return LiveStream.report(visible, hub: hub, client: request.remoteAddress, after: after,
                                 baseURL: context.app.configuration.baseURL)
            .response { refusal in
                // A report viewer over the process's cap is told to come back (as before); over the client's
                // cap, a non-SSE client learns why.
                refusal == .processFull ? LiveStream.retryLater(retry) : LiveStream.refusal(refusal, request, retryMilliseconds: retry)
            }
    }

    /// Where to resume: `Last-Event-ID` or `?last_event_id=`, a non-negative integer; anything else replays
    /// from the start (the ids we hand out are integers, so nothing else can come from a real client).
    static func resumePoint(_ request: Request) -> Int {
        guard let text = try? request.lastEventID(), let value = Int(text), value >= 0 else { return 0 }
        return value
    }

    /// `{"error":{"code","message","fields"}}`.
    struct ErrorBody: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
            var fields: [String: String] = [:]
        }
        var error: Detail
    }
}
