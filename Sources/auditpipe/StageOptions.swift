import ArgumentParser
import Settings
import Foundation
import Logging
import Pipeline

/// Options every pipeline stage shares. Each flag may also come from the environment
/// (`AUDITPIPE_CONFIG`, `AUDITPIPE_BROKERS`, `AUDITPIPE_LOG_LEVEL`) or the config file;
/// a flag wins over the environment, which wins over the file.
struct StageOptions: ParsableArguments {
    @Option(help: "A YAML configuration file (see pipeline/auditpipe.yaml). Env: AUDITPIPE_CONFIG.")
    var config: String?

    @Option(help: "Kafka bootstrap servers, host:port,host:port. Env: AUDITPIPE_BROKERS.")
    var brokers: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical. Env: AUDITPIPE_LOG_LEVEL.")
    var logLevel: String?

    /// The configuration file with the flags and environment applied over it.
    /// Problems are printed as FILE:LINE:COL: message and end the command with status 2.
    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AuditpipeConfig {
        let path = config ?? environment["AUDITPIPE_CONFIG"]
        var loaded: AuditpipeConfig
        do {
            loaded = try AuditpipeConfig.load(path: path)
        } catch let errors as ConfigErrors {
            for error in errors.errors { StandardError.print(error.description) }
            throw ExitCode(2)
        }
        if let brokers = brokers ?? environment["AUDITPIPE_BROKERS"] { loaded.kafka.brokers = brokers }
        if let level = logLevel ?? environment["AUDITPIPE_LOG_LEVEL"] { loaded.logLevel = level }
        guard PipelineLogging.level(named: loaded.logLevel) != nil else {
            StandardError.print("unknown log level '\(loaded.logLevel)': use trace, debug, info, notice, warning, error or critical")
            throw ExitCode(2)
        }
        return loaded
    }
}

extension AuditpipeConfig {
    var loggerLevel: Logger.Level { PipelineLogging.level(named: logLevel) ?? .info }
}
