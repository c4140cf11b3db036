import NIOCore
import NIOSSL
import X509

/// HTTPS for the webhook (swift-nio-ssl): the server certificate, and client certificates verified against a
/// CA when `client_auth` asks for them (mTLS).
enum IngressTLS {
    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    static func configuration(_ settings: IngressTLSSettings) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(settings.certFile)
        } catch {
            throw SetupError(description: "tls.cert_file \(settings.certFile): not a PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw SetupError(description: "tls.cert_file \(settings.certFile): no certificate in it") }
        do {
            key = try NIOSSLPrivateKey(file: settings.keyFile, format: .pem)
        } catch {
            throw SetupError(description: "tls.key_file \(settings.keyFile): not a PEM private key (\(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                     privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let caFile = settings.caFile {
            do {
                _ = try NIOSSLCertificate.fromPEMFile(caFile)
            } catch {
                throw SetupError(description: "tls.ca_file \(caFile): not PEM certificates (\(error))")
            }
            configuration.trustRoots = .file(caFile)
        }
        switch settings.clientAuth {
        case .none: configuration.certificateVerification = .none
        case .optional: configuration.certificateVerification = .optionalVerification
        case .require: configuration.certificateVerification = .noHostnameVerification
        }
        return configuration
    }

    /// The subject CN of the client certificate that the TLS handshake verified, or nil without one.
    static func clientCommonName(of channel: any Channel) async -> String? {
        guard let certificate = try? await channel.nioSSL_peerCertificate().get(),
              let der = try? certificate.toDERBytes(),
              let parsed = try? Certificate(derEncoded: der) else { return nil }
        // The most significant (last) CN, as TLS libraries read it.
        for rdn in parsed.subject.reversed() {
            for attribute in rdn.reversed() where attribute.type == .RDNAttributeType.commonName {
                return String(attribute.value)
            }
        }
        return nil
    }
}
