/// The API a batch output posts to: its URL, the headers every request carries (the body's
/// content type, the credentials, the service's own, then the user's `headers`, which win over
/// any of the same name) and the output's transport.
struct ServiceEndpoint: Sendable {
    let transport: HTTPTransport
    let url: EndpointURL
    let headers: [(String, String)]

    init(transport: HTTPTransport, url: EndpointURL, contentType: String, authorization: HTTPAuthorization?,
         headers: [(String, String)] = [], custom: HeaderSettings) {
        self.transport = transport
        self.url = url
        let own = [("Content-Type", contentType)] + headers + (authorization.map { [$0.header] } ?? [])
        let custom = custom.pairs
        self.headers = own.filter { header in
            !custom.contains { $0.0.caseInsensitiveCompare(header.0) == .orderedSame }
        } + custom
    }

    /// POSTs `body`; returns a 2xx answer (up to `maxResponseBody` bytes of it), throws `DeliveryFailure` otherwise.
    @discardableResult
    func post(_ body: [UInt8], maxResponseBody: Int = HTTPTransport.maxResponseBody) async throws -> HTTPTransport.Response {
        var request = HTTPTransport.Request(method: .post, url: url, headers: headers, body: body)
        request.maxResponseBody = maxResponseBody
        return try await transport.send(request)
    }

    func shutdown() async { await transport.shutdown() }
}
