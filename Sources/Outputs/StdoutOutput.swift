import Foundation
import Rules
import Settings

/// Falco's stdout output: each alert on a line of standard output, as Falco prints it
/// (`format: text`, the alert's output line), as its JSON (`format: json`), or as a line for people
/// (`format: pretty`: time, priority, rule, cluster, message).
public struct StdoutOutput: AlertOutput {
    public typealias Format = AlertLineFormat

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
        do {
            try FileDescriptorWriter.writeAll(fileDescriptor, format.lines(alerts))
        } catch let error as POSIXError {
            throw DeliveryFailure.transient("cannot write to standard output: \(String(cString: strerror(error.code.rawValue)))")
        }
    }

    public func shutdown() async {}
}
