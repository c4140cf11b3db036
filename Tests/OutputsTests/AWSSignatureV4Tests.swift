import Crypto
import Foundation
@testable import Outputs
import Testing

/// The signer against AWS's published Signature Version 4 test suite (aws-sig-v4-test-suite:
/// credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1, service "service", host
/// example.amazonaws.com) and the signing-key example of AWS's documentation. Each expected
/// value is AWS's; botocore's signer computes the same ones.
@Suite struct AWSSignatureV4Tests {
    static let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let signer = AWSSignatureV4(credentials: credentials, region: "us-east-1", service: "service")
    static let date = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z

    struct Vector: CustomTestStringConvertible, Sendable {
        let name: String
        let method: String
        let path: String
        var query = ""
        var headers: [(name: String, value: String)] = []
        var body = ""
        let signedHeaders: String
        let signature: String
        var testDescription: String { name }
    }

    static let suite: [Vector] = [
        Vector(name: "get-vanilla", method: "GET", path: "/", signedHeaders: "host;x-amz-date",
               signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        Vector(name: "get-unreserved", method: "GET", path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
               signedHeaders: "host;x-amz-date", signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
        Vector(name: "get-slashes", method: "GET", path: "//example//", signedHeaders: "host;x-amz-date",
               signature: "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"),
        Vector(name: "get-vanilla-query-order-key-case", method: "GET", path: "/", query: "Param2=value2&Param1=value1",
               signedHeaders: "host;x-amz-date", signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        Vector(name: "get-vanilla-query-order-value", method: "GET", path: "/", query: "Param1=value2&Param1=value1",
               signedHeaders: "host;x-amz-date", signature: "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"),
        Vector(name: "get-header-value-trim", method: "GET", path: "/",
               headers: [("My-Header1", " value1"), ("My-Header2", "\"a   b   c\"")],
               signedHeaders: "host;my-header1;my-header2;x-amz-date",
               signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        Vector(name: "get-header-key-duplicate", method: "GET", path: "/",
               headers: [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")],
               signedHeaders: "host;my-header1;x-amz-date", signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
        Vector(name: "get-header-value-order", method: "GET", path: "/",
               headers: [("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"), ("My-Header1", "value2")],
               signedHeaders: "host;my-header1;x-amz-date", signature: "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"),
        Vector(name: "post-vanilla", method: "POST", path: "/", signedHeaders: "host;x-amz-date",
               signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        Vector(name: "post-x-www-form-urlencoded", method: "POST", path: "/",
               headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "Param1=value1",
               signedHeaders: "content-type;host;x-amz-date", signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
    ]

    static func request(_ vector: Vector) -> AWSSignatureV4.Request {
        AWSSignatureV4.Request(method: vector.method, host: "example.amazonaws.com", path: vector.path, query: vector.query,
                               headers: vector.headers, body: Array(vector.body.utf8))
    }

    @Test(arguments: suite)
    func publishedVector(_ vector: Vector) {
        let headers = Self.signer.signatureHeaders(for: Self.request(vector), date: Self.date)
        #expect(headers.first { $0.name == "X-Amz-Date" }?.value == "20150830T123600Z")
        #expect(headers.first { $0.name == "Authorization" }?.value
            == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=\(vector.signedHeaders), Signature=\(vector.signature)")
    }

    /// get-vanilla's intermediate steps, as the suite publishes them (.creq and .sts files).
    @Test func getVanillaCanonicalRequestAndStringToSign() {
        let (canonical, signed) = Self.signer.canonicalRequest(Self.request(Self.suite[0]), adding: [("X-Amz-Date", "20150830T123600Z")])
        #expect(canonical == """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
        #expect(signed == "host;x-amz-date")
        #expect(Self.signer.stringToSign(canonicalRequest: canonical, timestamp: "20150830T123600Z") == """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
            """)
    }

    /// The suite's session-token case: X-Amz-Security-Token is sent and signed.
    @Test func temporaryCredentialsSignTheSecurityToken() {
        let token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
        let signer = AWSSignatureV4(credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: Self.credentials.secretAccessKey,
                                                                sessionToken: token),
                                    region: "us-east-1", service: "service")
        let headers = signer.signatureHeaders(for: Self.request(Self.suite[0]), date: Self.date)
        #expect(headers.first { $0.name == "X-Amz-Security-Token" }?.value == token)
        #expect(headers.first { $0.name == "Authorization" }?.value
            == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8")
    }

    /// AWS's documentation: the signing key for 20150830/us-east-1/iam.
    @Test func signingKeyDerivation() {
        let signer = AWSSignatureV4(credentials: Self.credentials, region: "us-east-1", service: "iam")
        let key = signer.signingKey(date: "20150830").withUnsafeBytes { Array($0) }
        #expect(AWSSignatureV4.hex(key) == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9")
    }

    /// Services other than S3 sign the path as sent, encoded once more: a Lambda function ARN's
    /// colons travel as %3A and are signed as %253A (as AWS's SDKs do).
    @Test func encodedPathsAreEncodedAgain() {
        #expect(AWSSignatureV4.canonicalPath("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ar/invocations")
            == "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A123456789012%253Afunction%253Ar/invocations")
        #expect(AWSSignatureV4.canonicalPath("/a/./b/../c/") == "/a/c/")
        #expect(AWSSignatureV4.canonicalPath("") == "/")
        #expect(AWSSignatureV4.canonicalQuery("b=2&a=x%20y&a=1&c") == "a=1&a=x%20y&b=2&c=")
    }
}
