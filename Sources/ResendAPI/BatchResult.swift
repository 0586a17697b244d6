import Foundation

/// What `POST /emails/batch` did with each message of a batch, by its index in the request.
public struct BatchResult: Sendable, Equatable {
    /// Resend's message id of every message it accepted.
    public var ids: [Int: String]
    /// Why each refused message was refused (permissive validation: the others were sent).
    public var errors: [Int: String]

    /// Creates a result.
    public init(ids: [Int: String], errors: [Int: String] = [:]) {
        self.ids = ids
        self.errors = errors
    }

    /// Reads `{"data":[{"id"},…], "errors":[{"index","message"}]}` for a batch of `count` messages: `data` lists
    /// the accepted messages in request order, so its entries belong to the indices not named in `errors`.
    init(decoding body: [UInt8], count: Int) throws(ResendError) {
        struct Answer: Decodable {
            struct Created: Decodable { var id: String }
            struct Refused: Decodable {
                var index: Int
                var message: String?
            }
            var data: [Created]
            var errors: [Refused]?
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(body)) else {
            throw .decoding("batch answer has no data array")
        }
        var errors: [Int: String] = [:]
        for refused in answer.errors ?? [] where (0..<count).contains(refused.index) {
            errors[refused.index] = Redaction.redactAddresses(String((refused.message ?? "refused").prefix(500)))
        }
        let accepted = (0..<count).filter { errors[$0] == nil }
        guard accepted.count == answer.data.count, answer.data.allSatisfy({ !$0.id.isEmpty }) else {
            throw .decoding("batch answer has \(answer.data.count) id(s) for \(accepted.count) accepted message(s)")
        }
        self.ids = Dictionary(uniqueKeysWithValues: zip(accepted, answer.data.map(\.id)))
        self.errors = errors
    }
}
