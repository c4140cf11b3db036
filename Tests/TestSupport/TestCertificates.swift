import Foundation

/// A private certificate authority made for one test with the `openssl` command line, and the
/// certificates it signed: a server certificate for 127.0.0.1/localhost and a client
/// certificate (for mTLS). PEM files in a temporary directory removed with this object.
public final class TestCertificates: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let caFile: String
    public let serverCertFile: String
    public let serverKeyFile: String
    public let clientCertFile: String
    public let clientKeyFile: String
    private let directory: TemporaryDirectory

    /// `clientCommonName` is the client certificate's CN (what an mTLS server reads as the client's name).
    public init(clientCommonName: String = "auditpipe-test-client") throws {
        directory = try TemporaryDirectory()
        let config = try directory.write("openssl.cnf", """
            [req]
            distinguished_name = dn
            prompt = no
            [dn]
            [ca]
            basicConstraints = critical,CA:TRUE
            keyUsage = critical,keyCertSign,cRLSign
            subjectKeyIdentifier = hash
            [server]
            basicConstraints = CA:FALSE
            keyUsage = critical,digitalSignature,keyEncipherment
            extendedKeyUsage = serverAuth
            subjectAltName = IP:127.0.0.1,DNS:localhost
            authorityKeyIdentifier = keyid
            [client]
            basicConstraints = CA:FALSE
            keyUsage = critical,digitalSignature,keyEncipherment
            extendedKeyUsage = clientAuth
            authorityKeyIdentifier = keyid

            """)
        caFile = directory.file("ca.pem")
        let caKey = directory.file("ca.key")
        try Self.openssl(["req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                          "-keyout", caKey, "-out", caFile, "-days", "2", "-subj", "/CN=auditpipe test CA",
                          "-config", config, "-extensions", "ca"])
        serverCertFile = directory.file("server.pem")
        serverKeyFile = directory.file("server.key")
        clientCertFile = directory.file("client.pem")
        clientKeyFile = directory.file("client.key")
        for (name, commonName, cert, key) in [("server", "127.0.0.1", serverCertFile, serverKeyFile),
                                              ("client", clientCommonName, clientCertFile, clientKeyFile)] {
            let request = directory.file("\(name).csr")
            try Self.openssl(["req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                              "-keyout", key, "-out", request, "-subj", "/CN=\(commonName)", "-config", config])
            try Self.openssl(["x509", "-req", "-in", request, "-CA", caFile, "-CAkey", caKey, "-set_serial",
                              String(UInt32.random(in: 1...UInt32.max)), "-days", "2", "-out", cert,
                              "-extfile", config, "-extensions", name])
        }
    }

    private static func openssl(_ arguments: [String]) throws {
        guard let executable = ChildProcess.which("openssl") else {
            throw Failure(description: "the openssl command is not installed (apt-get install openssl)")
        }
        let result = try CommandResult.run(executable, arguments)
        guard result.status == 0 else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
    }
}
