import Testing
import Web

/// SplitMix64: deterministic, so a failure reproduces.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Fuzzing the parsers")
struct FuzzTests {
    /// Bytes biased towards the characters the parsers care about.
    static func randomBytes(_ generator: inout SeededGenerator) -> [UInt8] {
        let interesting: [UInt8] = Array("%+=&/;:.?#".utf8) + [0x00, 0x0A, 0x0D, 0xC3, 0xA9, 0xFF, 0xED, 0xF0]
        let hex = Array("0123456789abcdefABCDEFG".utf8)
        let count = Int.random(in: 0...40, using: &generator)
        return (0..<count).map { _ in
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: interesting.randomElement(using: &generator) ?? 0
            case 1: hex.randomElement(using: &generator) ?? 0
            case 2: UInt8.random(in: 0x20...0x7E, using: &generator)
            default: UInt8.random(in: .min ... .max, using: &generator)
            }
        }
    }

    @Test func randomInputNeverCrashesAndOnlyThrowsClientErrors() {
        var generator = SeededGenerator(state: 20_261_121)
        var router = Router<Void>()
        router.get("/r/:slug") { _, _ in .noContent }
        router.get("/static/*rest") { _, _ in .noContent }
        var accepted = 0
        var refused = 0
        for _ in 0..<5000 {
            let bytes = Self.randomBytes(&generator)
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                let form = try URLEncodedForm(parsing: bytes)
                // Whatever was accepted must survive a round trip through the encoder.
                #expect(try URLEncodedForm(parsing: form.encoded) == form)
                accepted += 1
            } catch {
                #expect(error.status == 400 || error.status == 413)
                refused += 1
            }
            do {
                _ = try Request(method: "GET", path: "/", query: text).queryItems
            } catch {
                #expect(error.status == 400)
            }
            for path in ["/r/" + text, "/static/" + text] {
                do {
                    _ = try router.handle(Request(method: "GET", path: path), context: ())
                } catch let error as HTTPError {
                    #expect([400, 404].contains(error.status))
                } catch {
                    Issue.record("unexpected error \(error)")
                }
            }
            _ = Cookies.parse(text)
            _ = ContentType(parsing: text)
            _ = HTMLEscaping.safeURL(text)
        }
        // The generator must exercise both outcomes, or the test proves nothing.
        #expect(accepted > 100)
        #expect(refused > 100)
    }

    @Test func decodedValuesAreAlwaysValidAndNULFree() throws {
        var generator = SeededGenerator(state: 7)
        for _ in 0..<3000 {
            let text = String(decoding: Self.randomBytes(&generator), as: UTF8.self)
            guard let decoded = try? PercentDecoding.decode(text, plusAsSpace: true) else { continue }
            #expect(!decoded.unicodeScalars.contains("\0"))
            #expect(String(validating: Array(decoded.utf8), as: UTF8.self) == decoded)
        }
    }
}
