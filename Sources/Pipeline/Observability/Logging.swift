import Logging
import Synchronization

/// Logs go to stderr, one line each (stdout is for alerts in `check`, `replay` and the stdout output).
public enum PipelineLogging {
    private static let bootstrapped = Mutex(false)

    /// Sets the process-wide log handler; only the first call counts (swift-log allows one bootstrap).
    public static func bootstrap(level: Logger.Level) {
        bootstrapped.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }

    /// A logger for one component at the given level.
    public static func logger(_ label: String, level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }

    public static func level(named name: String) -> Logger.Level? {
        Logger.Level(rawValue: name.lowercased())
    }
}
