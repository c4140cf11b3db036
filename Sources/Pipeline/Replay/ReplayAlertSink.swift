import Foundation
import Rules
import Synchronization

/// Where a replay's alerts are written, from any worker thread.
protocol ReplayAlertSink: Sendable {
    /// Takes the alerts of one batch (each with its JSON, as the engine encodes it).
    func write(_ alerts: [(alert: Alert, json: [UInt8])])
    /// Writes out what is buffered; throws when some alerts could not be written.
    func finish() throws
}

/// JSON lines on a file descriptor (stdout, or a file the sink opened and closes).
final class JSONLinesSink: ReplayAlertSink {
    private struct State {
        var buffer: [UInt8] = []
        var failure: String?
    }

    private let descriptor: Int32
    private let name: String
    private let ownsDescriptor: Bool
    private let state = Mutex(State())

    static func standardOutput() -> JSONLinesSink {
        JSONLinesSink(descriptor: STDOUT_FILENO, name: "stdout", ownsDescriptor: false)
    }

    /// Creates or replaces the file.
    static func file(_ path: String) throws -> JSONLinesSink {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ReplayError.output("cannot write alerts to \(path): \(String(cString: strerror(errno)))")
        }
        return JSONLinesSink(descriptor: descriptor, name: path, ownsDescriptor: true)
    }

    private init(descriptor: Int32, name: String, ownsDescriptor: Bool) {
        self.descriptor = descriptor
        self.name = name
        self.ownsDescriptor = ownsDescriptor
    }

    func write(_ alerts: [(alert: Alert, json: [UInt8])]) {
        guard !alerts.isEmpty else { return }
        state.withLock { state in
            for (_, json) in alerts {
                state.buffer.append(contentsOf: json)
                state.buffer.append(UInt8(ascii: "\n"))
            }
            if state.buffer.count >= 1 << 16 { flush(&state) }
        }
    }

    func finish() throws {
        let failure = state.withLock { state in
            flush(&state)
            return state.failure
        }
        if ownsDescriptor { close(descriptor) }
        if let failure { throw ReplayError.output(failure) }
    }

    private func flush(_ state: inout State) {
        defer { state.buffer.removeAll(keepingCapacity: true) }
        guard state.failure == nil else { return }
        state.buffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else {
                    state.failure = "cannot write alerts to \(name): \(String(cString: strerror(errno)))"
                    return
                }
                offset += written
            }
        }
    }
}
