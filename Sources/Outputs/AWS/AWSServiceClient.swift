import Foundation

/// Signed requests to one AWS service through the shared HTTP transport, and AWS's errors
/// read from its answers: throttling and service faults are transient (even those AWS sends
/// as 400), refused credentials and invalid requests permanent.
struct AWSServiceClient: Sendable {
    let transport: HTTPTransport
    let signer: AWSSignatureV4
    /// `scheme://host[:port]`, without a path.
    let endpoint: EndpointURL

    /// Sends a request to `path` (already percent-encoded) and returns the 2xx response.
    func send(operation: String, method: HTTPTransport.Method = .post, path: String, query: String = "",
              headers: [(String, String)], body: [UInt8]) async throws -> HTTPTransport.Response {
        let url = EndpointURL(endpoint.origin + path + (query.isEmpty ? "" : "?" + query))!
        var signed = AWSSignatureV4.Request(method: method.rawValue, host: Self.hostHeader(of: endpoint), path: path, query: query,
                                            headers: headers.map { (name: $0.0, value: $0.1) }, body: body)
        signed.headers += signer.signatureHeaders(for: signed, date: Date())
        let request = HTTPTransport.Request(method: method, url: url, headers: signed.headers.map { ($0.name, $0.value) }, body: body)
        return try await transport.send(request) { response in
            AWSError.failure(status: response.status, headers: response.headers, body: response.body,
                             operation: "\(signer.service) \(operation)", origin: endpoint.origin)
        }
    }

    /// `host` or `host:port` as the HTTP client sends it (the port only when not the scheme's).
    static func hostHeader(of endpoint: EndpointURL) -> String {
        String(endpoint.origin.drop { $0 != ":" }.dropFirst(3))
    }

    func shutdown() async {
        await transport.shutdown()
    }
}

/// An error answer of an AWS API: its code from the JSON body (`__type`, `code`), the
/// `X-Amzn-ErrorType` header or an XML `<Code>`, and what it means for the delivery.
enum AWSError {
    /// Codes of passing trouble that AWS answers with a 4xx status.
    static let transientCodes: Set<String> = [
        "ThrottlingException", "Throttling", "ThrottledException", "RequestThrottled", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded", "SlowDown",
        "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "ResourceConflictException",
        "EC2ThrottledException", "ResourceNotReadyException", "ServiceUnavailable", "ServiceUnavailableException",
        "InternalFailure", "InternalError", "InternalServerError", "ServiceException", "KMSThrottlingException",
    ]

    /// nil for a 2xx; otherwise the failure, transient for 429, 5xx and the codes above.
    static func failure(status: Int, headers: [(String, String)], body: [UInt8], operation: String, origin: String) -> DeliveryFailure? {
        if (200..<300).contains(status) { return nil }
        let (code, message) = parse(headers: headers, body: body)
        var reason = "AWS \(operation) at \(origin): HTTP \(status)"
        if let code { reason += " \(code)" }
        if let message, !message.isEmpty { reason += ": \(message.prefix(512))" }
        let retryAfter = headers.first { $0.0.caseInsensitiveCompare("Retry-After") == .orderedSame }.flatMap { RetryAfter.parse($0.1) }
        if status == 429 || status >= 500 || code.map(transientCodes.contains) == true {
            return .transient(reason, retryAfter: retryAfter)
        }
        return .permanent(reason)
    }

    /// The error's code without its namespace (`com.amazonaws.sqs#QueueDoesNotExist` →
    /// `QueueDoesNotExist`, `ResourceNotFoundException:http://…` → `ResourceNotFoundException`)
    /// and its message.
    static func parse(headers: [(String, String)], body: [UInt8]) -> (code: String?, message: String?) {
        var code = headers.first { $0.0.caseInsensitiveCompare("X-Amzn-ErrorType") == .orderedSame }?.1
        var message: String?
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            code = (object["__type"] as? String) ?? (object["code"] as? String) ?? (object["Code"] as? String) ?? code
            message = (object["message"] as? String) ?? (object["Message"] as? String) ?? (object["errorMessage"] as? String)
        } else {
            let text = String(decoding: body.prefix(4096), as: UTF8.self)
            code = xmlElement("Code", in: text) ?? code
            message = xmlElement("Message", in: text)
        }
        let bare = code.map { code -> String in
            var name = Substring(code)
            if let hash = name.lastIndex(of: "#") { name = name[name.index(after: hash)...] }
            if let colon = name.firstIndex(of: ":") { name = name[..<colon] }
            return String(name)
        }
        return (bare, message)
    }

    private static func xmlElement(_ name: String, in text: String) -> String? {
        guard let open = text.range(of: "<\(name)>"), let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex) else {
            return nil
        }
        return String(text[open.upperBound..<close.lowerBound])
    }
}
