/// The API a batch output posts to: its URL, the headers every request carries (the body's
/// content type, the credentials) and the output's transport.
struct ServiceEndpoint: Sendable {
    let transport: HTTPTransport
    let url: EndpointURL
    let headers: [(String, String)]

    init(transport: HTTPTransport, url: EndpointURL, contentType: String, authorization: HTTPAuthorization?,
         headers: [(String, String)] = []) {
        self.transport = transport
        self.url = url
        self.headers = [("Content-Type", contentType)] + headers + (authorization.map { [$0.header] } ?? [])
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
