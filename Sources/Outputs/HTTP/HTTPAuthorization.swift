import Foundation

/// How an output proves who it is to its service: the value of the `Authorization` header.
public enum HTTPAuthorization: Sendable, Equatable {
    /// Basic authentication (RFC 7617).
    case basic(username: String, password: String)
    /// `<scheme> <credentials>`: a bearer token (RFC 6750), Elasticsearch's `ApiKey`, InfluxDB's `Token`.
    case token(scheme: String, credentials: String)

    public var header: (String, String) {
        switch self {
        case .basic(let username, let password):
            ("Authorization", "Basic " + Data("\(username):\(password)".utf8).base64EncodedString())
        case .token(let scheme, let credentials):
            ("Authorization", "\(scheme) \(credentials)")
        }
    }

    /// Reads an output's credentials from its settings: `username` and `password` (basic
    /// authentication; both or neither), or the one key that holds a token of `scheme`
    /// (`bearer_token` → `Bearer`, `api_key` → `ApiKey`); nil when none is set. Both ways at
    /// once, or half of a username/password pair, is an error at the offending key.
    public static func decode(from decoder: any Decoder, tokenKey: String, scheme: String) throws -> HTTPAuthorization? {
        let container = try decoder.container(keyedBy: SettingKey.self)
        let usernameKey = SettingKey("username"), passwordKey = SettingKey("password"), token = SettingKey(tokenKey)
        let username = try container.decodeIfPresent(String.self, forKey: usernameKey)
        let password = try container.decodeIfPresent(String.self, forKey: passwordKey)
        let tokenValue = try container.decodeIfPresent(String.self, forKey: token)
        if (username == nil) != (password == nil) {
            throw DecodingError.dataCorruptedError(forKey: username == nil ? passwordKey : usernameKey, in: container,
                                                   debugDescription: "basic authentication needs both username and password")
        }
        if let tokenValue {
            if username != nil {
                throw DecodingError.dataCorruptedError(forKey: token, in: container,
                                                       debugDescription: "set either \(tokenKey) or username and password, not both")
            }
            guard !tokenValue.isEmpty, !tokenValue.contains(where: \.isNewline) else {
                throw DecodingError.dataCorruptedError(forKey: token, in: container,
                                                       debugDescription: "\(tokenKey) must be one non-empty line")
            }
            return .token(scheme: scheme, credentials: tokenValue)
        }
        if let username, let password {
            // RFC 7617: the user-id cannot contain a colon (the password can).
            guard !username.contains(":") else {
                throw DecodingError.dataCorruptedError(forKey: usernameKey, in: container,
                                                       debugDescription: "a username for basic authentication cannot contain ':'")
            }
            return .basic(username: username, password: password)
        }
        return nil
    }

    /// A settings key given by name (the outputs name their token key differently).
    private struct SettingKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
