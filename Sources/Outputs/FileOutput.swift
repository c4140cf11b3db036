import Foundation
import Settings

/// Falco's file output: each alert appended to a file as a line of JSON or text. Optionally
/// rotated by size (`max_size`), keeping `max_files` old files (`path.1` the newest); the file
/// is reopened after our own rotation and whenever someone else (logrotate) moved or removed it.
///
/// ```yaml
/// - name: archive
///   type: file
///   path: /var/log/auditpipe/alerts.jsonl
///   format: json          # or text (the alert's output line)
///   max_size: 100MiB      # rotate when the file would grow past this (absent: never)
///   max_files: 5          # rotated files kept: alerts.jsonl.1 … alerts.jsonl.5
/// ```
public actor FileOutput: AlertOutput {
    public struct Configuration: OutputConfiguration {
        public static let type = "file"
        public var path: String
        public var format = AlertLineFormat.json
        public var maxSize: ByteSize?
        public var maxFiles = 5

        enum CodingKeys: String, CodingKey {
            case path, format, maxSize, maxFiles
        }

        public init(path: String, format: AlertLineFormat = .json, maxSize: ByteSize? = nil, maxFiles: Int = 5) {
            self.path = path
            self.format = format
            self.maxSize = maxSize
            self.maxFiles = maxFiles
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            path = try container.decode(String.self, forKey: .path)
            guard !path.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .path, in: container, debugDescription: "path must not be empty")
            }
            format = try container.decodeIfPresent(AlertLineFormat.self, forKey: .format) ?? format
            maxSize = try container.decodeIfPresent(ByteSize.self, forKey: .maxSize)
            if let maxSize, maxSize.bytes < 1 {
                throw DecodingError.dataCorruptedError(forKey: .maxSize, in: container, debugDescription: "max_size must be at least 1 byte")
            }
            maxFiles = try container.decodeIfPresent(Int.self, forKey: .maxFiles) ?? maxFiles
            guard maxFiles >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: .maxFiles, in: container, debugDescription: "max_files must not be negative")
            }
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            FileOutput(name: common.name, configuration: self)
        }
    }

    public nonisolated let name: String
    public nonisolated var maxBatchSize: Int { 1000 }
    private let configuration: Configuration
    private var descriptor: Int32 = -1
    private var size = 0
    private var isRegularFile = true

    public init(name: String, configuration: Configuration) {
        self.name = name
        self.configuration = configuration
    }

    public func deliver(_ alerts: [OutputAlert]) async throws {
        let bytes = configuration.format.lines(alerts)
        try reopenIfMoved()
        if descriptor < 0 { try open() }
        if let limit = configuration.maxSize?.bytes, isRegularFile, size > 0, size + bytes.count > limit {
            try rotate()
            try open()
        }
        do {
            try FileDescriptorWriter.writeAll(descriptor, bytes)
        } catch let error as POSIXError {
            // A partial line may be in the file; the retry appends the batch again, whole.
            closeFile()
            throw Self.failure(error.code.rawValue, "cannot write to \(configuration.path)")
        }
        size += bytes.count
    }

    public func shutdown() async {
        closeFile()
    }

    // MARK: - Files

    private func open() throws {
        let descriptor = Foundation.open(configuration.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.failure(errno, "cannot open \(configuration.path)") }
        var status = stat()
        fstat(descriptor, &status)
        self.descriptor = descriptor
        // Devices and pipes (/dev/stdout, a FIFO) are written to but never rotated.
        isRegularFile = (status.st_mode & S_IFMT) == S_IFREG
        size = Int(status.st_size)
    }

    private func closeFile() {
        if descriptor >= 0 { Foundation.close(descriptor) }
        descriptor = -1
        size = 0
    }

    /// Someone renamed or removed the file under us (logrotate): write to a new one at the path.
    private func reopenIfMoved() throws {
        guard descriptor >= 0 else { return }
        var open = stat(), atPath = stat()
        fstat(descriptor, &open)
        if stat(configuration.path, &atPath) != 0 || atPath.st_ino != open.st_ino || atPath.st_dev != open.st_dev {
            closeFile()
        }
    }

    /// path.(n-1) → path.n, …, path → path.1; the oldest beyond max_files is removed.
    private func rotate() throws {
        closeFile()
        let path = configuration.path
        guard configuration.maxFiles > 0 else {
            guard unlink(path) == 0 || errno == ENOENT else { throw Self.failure(errno, "cannot remove \(path) to rotate it") }
            return
        }
        unlink("\(path).\(configuration.maxFiles)")
        for index in stride(from: configuration.maxFiles - 1, through: 1, by: -1) {
            rename("\(path).\(index)", "\(path).\(index + 1)")
        }
        guard rename(path, "\(path).1") == 0 || errno == ENOENT else { throw Self.failure(errno, "cannot rotate \(path)") }
    }

    /// Errors that a retry cannot fix (the path is a directory, not writable, on a read-only file
    /// system) are permanent; a full disk, an I/O error or a directory not there yet may pass.
    static func failure(_ code: Int32, _ what: String) -> DeliveryFailure {
        let reason = "\(what): \(String(cString: strerror(code)))"
        switch code {
        case EISDIR, ENOTDIR, EACCES, EPERM, EROFS, ENAMETOOLONG, ELOOP:
            return .permanent(reason)
        default:
            return .transient(reason)
        }
    }
}

/// Writes a whole buffer to a descriptor, through short writes and interruptions.
enum FileDescriptorWriter {
    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                }
                offset += written
            }
        }
    }
}
