import Foundation
import Synchronization

/// Shows a replay's progress on a file descriptor (stderr) from a thread of its own: on a terminal, a bar
/// redrawn in place twice a second; otherwise one plain line every `interval` (logs and pipes get no
/// control characters).
public final class ReplayProgressReporter: Sendable {
    private let progress: ReplayProgress
    private let descriptor: Int32
    private let terminal: Bool
    private let interval: Duration
    private let stopped = Mutex(false)
    private let ended = DispatchSemaphore(value: 0)

    public init(progress: ReplayProgress, descriptor: Int32 = STDERR_FILENO, interval: Duration = .seconds(10)) {
        self.progress = progress
        self.descriptor = descriptor
        terminal = isatty(descriptor) == 1
        self.interval = terminal ? .milliseconds(500) : interval
    }

    public func start() {
        NamedThread.start("replay-progress") { [self] in
            var drawn = 0
            var next = ContinuousClock.now + interval
            while !stopped.withLock({ $0 }) {
                if ContinuousClock.now >= next {
                    next = ContinuousClock.now + interval
                    drawn = show(replacing: drawn)
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            // The terminal keeps the final state; a log gets no line beyond the periodic ones.
            if terminal { _ = show(replacing: drawn) }
            ended.signal()
        }
    }

    /// Stops the thread (after the last redraw).
    public func stop() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        if first { ended.wait() }
    }

    /// Prints the current state; on a terminal over the `replacing` lines drawn before. Returns the lines drawn.
    private func show(replacing previous: Int) -> Int {
        let snapshot = progress.snapshot
        guard snapshot.startedAt != 0 else { return previous }
        guard terminal else {
            put(ReplayProgressView.line(snapshot) + "\n")
            return 0
        }
        let lines = ReplayProgressView.bar(snapshot, width: Self.columns(descriptor))
        var text = previous > 0 ? "\u{1B}[\(previous)F" : ""
        for line in lines { text += "\u{1B}[2K" + line + "\n" }
        put(text)
        return lines.count
    }

    private func put(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }

    private static func columns(_ descriptor: Int32) -> Int {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}
