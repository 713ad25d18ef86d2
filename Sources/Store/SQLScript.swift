/// Splits a migration file into statements, since postgres-nio speaks only the extended query
/// protocol (one statement per query). Semicolons inside quotes, comments and dollar-quoted bodies
/// do not split.
enum SQLScript {
    static func statements(_ sql: String) -> [String] {
        let chars = Array(sql.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0

        func flush() {
            let text = String(current).trimmingWhitespace()
            if !text.isEmpty && !text.isOnlyComments { statements.append(text) }
            current = String.UnicodeScalarView()
        }
        func peek(_ offset: Int) -> Unicode.Scalar? {
            index + offset < chars.count ? chars[index + offset] : nil
        }

        while index < chars.count {
            let c = chars[index]
            switch c {
            case "'", "\"":
                // Quoted literal or identifier; a doubled quote is an escaped one.
                current.append(c)
                index += 1
                while index < chars.count {
                    current.append(chars[index])
                    if chars[index] == c {
                        if peek(1) == c {
                            current.append(c)
                            index += 2
                            continue
                        }
                        break
                    }
                    index += 1
                }
                index += 1
            case "-" where peek(1) == "-":
                while index < chars.count && chars[index] != "\n" {
                    current.append(chars[index])
                    index += 1
                }
            case "/" where peek(1) == "*":
                var depth = 0
                repeat {
                    if chars[index] == "/" && peek(1) == "*" {
                        depth += 1
                        current.append(chars[index]); current.append(chars[index + 1])
                        index += 2
                    } else if chars[index] == "*" && peek(1) == "/" {
                        depth -= 1
                        current.append(chars[index]); current.append(chars[index + 1])
                        index += 2
                    } else {
                        current.append(chars[index])
                        index += 1
                    }
                } while depth > 0 && index < chars.count
            case "$":
                // $tag$ … $tag$ (tag may be empty); a bare $1 parameter is not a quote.
                var end = index + 1
                while end < chars.count,
                    chars[end] == "_" || chars[end].properties.isAlphabetic
                        || (end > index + 1 && chars[end].properties.numericType != nil)
                {
                    end += 1
                }
                if end < chars.count && chars[end] == "$" {
                    let tag = Array(chars[index...end])
                    current.append(contentsOf: tag)
                    index = end + 1
                    while index < chars.count {
                        if chars[index] == "$" && index + tag.count <= chars.count
                            && Array(chars[index..<(index + tag.count)]) == tag
                        {
                            current.append(contentsOf: tag)
                            index += tag.count
                            break
                        }
                        current.append(chars[index])
                        index += 1
                    }
                } else {
                    current.append(c)
                    index += 1
                }
            case ";":
                flush()
                index += 1
            default:
                current.append(c)
                index += 1
            }
        }
        flush()
        return statements
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }

    /// A chunk that is only `--` comments (e.g. a trailing note after the last statement).
    fileprivate var isOnlyComments: Bool {
        split(separator: "\n").allSatisfy { line in
            let trimmed = String(line).trimmingWhitespace()
            return trimmed.isEmpty || trimmed.hasPrefix("--")
        }
    }
}
