import NIOSSL

/// A problem with an output's settings found when the output is built (an unreadable
/// certificate, …), named after the output and the setting.
public struct OutputSetupError: Error, CustomStringConvertible, Sendable {
    public let output: String
    public let message: String

    public init(output: String, _ message: String) {
        self.output = output
        self.message = message
    }

    public var description: String { "output '\(output)': \(message)" }
}

extension TLSSettings {
    /// The TLS client configuration these settings describe. Certificates and keys are read now,
    /// so a wrong path fails at start-up with the setting's name, not on the first alert.
    /// `ca_file` adds to the system's trust store (a private CA next to public ones);
    /// verification is skipped only when `insecure_skip_verify` is set.
    func makeClientConfiguration(output: String) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            let authorities = try load("tls.ca_file", caFile, output: output) { try NIOSSLCertificate.fromPEMFile($0) }
            guard !authorities.isEmpty else {
                throw OutputSetupError(output: output, "tls.ca_file '\(caFile)' holds no PEM certificate")
            }
            configuration.additionalTrustRoots = [.certificates(authorities)]
        }
        if let certFile, let keyFile {
            let chain = try load("tls.cert_file", certFile, output: output) { try NIOSSLCertificate.fromPEMFile($0) }
            guard !chain.isEmpty else {
                throw OutputSetupError(output: output, "tls.cert_file '\(certFile)' holds no PEM certificate")
            }
            let key = try load("tls.key_file", keyFile, output: output) { try NIOSSLPrivateKey(file: $0, format: .pem) }
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(key)
        }
        configuration.certificateVerification = insecureSkipVerify ? .none : .fullVerification
        return configuration
    }

    private func load<Value>(_ setting: String, _ path: String, output: String,
                             _ read: (String) throws -> Value) throws -> Value {
        do {
            return try read(path)
        } catch {
            throw OutputSetupError(output: output, "\(setting) '\(path)': cannot read it as PEM (\(error))")
        }
    }
}
