import ArgumentParser
import Settings

/// `--listen host:port` of the commands that run the ingress (`ingress`, `run`).
struct ListenOption: ParsableArguments {
    @Option(help: "host:port to listen on (default from the config file, else 0.0.0.0:8765).")
    var listen: String?

    func validate() throws {
        if let listen, ListenAddress(parsing: listen) == nil {
            throw ValidationError("--listen '\(listen)' is not host:port (example: 0.0.0.0:8765)")
        }
    }

    /// The address given, if any.
    var address: ListenAddress? { listen.flatMap(ListenAddress.init(parsing:)) }
}
