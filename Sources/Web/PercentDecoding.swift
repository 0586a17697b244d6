/// Strict percent-decoding for paths, query strings and form bodies. A bad escape (`%G1`, a truncated `%4`),
/// bytes that are not valid UTF-8 after decoding, or a NUL byte are a 400 `HTTPError`, never a crash and never a
/// silent replacement character: input the client garbled is refused, not guessed at.
public enum PercentDecoding {
    /// Decodes `input`; with `plusAsSpace` (forms and query strings) `+` becomes a space.
    public static func decode(_ input: Substring, plusAsSpace: Bool) throws(HTTPError) -> String {
        let utf8 = input.utf8
        // Fast path: nothing to decode.
        if !utf8.contains(UInt8(ascii: "%")) && !(plusAsSpace && utf8.contains(UInt8(ascii: "+"))) {
            if utf8.contains(0) { throw badEncoding() }
            return String(input)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            switch byte {
            case UInt8(ascii: "%"):
                let first = utf8.index(after: index)
                guard first != utf8.endIndex else { throw badEncoding() }
                let second = utf8.index(after: first)
                guard second != utf8.endIndex,
                    let high = hexValue(utf8[first]), let low = hexValue(utf8[second])
                else { throw badEncoding() }
                bytes.append(high << 4 | low)
                index = utf8.index(after: second)
                continue
            case UInt8(ascii: "+") where plusAsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
            index = utf8.index(after: index)
        }
        guard !bytes.contains(0), let string = String(validating: bytes, as: UTF8.self) else {
            throw badEncoding()
        }
        return string
    }

    /// Decodes a whole string; see `decode(_:plusAsSpace:)`.
    public static func decode(_ input: String, plusAsSpace: Bool) throws(HTTPError) -> String {
        try decode(input[...], plusAsSpace: plusAsSpace)
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters (for building query strings and paths).
    public static func encode(_ input: String) -> String {
        var out = ""
        out.reserveCapacity(input.utf8.count)
        for byte in input.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(hexDigits[Int(byte >> 4)]) + String(hexDigits[Int(byte & 0x0F)])
            }
        }
        return out
    }

    private static let hexDigits = Array("0123456789ABCDEF")

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func badEncoding() -> HTTPError {
        .badRequest("The request contains badly encoded characters.", code: "bad_encoding")
    }
}
