import Foundation

/// Decides which cluster a request speaks for. With auth off, the path names it (`/k8s-audit/<cluster>`), or
/// the default cluster does. With auth on, the credential names it — a bearer token from the tokens file, else
/// the client certificate's CN — and a path naming another cluster is refused.
struct ClusterAuthenticator: Sendable {
    enum Decision: Equatable {
        case cluster(String)
        /// 401: no valid credential.
        case unauthenticated(String)
        /// 403: a valid credential for another cluster than the path names.
        case forbidden(String)
        /// 400: the path's cluster name is not a valid name.
        case invalidCluster(String)
    }

    let tokens: TokenFile?
    let clientCertificates: Bool
    let defaultCluster: String

    var isEnabled: Bool { tokens != nil || clientCertificates }

    /// `authorization` is the Authorization header; `certificateName` reads the verified client certificate's
    /// CN (asked only when needed: it takes a trip to the connection's event loop).
    func decide(pathCluster: String?, authorization: String?,
                certificateName: () async -> String?) async -> Decision {
        if let pathCluster, let problem = ClusterName.problem(pathCluster) { return .invalidCluster(problem) }
        guard isEnabled else { return .cluster(pathCluster ?? defaultCluster) }
        let credential: String
        if let authorization {
            guard let tokens else { return .unauthenticated("bearer tokens are not accepted here (no tokens file)") }
            guard let token = Self.bearerToken(authorization) else {
                return .unauthenticated("the Authorization header is not 'Bearer <token>'")
            }
            guard let cluster = tokens.cluster(for: token) else { return .unauthenticated("unknown bearer token") }
            credential = cluster
        } else if clientCertificates, let name = await certificateName() {
            guard ClusterName.problem(name) == nil else {
                return .unauthenticated("the client certificate's CN '\(name)' is not a cluster name")
            }
            credential = name
        } else {
            return .unauthenticated(clientCertificates && tokens != nil
                ? "no credential: send a bearer token or a client certificate"
                : clientCertificates ? "no client certificate" : "no bearer token")
        }
        if let pathCluster, pathCluster != credential {
            return .forbidden("the credential is for cluster '\(credential)', not '\(pathCluster)'")
        }
        return .cluster(credential)
    }

    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
