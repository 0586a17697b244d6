/// Public ids of reports and batches: a prefix and 26 random base-36 characters (26 × log2 36 ≈ 134 bits from
/// the system's CSPRNG). An unlisted report or batch is private only because its id cannot be guessed, so the
/// length is kept above 128 bits.
enum PublicID {
    static let randomCharacters = 26
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")

    /// `prefix` followed by `randomCharacters` characters from `[a-z0-9]`.
    static func make(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return prefix + String((0..<randomCharacters).map { _ in
            alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))]
        })
    }
}
