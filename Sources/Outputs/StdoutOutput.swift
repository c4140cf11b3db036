import Foundation
import Rules
import Settings

/// Falco's stdout output: each alert on a line of standard output, as Falco prints it
/// (`format: text`, the alert's output line) or as its JSON (`format: json`).
public struct StdoutOutput: AlertOutput {
    public enum Format: String, Decodable, Sendable {
        case text, json
    }

    public struct Configuration: OutputConfiguration {
        public static let type = "stdout"
        public var format = Format.text

        enum CodingKeys: String, CodingKey {
            case format
        }

        public init(format: Format = .text) {
            self.format = format
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            format = try container.decodeIfPresent(Format.self, forKey: .format) ?? .text
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            StdoutOutput(name: common.name, format: format, fileDescriptor: STDOUT_FILENO)
        }
    }

    public let name: String
    public let format: Format
    private let fileDescriptor: Int32
    public var maxBatchSize: Int { 1000 }

    public init(name: String, format: Format, fileDescriptor: Int32) {
        self.name = name
        self.format = format
        self.fileDescriptor = fileDescriptor
    }

    public func deliver(_ alerts: [OutputAlert]) async throws {
        var bytes: [UInt8] = []
        for alert in alerts {
            switch format {
            case .text: bytes += Array(alert.alert.output.utf8)
            case .json: bytes += alert.json
            }
            bytes.append(UInt8(ascii: "\n"))
        }
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(fileDescriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw DeliveryFailure.transient("cannot write to standard output: \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
    }

    public func shutdown() async {}
}
