import Engine
import Foundation
import HTTPClient
import Logging
import Web

/// Relays the task console's allowed calls to Parallel with the user's own key, which arrives in
/// `X-Parallel-Key` and leaves as `x-api-key`. The key is never stored, logged or echoed: log lines name only
/// the endpoint kind and the status, and errors carry no request detail.
struct ConsoleRelay {
    /// Parallel's base URL (`PARALLEL_BASE_URL`).
    var baseURL: String
    var logger: Logger
    /// The process's event relays (`MarketLensApp.consoleStreams`); nil: event streams are not relayed.
    var streams: ConsoleStreams?
    /// The largest upstream answer passed on (a run result with a large JSON output and its basis).
    static let maxUpstreamBody = 8 << 20
    /// The client for upstream calls: the request thread's own (`RequestContext.consoleClient`), or a new one.
    var client: () throws -> HTTPClient = { try HTTPClient() }

    /// Answers a request for `/console/api` + `path`: refused (JSON error) unless it is on the allow-list.
    func respond(to request: Request, path: String) -> Response {
        do {
            try ConsoleRelayPolicy.checkSameOrigin(request)
            guard let endpoint = ConsoleRelayPolicy.endpoint(method: request.method, path: path) else {
                throw HTTPError(status: 403, code: "not_allowed", message: "The console relay does not allow this call.")
            }
            let key = try ConsoleRelayPolicy.key(from: request)
            switch endpoint {
            case .createRun:
                guard request.contentType?.isJSON == true else {
                    throw HTTPError.unsupportedMediaType(expected: "application/json")
                }
                let betas = try ConsoleRelayPolicy.validateCreateBody(request.body)
                return try forward(endpoint, key: key, body: request.body, betas: betas)
            case .result:
                let timeout = ConsoleRelayPolicy.resultTimeout(query: request.query)
                return try forward(endpoint, key: key, query: "timeout=\(timeout)", timeout: Double(timeout) + 15)
            case .events(let id):
                if let streams, let refusal = streams.hub.refusal(for: request.remoteAddress) {
                    return LiveStream.refusal(refusal, request, retryMilliseconds: streams.hub.settings.shedRetryMilliseconds)
                }
                let check = try forward(.run(id), key: key)
                guard check.status == 200 else { return check }
                guard let streams else {
                    throw HTTPError(status: 503, code: "unavailable", message: "Event streams are not available here.")
                }
                let upstream = eventsRequest(runID: id, key: key)
                let client = request.remoteAddress
                // The request thread is free once the response is handed to the relay thread.
                return Response.eventStream { writer in try streams.relay(upstream, client: client, to: writer) }
            case .run, .input:
                return try forward(endpoint, key: key)
            }
        } catch let error as HTTPError {
            return error.jsonResponse()
        } catch {
            // HTTPClientError descriptions hold the redacted target only, never header values.
            logger.warning("console relay failed", metadata: ["error": "\(error)", "request_id": "\(request.requestID)"])
            return HTTPError(status: 502, code: "upstream_unreachable", message: "Parallel could not be reached.")
                .jsonResponse()
        }
    }

    /// One JSON call upstream; its status and JSON body are passed on, a non-JSON body becomes our error shape.
    func forward(
        _ endpoint: ConsoleEndpoint, key: String, query: String = "", body: [UInt8] = [], betas: [String] = [],
        timeout: Double = 30
    ) throws -> Response {
        var headers = upstreamHeaders(key: key, accept: "application/json", betas: betas)
        if endpoint.method == "POST" { headers.append(("Content-Type", "application/json")) }
        let url = baseURL + endpoint.upstreamPath + (query.isEmpty ? "" : "?" + query)
        let http = try self.client()
        var status = 0
        var bytes: [UInt8] = []
        var tooLarge = false
        let head = try http.stream(
            HTTPRequest(method: endpoint.method, url: url, headers: headers, body: body, timeout: timeout),
            onHead: { head in
                status = head.status
                return true
            },
            onBytes: { chunk in
                bytes.append(contentsOf: chunk)
                tooLarge = bytes.count > Self.maxUpstreamBody
                return !tooLarge
            })
        logger.info("console relay", metadata: ["endpoint": "\(endpoint.kind)", "status": "\(head.status)"])
        if tooLarge {
            throw HTTPError(status: 502, code: "upstream_too_large", message: "Parallel's answer was too large to relay.")
        }
        guard (try? JSONSerialization.jsonObject(with: Data(bytes))) != nil else {
            throw HTTPError(status: 502, code: "upstream_error", message: "Parallel answered with status \(status).")
        }
        var response = Response(status: status, headers: ["Content-Type": "application/json"], body: .bytes(bytes))
        response.headers["Cache-Control"] = CacheControl.noStore.headerValue
        return response
    }

    /// The upstream read of a run's events, relayed byte for byte by `ConsoleStreams` (the browser parses them);
    /// upstream failures become one `error` event marked `"relay": true`.
    func eventsRequest(runID: String, key: String, url: String? = nil) -> HTTPRequest {
        HTTPRequest(
            method: "GET", url: url ?? baseURL + ConsoleEndpoint.events(runID).upstreamPath,
            headers: upstreamHeaders(key: key, accept: "text/event-stream", betas: ["events-sse-2025-07-24"])
                + [("Cache-Control", "no-cache")],
            timeout: 0, connectTimeout: 10)
    }

    private func upstreamHeaders(key: String, accept: String, betas: [String]) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("x-api-key", key), ("Accept", accept)]
        if !betas.isEmpty { headers.append(("parallel-beta", betas.joined(separator: ","))) }
        return headers
    }

    /// Whether the bytes so far end with a blank line (the end of an event), for any SSE line ending.
    static func endsEvent(_ tail: [UInt8]) -> Bool {
        let lf: UInt8 = 10
        let cr: UInt8 = 13
        if tail.suffix(2) == [lf, lf] || tail.suffix(2) == [cr, cr] { return true }
        return tail.suffix(4) == [cr, lf, cr, lf]
    }

    /// A synthetic SSE `error` event (preceded by a blank line if the stream stopped inside an event).
    static func errorEvent(_ message: String, tail: [UInt8]) -> [UInt8] {
        let payload: [String: Any] = [
            "type": "error", "relay": true, "error": ["ref_id": NSNull(), "message": message] as [String: Any],
        ]
        let json = (try? JSONSerialization.data(withJSONObject: payload)).map { String(decoding: $0, as: UTF8.self) }
            ?? #"{"type":"error","relay":true,"error":{"message":"relay error"}}"#
        return Array(((endsEvent(tail) ? "" : "\n\n") + "event: error\ndata: \(json)\n\n").utf8)
    }

    /// `error.message` of a Parallel error body, shortened; nil when the body is not one.
    static func upstreamMessage(_ body: [UInt8]) -> String? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            let error = object["error"] as? [String: Any], let message = error["message"] as? String
        else { return nil }
        return String(message.prefix(300))
    }
}

extension ConsoleEndpoint {
    /// A name for log lines (never the run id's owner or anything secret).
    var kind: String {
        switch self {
        case .createRun: "create"
        case .run: "run"
        case .input: "input"
        case .result: "result"
        case .events: "events"
        }
    }
}
