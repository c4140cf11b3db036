import Foundation
import Synchronization

/// Falco's program output: each alert piped, as a line of JSON or text, to the standard input of
/// a shell command (`/bin/sh -c command`).
///
/// - `keep_alive: false` (Falco's default): one run of the command per alert; the run's exit
///   status is the answer: 0 delivered, 65 (EX_DATAERR, "the input data was incorrect") refused
///   for good (dead-lettered), anything else a transient failure (retried).
/// - `keep_alive: true`: one long-lived process fed line after line, as Falco's keep_alive; a line
///   written to its input counts as delivered. When it dies it is restarted; an alert whose write
///   found it dead is a transient failure and is written again to the new process. (A line the
///   process had buffered but not handled when it died cannot be known: use keep_alive: false
///   where every alert must be acknowledged.)
///
/// ```yaml
/// - name: to-siem
///   type: program
///   command: "jq -c . | nc siem.internal 5140"
///   format: json        # or text
///   keep_alive: true
/// ```
public actor ProgramOutput: AlertOutput {
    public struct Configuration: OutputConfiguration {
        public static let type = "program"
        public var command: String
        public var format = AlertLineFormat.json
        public var keepAlive = false

        enum CodingKeys: String, CodingKey {
            case command, format, keepAlive
        }

        public init(command: String, format: AlertLineFormat = .json, keepAlive: Bool = false) {
            self.command = command
            self.format = format
            self.keepAlive = keepAlive
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            command = try container.decode(String.self, forKey: .command)
            guard !command.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .command, in: container, debugDescription: "command must not be empty")
            }
            format = try container.decodeIfPresent(AlertLineFormat.self, forKey: .format) ?? format
            keepAlive = try container.decodeIfPresent(Bool.self, forKey: .keepAlive) ?? keepAlive
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            ProgramOutput(name: common.name, configuration: self)
        }
    }

    /// The exit status with which a program refuses an alert for good (sysexits.h EX_DATAERR).
    public static let refusedExitStatus: Int32 = 65

    public nonisolated let name: String
    /// One alert per run without keep_alive (as Falco); batches of lines to a kept-alive process.
    public nonisolated let maxBatchSize: Int
    private let configuration: Configuration
    private var running: RunningProgram?

    public init(name: String, configuration: Configuration) {
        // A program that exits closes its end of the pipe: writing must fail with EPIPE, not kill the sink.
        signal(SIGPIPE, SIG_IGN)
        self.name = name
        self.configuration = configuration
        maxBatchSize = configuration.keepAlive ? 1000 : 1
    }

    public func deliver(_ alerts: [OutputAlert]) async throws {
        let bytes = configuration.format.lines(alerts)
        if configuration.keepAlive {
            try await writeToKeptAlive(bytes)
        } else {
            try await runOnce(with: bytes)
        }
    }

    public func shutdown() async {
        guard let running else { return }
        self.running = nil
        running.closeInput()
        if await !running.exited(within: .seconds(5)) { running.terminate() }
    }

    // MARK: - One run per delivery

    private func runOnce(with bytes: [UInt8]) async throws {
        let program = try RunningProgram(command: configuration.command)
        try await withTaskCancellationHandler {
            // A program that exits without reading everything closes the pipe; its exit status decides.
            try? await program.write(bytes)
            program.closeInput()
            let status = await program.exitStatus()
            switch status {
            case .exited(0):
                return
            case .exited(Self.refusedExitStatus):
                throw DeliveryFailure.permanent("program refused the alert (exit status \(Self.refusedExitStatus)): \(configuration.command)")
            default:
                throw DeliveryFailure.transient("program \(status): \(configuration.command)")
            }
        } onCancel: {
            program.terminate()
        }
    }

    // MARK: - keep_alive

    private func writeToKeptAlive(_ bytes: [UInt8]) async throws {
        if running == nil || running?.isRunning == false {
            running = try RunningProgram(command: configuration.command)
        }
        guard let program = running else { return }
        do {
            try await program.write(bytes)
        } catch {
            program.closeInput()
            let status = await program.exitStatus(within: .seconds(1))
            running = nil
            throw DeliveryFailure.transient("program \(status.map { "\($0)" } ?? "stopped reading its input"); restarting it: \(configuration.command)")
        }
    }
}

/// One process of `/bin/sh -c command` with a pipe to its standard input; standard output and
/// error are the sink's own.
final class RunningProgram: Sendable {
    enum Status: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case killed(Int32)

        var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .killed(let signal): return "was killed by signal \(signal)"
            }
        }
    }

    private let process: Process
    private let input: Int32
    private let inputClosed = OnceFlag()
    private let exit: ExitWaiter

    init(command: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardInput = pipe
        let exit = ExitWaiter()
        process.terminationHandler = { process in
            exit.finish(process.terminationReason == .exit ? .exited(process.terminationStatus) : .killed(process.terminationStatus))
        }
        do {
            try process.run()
        } catch {
            throw DeliveryFailure.transient("cannot start /bin/sh -c \(command): \(error)")
        }
        // Close-on-exec: programs started later (by this or another output) must not hold our end of
        // this pipe, or this program would never see the end of its input.
        input = fcntl(pipe.fileHandleForWriting.fileDescriptor, F_DUPFD_CLOEXEC, 0)
        try? pipe.fileHandleForWriting.close()
        try? pipe.fileHandleForReading.close()
        _ = fcntl(input, F_SETFL, fcntl(input, F_GETFL) | O_NONBLOCK)
        self.process = process
        self.exit = exit
    }

    deinit {
        closeInput()
    }

    var isRunning: Bool { process.isRunning }

    /// Writes everything, waiting (without blocking a thread) while the pipe is full.
    func write(_ bytes: [UInt8]) async throws {
        var offset = 0
        var pause = Duration.microseconds(100)
        while offset < bytes.count {
            try Task.checkCancellation()
            let written = bytes.withUnsafeBytes { Foundation.write(input, $0.baseAddress! + offset, $0.count - offset) }
            if written >= 0 {
                offset += written
                pause = .microseconds(100)
                continue
            }
            switch errno {
            case EINTR:
                continue
            case EAGAIN:
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(20))
            default:
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPIPE)
            }
        }
    }

    func closeInput() {
        if inputClosed.set() { close(input) }
    }

    func terminate() {
        if process.isRunning { process.terminate() }
    }

    func exitStatus() async -> Status {
        await exit.wait()
    }

    /// The exit status, or nil if the process has not exited within `limit`.
    func exitStatus(within limit: Duration) async -> Status? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let status = exit.status { return status }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return exit.status
    }

    func exited(within limit: Duration) async -> Bool {
        await exitStatus(within: limit) != nil
    }
}

/// The exit of a process, awaited by whoever asks, once it happened.
final class ExitWaiter: Sendable {
    private let state = Mutex<(status: RunningProgram.Status?, waiters: [CheckedContinuation<RunningProgram.Status, Never>])>((nil, []))

    var status: RunningProgram.Status? { state.withLock { $0.status } }

    func finish(_ status: RunningProgram.Status) {
        let waiters = state.withLock { state in
            state.status = status
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    func wait() async -> RunningProgram.Status {
        await withCheckedContinuation { continuation in
            let ready: RunningProgram.Status? = state.withLock { state in
                if let status = state.status { return status }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
