import Foundation

/// The settings every AWS output has, read from the output's mapping:
///
/// ```yaml
///   region: eu-west-1                 # else from the queue URL or function ARN, else AWS_REGION, AWS_DEFAULT_REGION
///   access_key_id: AKIA…              # else AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
///   secret_access_key: …
///   session_token: …                  # temporary credentials only
///   endpoint_url: http://127.0.0.1:5000   # another endpoint (moto, LocalStack, a VPC endpoint)
/// ```
///
/// Instance roles, web identity and the shared credentials file are not read: give keys here
/// or in the environment.
struct AWSSettings: Sendable {
    var region: String?
    var accessKeyID: String?
    var secretAccessKey: String?
    var sessionToken: String?
    var endpointURL: EndpointURL?

    enum CodingKeys: String, CodingKey {
        case region, accessKeyId, secretAccessKey, sessionToken, endpointUrl
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        region = try container.decodeIfPresent(String.self, forKey: .region)
        if let region, !Self.isRegionName(region) {
            throw DecodingError.dataCorruptedError(forKey: .region, in: container, debugDescription: "'\(region)' is not an AWS region name (like eu-west-1)")
        }
        accessKeyID = try container.decodeIfPresent(String.self, forKey: .accessKeyId)
        secretAccessKey = try container.decodeIfPresent(String.self, forKey: .secretAccessKey)
        sessionToken = try container.decodeIfPresent(String.self, forKey: .sessionToken)
        if (accessKeyID == nil) != (secretAccessKey == nil) {
            throw DecodingError.dataCorruptedError(forKey: accessKeyID == nil ? .secretAccessKey : .accessKeyId, in: container,
                                                   debugDescription: "access_key_id and secret_access_key go together")
        }
        if sessionToken != nil, accessKeyID == nil {
            throw DecodingError.dataCorruptedError(forKey: .sessionToken, in: container, debugDescription: "a session_token needs access_key_id and secret_access_key")
        }
        endpointURL = try container.decodeIfPresent(EndpointURL.self, forKey: .endpointUrl)
    }

    /// Lower-case letters, digits and dashes, as AWS names its regions (`us-east-1`, `cn-north-1`).
    static func isRegionName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 32 && text.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// The keys from these settings, else from the standard environment variables.
    func credentials(output: String, environment: [String: String]) throws -> AWSCredentials {
        if let accessKeyID, let secretAccessKey {
            return AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken)
        }
        if let accessKeyID = environment["AWS_ACCESS_KEY_ID"], !accessKeyID.isEmpty,
           let secretAccessKey = environment["AWS_SECRET_ACCESS_KEY"], !secretAccessKey.isEmpty {
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: token)
        }
        throw OutputSetupError(output: output, "no AWS credentials: set access_key_id and secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")
    }

    /// The region from these settings, else the one the resource's address names, else the environment's.
    func region(output: String, fromResource resourceRegion: String?, environment: [String: String]) throws -> String {
        for candidate in [region, resourceRegion, environment["AWS_REGION"], environment["AWS_DEFAULT_REGION"]] {
            if let candidate, Self.isRegionName(candidate) { return candidate }
        }
        throw OutputSetupError(output: output, "no AWS region: set region, or AWS_REGION in the environment")
    }
}
