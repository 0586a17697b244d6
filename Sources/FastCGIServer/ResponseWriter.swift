import FastCGI
import Logging
import Web

/// Writes a `Web.Response` to a request slot.
enum ResponseWriter {
    /// Writes head and body; for `.stream` bodies writes and flushes the head, then lets the producer write.
    /// A client that went away or a producer that throws just ends the response. Returns the status sent.
    static func write(_ response: Response, to slot: RequestSlot, logger: Logger, requestID: String) -> Int {
        var status = response.status
        var headers = response.headers
        if !(100...999).contains(status) {
            logger.error("handler returned an invalid status", metadata: ["status": "\(status)", "request_id": "\(requestID)"])
            status = 500
            headers = ["Content-Type": "text/plain; charset=utf-8"]
        }
        switch response.body {
        case .bytes(let body):
            let sendsBody = !ResponseHead.forbidsBody(status)
            if sendsBody && headers["Content-Length"] == nil { headers["Content-Length"] = String(body.count) }
            try? slot.write(ResponseHead.encode(status: status, headers: headers) + (sendsBody ? body : []))
        case .stream(let produce):
            let writer = SlotBodyWriter(slot: slot)
            do {
                try writer.write(ResponseHead.encode(status: status, headers: headers))
                try writer.flush()
                try produce(writer)
            } catch is ClientGone {
                logger.debug("client went away during a stream", metadata: ["request_id": "\(requestID)"])
            } catch {
                logger.error("stream producer failed", metadata: ["request_id": "\(requestID)", "error": "\(error)"])
            }
        case .later(let answer):
            guard let request = slot.detach() else {
                try? slot.write(ResponseHead.encode(status: 503, headers: ["Content-Length": "0"]))
                return 503
            }
            answer(DetachedSlotBody(request: request, headers: headers))
        }
        return status
    }
}

/// A `BodyWriter` over a request slot: any transport failure means the client is gone.
final class SlotBodyWriter: BodyWriter {
    private let slot: RequestSlot
    private var isGone = false

    init(slot: RequestSlot) { self.slot = slot }

    func write(_ bytes: [UInt8]) throws {
        guard !isGone else { throw ClientGone() }
        do { try slot.write(bytes) } catch {
            isGone = true
            throw ClientGone()
        }
    }

    func flush() throws {
        guard !isGone else { throw ClientGone() }
        do { try slot.flush() } catch {
            isGone = true
            throw ClientGone()
        }
    }

    func detach() -> (any DetachedBody)? {
        guard !isGone, let request = slot.detach() else { return nil }
        isGone = true
        return DetachedSlotBody(request: request)
    }
}

/// A response that left its request thread: any transport failure means the client is gone.
final class DetachedSlotBody: DetachedBody {
    private let request: DetachedRequest
    /// Headers the request thread set on a response answered later (`respond`).
    private let headers: HTTPHeaders

    init(request: DetachedRequest, headers: HTTPHeaders = [:]) {
        self.request = request
        self.headers = headers
    }

    deinit { request.finish() }

    func write(_ bytes: [UInt8]) throws {
        do { try request.write(bytes) } catch { throw ClientGone() }
    }

    func flush() throws {
        do { try request.flush() } catch { throw ClientGone() }
    }

    var isWritable: Bool { request.isWritable }
    var writeChunkBytes: Int { DetachedRequest.safeWriteBytes }
    var isPeerClosed: Bool { request.isPeerClosed }

    func close() { request.finish() }

    func respond(status: Int, headers extra: HTTPHeaders, body: [UInt8]) throws {
        var all = headers
        for (name, value) in extra { all[name] = value }
        if !ResponseHead.forbidsBody(status) { all["Content-Length"] = String(body.count) }
        defer { request.finish() }
        try write(ResponseHead.encode(status: status, headers: all) + (ResponseHead.forbidsBody(status) ? [] : body))
        try flush()
    }
}
