import Foundation
import Rules

/// falcosidekick's AWS Lambda output: the function invoked with each alert's JSON as its
/// payload (Lambda's Invoke API, `POST /2015-03-31/functions/{name}/invocations`).
///
/// ```yaml
/// - name: responder
///   type: aws_lambda
///   function_name: falco-responder   # a name, a partial ARN (123456789012:function:x) or an ARN
///   qualifier: live                  # a version or alias (optional)
///   invocation_type: event           # event (asynchronous, default) or request_response
///   region: eu-west-1                # and the other AWS settings: see AWSSettings
/// ```
///
/// `event` returns once Lambda queued the invocation (202); `request_response` waits for the
/// function, and a function that fails (X-Amz-Function-Error) fails the delivery as transient:
/// the retries then the dead-letter topic keep the alert.
public struct AWSLambdaOutput: AlertOutput {
    public enum InvocationType: String, Sendable, Decodable {
        case event
        case requestResponse = "request_response"

        /// The X-Amz-Invocation-Type value.
        var headerValue: String {
            switch self {
            case .event: return "Event"
            case .requestResponse: return "RequestResponse"
            }
        }
    }

    public struct Configuration: OutputConfiguration {
        public static let type = "aws_lambda"
        var functionName: String
        var qualifier: String?
        var invocationType: InvocationType
        var aws: AWSSettings

        enum CodingKeys: String, CodingKey {
            case functionName, qualifier, invocationType
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            functionName = try container.decode(String.self, forKey: .functionName)
            guard Self.isFunctionName(functionName) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .functionName, in: container,
                    debugDescription: "'\(functionName)' is not a Lambda function name, partial ARN or ARN (letters, digits, '-', '_', and ':' in ARNs)")
            }
            qualifier = try container.decodeIfPresent(String.self, forKey: .qualifier)
            if let qualifier, qualifier.isEmpty || !qualifier.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "$") }) {
                throw DecodingError.dataCorruptedError(forKey: .qualifier, in: container, debugDescription: "'\(qualifier)' is not a version or alias name")
            }
            invocationType = try container.decodeIfPresent(InvocationType.self, forKey: .invocationType) ?? .event
            aws = try AWSSettings(from: decoder)
        }

        static func isFunctionName(_ name: String) -> Bool {
            !name.isEmpty && name.count <= 170
                && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_:.$".contains($0)) }
        }

        /// `arn:aws:lambda:eu-west-1:123456789012:function:x` names its region.
        var regionInARN: String? {
            let parts = functionName.split(separator: ":", omittingEmptySubsequences: false)
            return parts.count >= 7 && parts[0] == "arn" ? String(parts[3]) : nil
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            let environment = ProcessInfo.processInfo.environment
            let region = try aws.region(output: common.name, fromResource: regionInARN, environment: environment)
            let signer = AWSSignatureV4(credentials: try aws.credentials(output: common.name, environment: environment),
                                        region: region, service: "lambda")
            let endpoint = aws.endpointURL.map { EndpointURL($0.origin)! }
                ?? EndpointURL("https://lambda.\(region).\(region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com")")!
            let client = AWSServiceClient(transport: try HTTPTransport(common, context: context), signer: signer, endpoint: endpoint)
            return AWSLambdaOutput(name: common.name, functionName: functionName, qualifier: qualifier,
                                   invocationType: invocationType, client: client)
        }
    }

    public let name: String
    let functionName: String
    let qualifier: String?
    let invocationType: InvocationType
    let client: AWSServiceClient
    /// One invocation per alert, as the function expects one alert.
    public var maxBatchSize: Int { 1 }

    /// The request path: the function's name percent-encoded (an ARN's colons as %3A).
    var path: String { "/2015-03-31/functions/\(AWSSignatureV4.uriEncode(functionName))/invocations" }

    public func deliver(_ alerts: [OutputAlert]) async throws {
        for alert in alerts {
            let response = try await client.send(
                operation: "Invoke", path: path, query: qualifier.map { "Qualifier=\(AWSSignatureV4.uriEncode($0))" } ?? "",
                headers: [("Content-Type", "application/json"), ("X-Amz-Invocation-Type", invocationType.headerValue)],
                body: alert.json)
            if let functionError = response.header("X-Amz-Function-Error") {
                let payload = String(decoding: response.body.prefix(512), as: UTF8.self)
                throw DeliveryFailure.transient("AWS lambda Invoke: function \(functionName) failed (\(functionError)): \(payload)")
            }
        }
    }

    public func shutdown() async {
        await client.shutdown()
    }
}
