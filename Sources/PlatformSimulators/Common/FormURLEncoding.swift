/// `application/x-www-form-urlencoded` as WHATWG URL describes it: `&`-separated pairs, `+` for
/// space, percent escapes decoded as UTF-8. Malformed escapes are kept literally, as browsers do.
enum FormURLEncoding {
    static func parse(_ bytes: [UInt8]) -> [FormField] {
        bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true).map { pair in
            if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                return FormField(
                    name: percentDecode(Array(pair[pair.startIndex..<equals]), plusAsSpace: true),
                    value: percentDecode(Array(pair[(equals + 1)...]), plusAsSpace: true))
            }
            return FormField(name: percentDecode(Array(pair), plusAsSpace: true), value: "")
        }
    }

    static func parse(_ text: String) -> [FormField] {
        parse(Array(text.utf8))
    }

    static func percentDecode(_ bytes: [UInt8], plusAsSpace: Bool) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
            {
                output.append(UInt8(high * 16 + low))
                index += 3
                continue
            }
            output.append(plusAsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Escapes everything but unreserved characters (RFC 3986), for building URLs and forms.
    static func percentEncode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                output += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return output
    }
}
