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

    init(request: DetachedRequest) { self.request = request }

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
}
