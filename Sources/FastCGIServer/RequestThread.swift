import FastCGI
import Foundation
import Logging
import Web

/// The body of one request thread: builds its handler and request slot inside the thread, then serves
/// accepted requests one at a time until the listener shuts down.
struct RequestThread {
    let index: Int
    let listener: Listener
    let factory: any RequestHandlerFactory
    let maxBodyBytes: Int
    let shutdown: ShutdownSignal
    let logger: Logger
    /// The level of the one line logged per request (`WorkerConfiguration.requestLogLevel`).
    var requestLogLevel: Logger.Level = .debug

    func run() {
        guard let handler = makeHandler() else { return }
        let slot: RequestSlot
        do {
            slot = try RequestSlot(listener: listener)
        } catch {
            logger.error("request slot creation failed", metadata: ["thread": "\(index)", "error": "\(error)"])
            return
        }
        var failures = 0
        while true {
            do {
                guard try slot.accept() else { return }
                failures = 0
            } catch {
                // e.g. EMFILE: back off instead of spinning, and give up promptly on shutdown.
                failures += 1
                logger.error("accept failed", metadata: ["thread": "\(index)", "error": "\(error)"])
                if shutdown.wait(timeout: .milliseconds(min(1000, 10 * failures))) { return }
                continue
            }
            serve(slot, handler)
            slot.finish()
        }
    }

    /// Retries with back-off (the database may still be starting) until it works or shutdown begins.
    private func makeHandler() -> (any RequestHandler)? {
        var delay = Duration.milliseconds(500)
        while !shutdown.isRequested {
            do {
                return try factory.makeHandler()
            } catch {
                logger.error("request handler creation failed; retrying",
                             metadata: ["thread": "\(index)", "error": "\(error)"])
                if shutdown.wait(timeout: delay) { return nil }
                delay = min(delay * 2, .seconds(10))
            }
        }
        return nil
    }

    private func serve(_ slot: RequestSlot, _ handler: any RequestHandler) {
        let start = ContinuousClock.now
        let params = slot.params
        var request = RequestMapping.request(from: params)
        let status: Int
        var fields: [String: String] = [:]
        switch readBody(slot, params) {
        case .success(let body):
            request.body = body
            let response = handler.handle(request)
            fields = response.logFields
            status = ResponseWriter.write(response, to: slot, logger: logger, requestID: request.requestID)
        case .failure(let rejection):
            status = rejection.status
            _ = ResponseWriter.write(rejection.response, to: slot, logger: logger, requestID: request.requestID)
        }
        let elapsed = start.duration(to: .now)
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        var metadata: Logger.Metadata = [
            "method": "\(request.method)", "path": "\(request.loggablePath)", "status": "\(status)",
            "duration_ms": "\(milliseconds)", "request_id": "\(request.requestID)",
        ]
        for (key, value) in fields { metadata[key] = "\(value)" }
        logger.log(level: requestLogLevel, "request", metadata: metadata)
    }

    /// A request refused before the handler sees it.
    struct Rejection: Error {
        let status: Int
        var response: Response {
            Response(status: status, contentType: "text/plain; charset=utf-8",
                     text: ResponseHead.reasonPhrase(status) + "\n")
        }
    }

    private func readBody(_ slot: RequestSlot, _ params: [String: String]) -> Result<[UInt8], Rejection> {
        let declared: Int?
        switch RequestMapping.contentLength(params) {
        case .invalid: return .failure(Rejection(status: 400))
        case .declared(let length) where length > maxBodyBytes: return .failure(Rejection(status: 413))
        case .declared(let length): declared = length
        case .absent: declared = nil
        }
        do {
            switch try slot.readBody(limit: declared ?? maxBodyBytes) {
            case .tooLarge:
                // More bytes than CONTENT_LENGTH said is a malformed request; without a length, simply too big.
                return .failure(Rejection(status: declared == nil ? 413 : 400))
            case .complete(let body):
                if let declared, body.count != declared { return .failure(Rejection(status: 400)) }
                return .success(body)
            }
        } catch {
            return .failure(Rejection(status: 400))
        }
    }
}
