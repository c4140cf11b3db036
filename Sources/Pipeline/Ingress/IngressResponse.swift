import Hummingbird
import NIOCore
import Rules

/// The ingress's answers: plain-text messages that say what is wrong, and a small JSON summary on success.
enum IngressResponse {
    static func text(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    /// How many problems the answer lists (all are in the rejects topic and the metrics).
    static let listedProblems = 20

    /// 200: `{"accepted":N,"rejected":M,"rejects":[{"item":i,"reason":"…"},…]}`.
    static func accepted(events: Int, problems: [ItemProblem]) -> Response {
        var json = "{\"accepted\":\(events),\"rejected\":\(problems.count)"
        if !problems.isEmpty {
            json += ",\"rejects\":["
            for (position, problem) in problems.prefix(listedProblems).enumerated() {
                json += position == 0 ? "{\"item\":\(problem.index),\"reason\":" : ",{\"item\":\(problem.index),\"reason\":"
                AlertEncoder.appendString(problem.reason, to: &json)
                json += "}"
            }
            json += "]"
        }
        json += "}\n"
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: json)))
    }
}
