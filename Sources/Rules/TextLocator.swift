import Yams

/// Maps a byte offset inside a YAML scalar's value back to the file's line and
/// column, so a condition error points at the token, not just at the rule.
/// Plain and folded scalars join their lines with one separator; this walks
/// the source lines the same way. Escapes in quoted strings can shift the column.
struct TextLocator: Sendable {
    private struct Segment: Sendable {
        var line: Int
        var column: Int
        var length: Int
    }

    private let file: String
    private let segments: [Segment]
    private let fallback: SourceLocation
    private var shift = 0

    init(file: String, mark: Mark?, style: Node.Scalar.Style?, sourceLines: [Substring]) {
        self.file = file
        let start = SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
        fallback = start
        guard let mark else {
            segments = []
            return
        }
        var segments: [Segment] = []
        let firstLineIndex = mark.line - 1
        switch style {
        case .literal?, .folded?:
            // Content starts on the line after the indicator, at the block's indentation.
            var index = firstLineIndex + 1
            var indentation: Int?
            while index < sourceLines.count {
                let line = sourceLines[index]
                let leading = line.prefix { $0 == " " || $0 == "\t" }.count
                let isBlank = line.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" }
                if !isBlank {
                    if indentation == nil { indentation = leading }
                    if leading < indentation! { break }
                }
                let content = isBlank ? 0 : line.utf8.count - (indentation ?? leading)
                segments.append(Segment(line: index + 1, column: (indentation ?? leading) + 1, length: max(content, 0)))
                index += 1
            }
        default:
            let quoteShift = (style == .singleQuoted || style == .doubleQuoted) ? 1 : 0
            var index = firstLineIndex
            var column = mark.column + quoteShift
            while index < sourceLines.count {
                let line = sourceLines[index]
                let startOffset = index == firstLineIndex ? column - 1 : line.prefix { $0 == " " || $0 == "\t" }.count
                if index != firstLineIndex { column = startOffset + 1 }
                let length = max(line.utf8.count - startOffset, 0)
                segments.append(Segment(line: index + 1, column: column, length: length))
                index += 1
                // A plain or quoted scalar continues only on more-indented lines.
                if index < sourceLines.count {
                    let next = sourceLines[index]
                    let leading = next.prefix { $0 == " " || $0 == "\t" }.count
                    let trimmed = next.drop { $0 == " " || $0 == "\t" }
                    if leading < mark.column - 1 && !trimmed.isEmpty { break }
                    if trimmed.hasPrefix("- ") || (trimmed.contains(": ") && quoteShift == 0) { break }
                }
            }
        }
        self.segments = segments
    }

    /// The location of the byte at `offset` in the scalar's value.
    func locate(_ offset: Int) -> SourceLocation {
        var remaining = offset + shift
        for segment in segments {
            if remaining <= segment.length {
                return SourceLocation(file: file, line: segment.line, column: segment.column + remaining)
            }
            remaining -= segment.length + 1
        }
        return fallback
    }

    var start: SourceLocation { segments.isEmpty ? fallback : locate(0) }

    /// The same text with its first `count` bytes dropped.
    func shifted(by count: Int) -> TextLocator {
        var copy = self
        copy.shift += count
        return copy
    }
}
