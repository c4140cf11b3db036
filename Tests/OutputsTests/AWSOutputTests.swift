import Foundation
@testable import Outputs
import Rules
import TestSupport
import Testing

/// The SQS and Lambda outputs against moto's server, which checks every request's SigV4
/// signature against the user the fixture created, and read back with boto3.
@Suite struct AWSSQSOutputTests {
    static func output(_ moto: MotoServerProcess, queueURL: String? = nil, secret: String? = nil, extra: String = "") throws -> AWSSQSOutput {
        try #require(try OutputFixtures.make("""
            name: sqs
            type: aws_sqs
            queue_url: \(queueURL ?? moto.resources.queueUrl)
            region: eu-west-1
            access_key_id: \(moto.resources.accessKeyId)
            secret_access_key: \(secret ?? moto.resources.secretAccessKey)
            endpoint_url: \(moto.endpoint)
            timeout: 60s

            """ + extra) as? AWSSQSOutput)
    }

    @Test func eachAlertIsAMessageWithItsAttributesSingleAndInBatches() async throws {
        let moto = try await MotoServerProcess.start()
        let output = try Self.output(moto)
        defer { Task { await output.shutdown() } }
        let single = OutputAlerts.alert(rule: "Terminal shell in container", priority: .critical, customFields: ["env": "prod"])
        let batch = OutputAlerts.batch(7)
        try await output.deliver([single])
        try await output.deliver(batch)

        let received = try await moto.receive(moto.resources.queueUrl, count: 8)
        #expect(received.count == 8)
        let bodies = Set(received.map(\.body))
        #expect(bodies == Set(([single] + batch).map { String(decoding: $0.json, as: UTF8.self) }))
        let critical = try #require(received.first { $0.attributes["priority"] == "Critical" })
        #expect(critical.attributes == ["priority": "Critical", "rule": "Terminal shell in container", "cluster": "prod-eu", "source": "k8s_audit"])
        let payload = try JSONSerialization.jsonObject(with: Data(critical.body.utf8)) as? [String: Any]
        #expect((payload?["output_fields"] as? [String: Any])?["env"] as? String == "prod")
        let requests = try moto.recordedRequests().filter { $0.header("X-Amz-Target")?.hasPrefix("AmazonSQS.Send") == true }
        #expect(requests.map { $0.header("X-Amz-Target") } == ["AmazonSQS.SendMessage", "AmazonSQS.SendMessageBatch"])
        #expect(requests.allSatisfy { $0.header("Authorization")?.hasPrefix("AWS4-HMAC-SHA256 Credential=\(moto.resources.accessKeyId)/") == true })
    }

    /// FIFO queues: the group from the template, the alert's id as deduplication id, so SQS
    /// keeps one message of an alert sent twice.
    @Test func aFIFOQueueGroupsByClusterAndDropsAResentAlert() async throws {
        let moto = try await MotoServerProcess.start()
        let output = try Self.output(moto, queueURL: moto.resources.fifoQueueUrl)
        defer { Task { await output.shutdown() } }
        let alert = OutputAlerts.alert()
        try await output.deliver([alert])
        try await output.deliver([alert])
        let received = try await moto.receive(moto.resources.fifoQueueUrl, count: 2)
        #expect(received.count == 1)
        #expect(received.first?.groupId == "prod-eu")
        #expect(received.first?.deduplicationId == alert.alert.id)
    }

    /// moto recomputes each signature with the user's real secret: a wrong one is refused (403),
    /// which no retry can change.
    @Test func aWrongSecretIsPermanentForSQSAndLambda() async throws {
        let moto = try await MotoServerProcess.start()
        let sqs = try Self.output(moto, secret: "not-the-secret")
        defer { Task { await sqs.shutdown() } }
        let lambda = try AWSLambdaOutputTests.output(moto, secret: "not-the-secret")
        defer { Task { await lambda.shutdown() } }
        for output in [sqs, lambda] as [any AlertOutput] {
            let failure = try #require(await OutputTestSupport.failure { try await output.deliver([OutputAlerts.alert()]) })
            #expect(failure.kind == .permanent)
            #expect(failure.reason.contains("HTTP 403 SignatureDoesNotMatch"))
        }
    }

    @Test func aQueueThatDoesNotExistIsPermanent() async throws {
        let moto = try await MotoServerProcess.start()
        let output = try Self.output(moto, queueURL: moto.endpoint + "/123456789012/no-such-queue")
        defer { Task { await output.shutdown() } }
        let failure = try #require(await OutputTestSupport.failure { try await output.deliver([OutputAlerts.alert()]) })
        #expect(failure.kind == .permanent)
        #expect(failure.reason.contains("QueueDoesNotExist"))
    }
}

@Suite struct AWSLambdaOutputTests {
    static func output(_ moto: MotoServerProcess, function: String = "falco-responder", secret: String? = nil,
                       extra: String = "") throws -> AWSLambdaOutput {
        try #require(try OutputFixtures.make("""
            name: responder
            type: aws_lambda
            function_name: '\(function)'
            region: eu-west-1
            access_key_id: \(moto.resources.accessKeyId)
            secret_access_key: \(secret ?? moto.resources.secretAccessKey)
            endpoint_url: \(moto.endpoint)
            timeout: 60s

            """ + extra) as? AWSLambdaOutput)
    }

    static func invocations(_ moto: MotoServerProcess) throws -> [MotoServerProcess.RecordedRequest] {
        try moto.recordedRequests().filter { $0.url.hasSuffix("/invocations") || $0.url.contains("/invocations?") }
    }

    /// What moto can verify without Docker: it checks the request's signature and the user's
    /// permission, accepts the Event invocation (202) and records the request; its Lambda runs
    /// no code. The recording shows the path, the invocation type and the payload it received.
    @Test func anEventInvocationCarriesTheAlertAsItsPayload() async throws {
        let moto = try await MotoServerProcess.start()
        let output = try Self.output(moto)
        defer { Task { await output.shutdown() } }
        let alert = OutputAlerts.alert(priority: .critical, customFields: ["team": "platform"])
        try await output.deliver([alert])

        let invocation = try #require(try Self.invocations(moto).last)
        #expect(invocation.method == "POST")
        #expect(invocation.url == "\(moto.endpoint)/2015-03-31/functions/falco-responder/invocations")
        #expect(invocation.header("X-Amz-Invocation-Type") == "Event")
        #expect(invocation.bodyBytes == alert.json)
        #expect(String(decoding: invocation.bodyBytes, as: UTF8.self).contains(#""team":"platform""#))
    }
}

/// How AWS's error answers are classified, from a strict local receiver answering as AWS
/// documents (moto cannot be made to throttle or fail).
@Suite struct AWSErrorClassificationTests {
    static let keys = "access_key_id: AKIDEXAMPLE\nsecret_access_key: secret\nregion: eu-west-1\n"

    static func sqs(_ receiver: HTTPTestReceiver) throws -> AWSSQSOutput {
        try #require(try OutputFixtures.make("""
            name: sqs
            type: aws_sqs
            queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/q
            endpoint_url: \(receiver.baseURL)
            timeout: 5s

            """ + keys) as? AWSSQSOutput)
    }

    static func lambda(_ receiver: HTTPTestReceiver) throws -> AWSLambdaOutput {
        try #require(try OutputFixtures.make("name: l\ntype: aws_lambda\nfunction_name: f\nendpoint_url: '\(receiver.baseURL)'\ntimeout: 5s\n" + keys)
            as? AWSLambdaOutput)
    }

    static func failure(_ output: any AlertOutput, _ alerts: [OutputAlert] = [OutputAlerts.alert()]) async -> DeliveryFailure? {
        await OutputTestSupport.failure { try await output.deliver(alerts) }
    }

    @Test func sqsThrottlingAndServiceFaultsAreTransientRefusalsPermanent() async throws {
        let receiver = try await HTTPTestReceiver()
        let output = try Self.sqs(receiver)
        defer { Task { await output.shutdown() } }
        receiver.script(
            ScriptedReply(status: 400, body: #"{"__type":"com.amazonaws.sqs#ThrottlingException","message":"Rate exceeded"}"#),
            ScriptedReply(status: 500, body: #"{"__type":"com.amazonaws.sqs#InternalError","message":"oops"}"#),
            ScriptedReply(status: 400, body: #"{"__type":"com.amazonaws.sqs#InvalidParameterValue","message":"bad"}"#),
            ScriptedReply(status: 200, body: #"{"MessageId":"m1","MD5OfMessageBody":"00000000000000000000000000000000"}"#))
        let throttled = try #require(await Self.failure(output))
        #expect(throttled.kind.isTransient)
        #expect(throttled.reason.contains("HTTP 400 ThrottlingException: Rate exceeded"))
        #expect(try #require(await Self.failure(output)).kind.isTransient)
        let invalid = try #require(await Self.failure(output))
        #expect(invalid.kind == .permanent)
        #expect(invalid.reason.contains("InvalidParameterValue"))
        let altered = try #require(await Self.failure(output))
        #expect(altered.kind.isTransient)
        #expect(altered.reason.contains("MD5"))

        let request = try #require(receiver.requests.first)
        #expect(request.header("Content-Type") == "application/x-amz-json-1.0")
        #expect(request.header("X-Amz-Target") == "AmazonSQS.SendMessage")
        let body = try request.json()
        #expect(body["QueueUrl"]?.string == "https://sqs.eu-west-1.amazonaws.com/123456789012/q")
        #expect(body["MessageAttributes"]?["priority"]?["DataType"]?.string == "String")
        #expect(request.header("Authorization")?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") == true)
        #expect(request.header("Authorization")?.contains("/eu-west-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target,") == true)
    }

    /// Entries SQS refuses fail the batch: transient unless every refusal is the sender's fault.
    @Test func refusedBatchEntries() async throws {
        let receiver = try await HTTPTestReceiver()
        let output = try Self.sqs(receiver)
        defer { Task { await output.shutdown() } }
        let alerts = OutputAlerts.batch(2)
        let digests = alerts.map { AWSSQSOutput.md5Hex($0.json) }
        receiver.script(
            ScriptedReply(status: 200, body: """
                {"Successful":[{"Id":"0","MessageId":"a","MD5OfMessageBody":"\(digests[0])"}],
                 "Failed":[{"Id":"1","SenderFault":false,"Code":"InternalError","Message":"try later"}]}
                """),
            ScriptedReply(status: 200, body: """
                {"Successful":[],"Failed":[{"Id":"0","SenderFault":true,"Code":"InvalidMessageContents"},
                 {"Id":"1","SenderFault":true,"Code":"InvalidMessageContents"}]}
                """),
            ScriptedReply(status: 200, body: """
                {"Successful":[{"Id":"0","MessageId":"a","MD5OfMessageBody":"\(digests[0])"},{"Id":"1","MessageId":"b","MD5OfMessageBody":"\(digests[1])"}]}
                """))
        let partly = try #require(await Self.failure(output, alerts))
        #expect(partly.kind.isTransient)
        #expect(partly.reason.contains("1 of 2 messages refused (1: InternalError try later)"))
        #expect(try #require(await Self.failure(output, alerts)).kind == .permanent)
        #expect(await Self.failure(output, alerts) == nil)
        let entries = try #require(receiver.requests.first).json()["Entries"]
        #expect(entries?[0]?["Id"]?.string == "0")
        #expect(entries?[1]?["MessageBody"]?.string == String(decoding: alerts[1].json, as: UTF8.self))
    }

    @Test func lambdaThrottlingFunctionErrorsAndMissingFunctions() async throws {
        let receiver = try await HTTPTestReceiver()
        let output = try Self.lambda(receiver)
        defer { Task { await output.shutdown() } }
        receiver.script(
            ScriptedReply(status: 429, headers: [("X-Amzn-ErrorType", "TooManyRequestsException"), ("Retry-After", "3")],
                          body: #"{"Type":"User","message":"Rate Exceeded."}"#),
            ScriptedReply(status: 202, headers: [("X-Amz-Function-Error", "Unhandled")], body: #"{"errorMessage":"boom"}"#),
            ScriptedReply(status: 404, headers: [("X-Amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.lambda/")],
                          body: #"{"Type":"User","Message":"Function not found: f"}"#),
            ScriptedReply(status: 502, headers: [("X-Amzn-ErrorType", "ResourceNotReadyException")], body: "{}"))
        #expect(try #require(await Self.failure(output)).kind == .transient(retryAfter: .seconds(3)))
        let functionError = try #require(await Self.failure(output))
        #expect(functionError.kind.isTransient)
        #expect(functionError.reason.contains("failed (Unhandled): {\"errorMessage\":\"boom\"}"))
        let missing = try #require(await Self.failure(output))
        #expect(missing.kind == .permanent)
        #expect(missing.reason.contains("HTTP 404 ResourceNotFoundException: Function not found: f"))
        #expect(try #require(await Self.failure(output)).kind.isTransient)
        let request = try #require(receiver.requests.first)
        #expect(request.path == "/2015-03-31/functions/f/invocations")
        #expect(request.header("X-Amz-Invocation-Type") == "Event")
        #expect(request.header("Authorization")?.contains("/eu-west-1/lambda/aws4_request") == true)
    }

    /// A function named by its ARN (colons %3A in the path, signed encoded once more) with a
    /// qualifier, synchronous: moto cannot check these signatures (it signs the decoded path;
    /// boto3's own requests fail there the same way), so botocore recomputes the signature of
    /// the request exactly as the receiver got it, as AWS would.
    @Test func aFunctionARNWithAQualifierIsSignedAsBotocoreSignsIt() async throws {
        let receiver = try await HTTPTestReceiver(reply: ScriptedReply(status: 200, body: "{}"))
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:falco-responder"
        let output = try #require(try OutputFixtures.make("""
            name: l
            type: aws_lambda
            function_name: '\(arn)'
            qualifier: $LATEST
            invocation_type: request_response
            endpoint_url: \(receiver.baseURL)

            """ + Self.keys) as? AWSLambdaOutput)
        defer { Task { await output.shutdown() } }
        let alert = OutputAlerts.alert()
        try await output.deliver([alert])

        let request = try #require(receiver.requests.first)
        #expect(request.path == "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Afalco-responder/invocations")
        #expect(request.query == "Qualifier=%24LATEST")
        #expect(request.header("X-Amz-Invocation-Type") == "RequestResponse")
        #expect(request.body == alert.json)
        let (signature, canonical) = try await AWSFixtureScript.botocoreSignature(
            of: request, url: receiver.url(request.path + "?" + (request.query ?? "")), secret: "secret", region: "eu-west-1", service: "lambda")
        #expect(canonical.contains("/2015-03-31/functions/arn%253Aaws%253Alambda%253Aeu-west-1%253A123456789012%253Afunction%253Afalco-responder/invocations\nQualifier=%24LATEST\n"))
        #expect(request.header("Authorization")?.hasSuffix("Signature=" + signature) == true)
    }

    @Test func nothingListeningIsTransient() async throws {
        let port = try FreePort.allocate()
        let output = try #require(try OutputFixtures.make(
            "name: l\ntype: aws_lambda\nfunction_name: f\nendpoint_url: 'http://127.0.0.1:\(port)'\ntimeout: 3s\n" + Self.keys) as? AWSLambdaOutput)
        defer { Task { await output.shutdown() } }
        #expect(try #require(await Self.failure(output)).kind.isTransient)
    }
}

/// AWS settings: credentials and region from settings or the environment, errors at their place.
@Suite struct AWSConfigurationTests {
    @Test func regionAndCredentialsComeFromSettingsTheResourceOrTheEnvironment() throws {
        let sqs = try #require(try OutputFixtures.definition("{name: q, type: aws_sqs, queue_url: 'https://sqs.ap-south-1.amazonaws.com/1/q'}")
            .configuration as? AWSSQSOutput.Configuration)
        #expect(sqs.regionInQueueURL == "ap-south-1")
        #expect(try sqs.aws.region(output: "q", fromResource: sqs.regionInQueueURL, environment: ["AWS_REGION": "us-east-1"]) == "ap-south-1")
        let environment = ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"]
        #expect(try sqs.aws.credentials(output: "q", environment: environment) == AWSCredentials(accessKeyID: "AKIAENV", secretAccessKey: "s", sessionToken: "t"))
        #expect(throws: OutputSetupError.self) { try sqs.aws.credentials(output: "q", environment: [:]) }

        let lambda = try #require(try OutputFixtures.definition("""
            {name: l, type: aws_lambda, function_name: 'arn:aws:lambda:eu-central-1:123456789012:function:f', region: us-west-2,
             access_key_id: AKIA1, secret_access_key: s}
            """).configuration as? AWSLambdaOutput.Configuration)
        #expect(lambda.regionInARN == "eu-central-1")
        #expect(try lambda.aws.region(output: "l", fromResource: lambda.regionInARN, environment: [:]) == "us-west-2")
        #expect(try lambda.aws.credentials(output: "l", environment: environment).accessKeyID == "AKIA1")
        #expect(lambda.invocationType == .event)
        #expect(throws: OutputSetupError.self) {
            try OutputFixtures.definition("{name: l, type: aws_lambda, function_name: f}").makeOutput(context: OutputTestSupport.context)
        }
    }

    @Test func badSettingsAreErrorsAtTheirPlace() {
        #expect(OutputFixtures.errors("name: q\ntype: aws_sqs\nqueue_url: sqs/q\n")
            == ["outputs.yaml:3:12: queue_url: 'sqs/q' is not an http:// or https:// URL with a host"])
        #expect(OutputFixtures.errors("name: l\ntype: aws_lambda\nfunction_name: 'my function'\n")
            == ["outputs.yaml:3:16: function_name: 'my function' is not a Lambda function name, partial ARN or ARN (letters, digits, '-', '_', and ':' in ARNs)"])
        #expect(OutputFixtures.errors("name: l\ntype: aws_lambda\nfunction_name: f\naccess_key_id: AKIA\n")
            == ["outputs.yaml:4:16: access_key_id: access_key_id and secret_access_key go together"])
        #expect(OutputFixtures.errors("name: l\ntype: aws_lambda\nfunction_name: f\nregion: Europe\n")
            == ["outputs.yaml:4:9: region: 'Europe' is not an AWS region name (like eu-west-1)"])
        #expect(OutputFixtures.errors("name: l\ntype: aws_lambda\nfunction_name: f\ninvocation_type: sync\n").first?.hasPrefix("outputs.yaml:4:18: invocation_type:") == true)
    }
}
