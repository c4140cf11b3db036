import Foundation
import NIOCore
import NIOSSL

/// TLS towards one server: the context built once from the output's settings, and the name
/// the server's certificate must carry.
struct TLSClient: Sendable {
    let context: NIOSSLContext
    /// The server's host name, or its IP address: then no SNI is sent and the certificate's IP
    /// address entries are checked against the address connected to.
    let serverName: String

    init(context: NIOSSLContext, serverName: String) {
        self.context = context
        self.serverName = serverName
    }

    /// `output` names the output in errors about unusable TLS files.
    init(settings: TLSSettings, serverName: String, output: String) throws {
        self.init(context: try NIOSSLContext(configuration: settings.makeClientConfiguration(output: output)), serverName: serverName)
    }

    func makeHandler() throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: context, serverHostname: Self.isIPAddress(serverName) ? nil : serverName)
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}
