import AuditModel

/// Shell-style wildcard matching (`*`, `?`, `[abc]`, `[!a-z]`, `\` escapes) on
/// bytes, as fnmatch(3) without flags: what Falco's `glob` operator uses.
struct GlobPattern: Sendable {
    private let pattern: [UInt8]
    private let caseInsensitive: Bool

    init(_ text: String, caseInsensitive: Bool = false) {
        pattern = caseInsensitive ? Array(text.utf8).map(asciiLowercase) : Array(text.utf8)
        self.caseInsensitive = caseInsensitive
    }

    func matches(_ value: ByteView) -> Bool {
        var p = 0, v = 0
        var starP = -1, starV = 0
        while v < value.count {
            let byte = caseInsensitive ? asciiLowercase(value[v]) : value[v]
            if p < pattern.count {
                switch pattern[p] {
                case UInt8(ascii: "*"):
                    starP = p
                    starV = v
                    p += 1
                    continue
                case UInt8(ascii: "?"):
                    p += 1
                    v += 1
                    continue
                case UInt8(ascii: "["):
                    if let (matched, next) = matchClass(at: p, byte), matched {
                        p = next
                        v += 1
                        continue
                    } else if matchClass(at: p, byte) == nil, byte == UInt8(ascii: "[") {
                        // An unterminated '[' matches itself.
                        p += 1
                        v += 1
                        continue
                    }
                case UInt8(ascii: "\\") where p + 1 < pattern.count:
                    if pattern[p + 1] == byte {
                        p += 2
                        v += 1
                        continue
                    }
                default:
                    if pattern[p] == byte {
                        p += 1
                        v += 1
                        continue
                    }
                }
            }
            // Mismatch: let the last '*' swallow one more byte.
            if starP >= 0 {
                p = starP + 1
                starV += 1
                v = starV
                continue
            }
            return false
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }

    /// Whether `byte` is in the bracket expression at `start`, and the index after it; nil if unterminated.
    private func matchClass(at start: Int, _ byte: UInt8) -> (Bool, Int)? {
        var index = start + 1
        var negate = false
        if index < pattern.count, pattern[index] == UInt8(ascii: "!") || pattern[index] == UInt8(ascii: "^") {
            negate = true
            index += 1
        }
        var matched = false
        var first = true
        while index < pattern.count {
            let current = pattern[index]
            if current == UInt8(ascii: "]") && !first {
                return (matched != negate, index + 1)
            }
            first = false
            if index + 2 < pattern.count, pattern[index + 1] == UInt8(ascii: "-"), pattern[index + 2] != UInt8(ascii: "]") {
                if byte >= current && byte <= pattern[index + 2] { matched = true }
                index += 3
            } else {
                if byte == current { matched = true }
                index += 1
            }
        }
        return nil
    }
}

@inline(__always)
func asciiLowercase(_ byte: UInt8) -> UInt8 {
    byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
}
