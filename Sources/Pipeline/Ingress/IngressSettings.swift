import Settings

/// `ingress:` — the webhook receiver.
public struct IngressSettings: Decodable, Sendable {
    /// Where the webhook listens (Falco's k8s_audit endpoint listens on 8765 too).
    public var listen = ListenAddress(host: "0.0.0.0", port: 8765)
    /// HTTPS instead of HTTP, and client certificates (mTLS) when `client_auth` asks for them. Absent: plain HTTP.
    public var tls: IngressTLSSettings?
    /// Who may post, and which cluster each credential speaks for. Off unless a credential source is configured.
    public var auth = IngressAuthSettings()
    /// The cluster of requests to `/k8s-audit` when auth is off (with auth on, the credential names it).
    public var defaultCluster = "default"
    /// Largest request body accepted, before and after gzip decoding (413 past it). The apiserver batches up to
    /// 400 events by default; a batch of large RequestResponse events can take tens of MB.
    public var maxBodySize = ByteSize(32 << 20)
    /// Bytes of request bodies being read, decoded or produced at once, across all requests; past it new requests
    /// get 429 and Retry-After. Bounds the memory the ingress uses whatever the load. At least `max_body_size`.
    public var maxInflightBytes = ByteSize(256 << 20)
    /// Largest single event published as-is. Kafka refuses messages past its `message.max.bytes` (about 1 MB by
    /// default); a larger event goes to the rejects topic, cut to this size, with the reason.
    public var maxEventSize = ByteSize(960 << 10)
    /// How long a request waits for Kafka to acknowledge its events before it gets 503 (the apiserver then
    /// retries). Short on purpose: a slow webhook holds the apiserver's connections and memory.
    public var produceTimeout = ConfigDuration(.seconds(5))
    /// The Retry-After of 429 and 503 answers, in whole seconds (rounded up).
    public var retryAfter = ConfigDuration(.seconds(2))
    /// Keep-alive connections idle this long are closed.
    public var idleTimeout = ConfigDuration(.seconds(120))

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen, tls, auth, defaultCluster, maxBodySize, maxInflightBytes, maxEventSize, produceTimeout, retryAfter,
             idleTimeout
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        listen = try container.decodeIfPresent(ListenAddress.self, forKey: .listen) ?? listen
        tls = try container.decodeIfPresent(IngressTLSSettings.self, forKey: .tls)
        auth = try container.decodeIfPresent(IngressAuthSettings.self, forKey: .auth) ?? auth
        defaultCluster = try container.decodeIfPresent(String.self, forKey: .defaultCluster) ?? defaultCluster
        maxBodySize = try container.decodeIfPresent(ByteSize.self, forKey: .maxBodySize) ?? maxBodySize
        maxInflightBytes = try container.decodeIfPresent(ByteSize.self, forKey: .maxInflightBytes) ?? maxInflightBytes
        maxEventSize = try container.decodeIfPresent(ByteSize.self, forKey: .maxEventSize) ?? maxEventSize
        produceTimeout = try container.decodeIfPresent(ConfigDuration.self, forKey: .produceTimeout) ?? produceTimeout
        retryAfter = try container.decodeIfPresent(ConfigDuration.self, forKey: .retryAfter) ?? retryAfter
        idleTimeout = try container.decodeIfPresent(ConfigDuration.self, forKey: .idleTimeout) ?? idleTimeout
        if let problem = ClusterName.problem(defaultCluster) {
            throw DecodingError.dataCorruptedError(forKey: .defaultCluster, in: container, debugDescription: problem)
        }
        if maxInflightBytes < maxBodySize {
            throw DecodingError.dataCorruptedError(
                forKey: .maxInflightBytes, in: container,
                debugDescription: "max_inflight_bytes (\(maxInflightBytes)) must be at least max_body_size (\(maxBodySize)), "
                    + "or a request of the largest size could never be admitted")
        }
        if produceTimeout.duration <= .zero {
            throw DecodingError.dataCorruptedError(forKey: .produceTimeout, in: container,
                                                   debugDescription: "produce_timeout must be more than 0")
        }
        if auth.clientCert, (tls?.clientAuth ?? IngressTLSSettings.ClientAuth.none) == .none {
            throw DecodingError.dataCorruptedError(
                forKey: .auth, in: container,
                debugDescription: "auth.client_cert needs tls with client_auth optional or require (and a ca_file)")
        }
    }
}

/// `ingress.tls:` — the server certificate, and which clients to ask for theirs.
public struct IngressTLSSettings: Decodable, Sendable, Equatable {
    /// PEM certificate chain of the server (leaf first).
    public var certFile: String
    /// PEM private key of the server certificate.
    public var keyFile: String
    /// PEM certificates of the CAs that sign client certificates (needed when client_auth is not none).
    public var caFile: String?
    /// none: no client certificates; optional: verified when presented (bearer tokens still work);
    /// require: the TLS handshake fails without a certificate signed by ca_file.
    public var clientAuth = ClientAuth.none

    public enum ClientAuth: String, Decodable, Sendable {
        case none, optional, require
    }

    public init(certFile: String, keyFile: String, caFile: String? = nil, clientAuth: ClientAuth = .none) {
        self.certFile = certFile
        self.keyFile = keyFile
        self.caFile = caFile
        self.clientAuth = clientAuth
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case certFile, keyFile, caFile, clientAuth
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        certFile = try container.decode(String.self, forKey: .certFile)
        keyFile = try container.decode(String.self, forKey: .keyFile)
        caFile = try container.decodeIfPresent(String.self, forKey: .caFile)
        if let text = try container.decodeIfPresent(String.self, forKey: .clientAuth) {
            guard let value = ClientAuth(rawValue: text) else {
                throw DecodingError.dataCorruptedError(forKey: .clientAuth, in: container,
                                                       debugDescription: "'\(text)' is not none, optional or require")
            }
            clientAuth = value
        }
        if clientAuth != .none, caFile == nil {
            throw DecodingError.dataCorruptedError(forKey: .clientAuth, in: container,
                                                   debugDescription: "client_auth \(clientAuth.rawValue) needs a ca_file")
        }
    }
}

/// `ingress.auth:` — credentials and the cluster each one speaks for. Auth is on when either source is configured.
public struct IngressAuthSettings: Decodable, Sendable, Equatable {
    /// A file of `TOKEN CLUSTER` lines (`#` comments); requests carry `Authorization: Bearer TOKEN`.
    /// Re-read when it changes, so tokens can be added and revoked without a restart.
    public var tokensFile: String?
    /// Take the cluster from the client certificate's subject CN (needs tls.client_auth optional or require).
    public var clientCert = false

    public init(tokensFile: String? = nil, clientCert: Bool = false) {
        self.tokensFile = tokensFile
        self.clientCert = clientCert
    }

    public var isEnabled: Bool { tokensFile != nil || clientCert }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case tokensFile, clientCert
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tokensFile = try container.decodeIfPresent(String.self, forKey: .tokensFile)
        clientCert = try container.decodeIfPresent(Bool.self, forKey: .clientCert) ?? false
    }
}
