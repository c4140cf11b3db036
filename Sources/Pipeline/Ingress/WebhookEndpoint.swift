import AuditModel
import Foundation
import Hummingbird
import Kafka
import Logging
import NIOCore
import Synchronization

/// `POST /k8s-audit[/<cluster>]`: one webhook request from a kube-apiserver, from credential to Kafka ack.
///
/// 200 only once Kafka acknowledged every event of the request (and every reject). The apiserver resends a
/// batch on 429 and 5xx, so those answers mean "nothing lost, send it again"; 4xx others mean the batch can never
/// be taken and is counted as refused. An EventList with some items that are not audit events is answered 200:
/// its events are published and those items are in the rejects topic with the reason (resending would not make
/// them events, and the good ones must not be resent forever); the answer's body lists them.
struct WebhookEndpoint: Sendable {
    let settings: IngressSettings
    let producer: KafkaProducer
    let limiter: InFlightLimiter
    let authenticator: ClusterAuthenticator
    let builders: AuditRecordBuilderPool
    let metrics: IngressMetrics
    let logger: Logger

    func handle(_ request: Request, context: IngressRequestContext, pathCluster: String?) async -> Response {
        let started = ContinuousClock.now
        let response = await respond(request, context: context, pathCluster: pathCluster)
        metrics.request(status: Int(response.status.code))
        metrics.requestDuration.record(ContinuousClock.now - started)
        return response
    }

    private func respond(_ request: Request, context: IngressRequestContext, pathCluster: String?) async -> Response {
        let receivedAt = Timestamp.rfc3339(Self.nowNanoseconds())
        let channel = context.channel
        let decision = await authenticator.decide(pathCluster: pathCluster, authorization: request.headers[.authorization]) {
            await IngressTLS.clientCommonName(of: channel)
        }
        let cluster: String
        switch decision {
        case .cluster(let name): cluster = name
        case .unauthenticated(let reason):
            return IngressResponse.text(.unauthorized, "unauthorized: \(reason)", headers: [.wwwAuthenticate: "Bearer"])
        case .forbidden(let reason): return IngressResponse.text(.forbidden, "forbidden: \(reason)")
        case .invalidCluster(let reason): return refused(.badRequest, "bad cluster in the path: \(reason)")
        }

        let maxBody = settings.maxBodySize.bytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBody {
            return refused(.contentTooLarge, "the body is \(length) bytes, more than max_body_size (\(maxBody))")
        }
        let gzip: Bool
        switch request.headers[.contentEncoding]?.lowercased().trimmingCharacters(in: .whitespaces) {
        case nil, "", "identity": gzip = false
        case "gzip", "x-gzip": gzip = true
        case let other?: return refused(.unsupportedMediaType, "Content-Encoding '\(other)' is not supported: send gzip or nothing")
        }

        // Bytes count against the in-flight limit from the moment they arrive until Kafka has answered for them.
        let reservation = limiter.reserve()
        var body: ByteBuffer
        switch await BodyReader.read(request.body, limit: maxBody, reservation: reservation) {
        case .body(let read): body = read
        case .tooLarge: return refused(.contentTooLarge, "the body is more than max_body_size (\(maxBody) bytes)")
        case .overloaded: return overloaded()
        case .failed(let error): return IngressResponse.text(.badRequest, "the body could not be read: \(error)")
        }
        metrics.receivedBytes.increment(by: body.readableBytes)

        if gzip {
            switch BodyReader.gunzip(body, limit: maxBody, reservation: reservation) {
            case .body(let decoded): body = decoded
            case .tooLarge: return refused(.contentTooLarge, "the body decodes to more than max_body_size (\(maxBody) bytes)")
            case .overloaded: return overloaded()
            case .failed(let reason): return refused(.badRequest, "Content-Encoding is gzip, but \(reason)")
            }
        }
        metrics.decodedBytes.increment(by: body.readableBytes)

        let origin = RequestOrigin(cluster: cluster, receivedAt: receivedAt,
                                   sourceIP: channel.remoteAddress?.ipAddress ?? "")
        let records: BuiltRecords
        do {
            records = try body.withUnsafeReadableBytes { bytes throws(BodyProblem) in
                try builders.withBuilder { builder throws(BodyProblem) in try builder.build(bytes, origin: origin) }
            }
        } catch {
            return refused(.badRequest, error.message)
        }
        if !records.problems.isEmpty {
            logger.warning("EventList items sent to the rejects topic", metadata: [
                "cluster": "\(cluster)", "source": "\(origin.sourceIP)", "rejected": "\(records.problems.count)",
                "first": "item \(records.problems[0].index): \(records.problems[0].reason)",
            ])
        }
        return await publish(records, reservation: reservation, eventLoop: channel.eventLoop, cluster: cluster)
    }

    /// Hands the records to the producer and waits for Kafka's answer, at most produce_timeout. Past it the
    /// apiserver gets 503 at once; the records stay with the producer (which gives up on them after
    /// message.timeout.ms) and their bytes stay reserved until then.
    private func publish(_ records: BuiltRecords, reservation: InFlightLimiter.Reservation, eventLoop: any EventLoop,
                         cluster: String) async -> Response {
        let all = records.events + records.rejects
        guard !all.isEmpty else { return IngressResponse.accepted(events: 0, problems: []) }
        let timeout = settings.produceTimeout.duration
        let outcome: ProduceOutcome = await withCheckedContinuation { continuation in
            let answer = FirstAnswer(continuation)
            let timer = eventLoop.scheduleTask(in: .nanoseconds(Self.nanoseconds(timeout))) { answer.give(.timedOut) }
            let producer = self.producer, metrics = self.metrics
            Task {
                let started = ContinuousClock.now
                let results = await producer.send(all)
                metrics.produceDuration.record(ContinuousClock.now - started)
                reservation.release()
                timer.cancel()
                answer.give(.settled(results))
            }
        }
        switch outcome {
        case .timedOut:
            metrics.kafkaError("produce_timeout")
            logger.warning("Kafka did not acknowledge in time: answered 503", metadata: [
                "cluster": "\(cluster)", "events": "\(all.count)", "produce_timeout": "\(settings.produceTimeout)",
            ])
            return unavailable("Kafka did not acknowledge the events within \(settings.produceTimeout)")
        case .settled(let results):
            var failures: [String: (count: Int, error: KafkaError)] = [:]
            for case .failure(let error) in results { failures[error.name, default: (0, error)].count += 1 }
            guard !failures.isEmpty else {
                metrics.events.increment(by: records.events.count)
                metrics.rejectedEvents.increment(by: records.rejects.count)
                return IngressResponse.accepted(events: records.events.count, problems: records.problems)
            }
            for (name, failure) in failures { metrics.kafkaError(name, count: failure.count) }
            let summary = failures.values.map { "\($0.count) × \($0.error)" }.sorted().joined(separator: "; ")
            logger.warning("Kafka refused events: answered \(failures.values.contains { $0.error.isQueueFull } ? 429 : 503)",
                           metadata: ["cluster": "\(cluster)", "events": "\(all.count)", "errors": "\(summary)"])
            if failures.values.contains(where: { $0.error.isQueueFull }) {
                return overloaded("the Kafka producer's queue is full: \(summary)")
            }
            return unavailable("Kafka did not take every event: \(summary)")
        }
    }

    private enum ProduceOutcome: Sendable {
        case settled([Result<DeliveryReport, KafkaError>])
        case timedOut
    }

    // MARK: - Answers

    private var retryAfter: String {
        let (seconds, attoseconds) = settings.retryAfter.duration.components
        return "\(max(1, seconds + (attoseconds > 0 ? 1 : 0)))"
    }

    private func overloaded(_ reason: String? = nil) -> Response {
        IngressResponse.text(.tooManyRequests,
                             "too many bytes in flight (max_inflight_bytes \(limiter.limit)); retry later"
                                + (reason.map { ": \($0)" } ?? ""),
                             headers: [.retryAfter: retryAfter])
    }

    private func unavailable(_ reason: String) -> Response {
        IngressResponse.text(.serviceUnavailable, "\(reason); retry later", headers: [.retryAfter: retryAfter])
    }

    /// A body refused for good (the apiserver will not resend it): counted and logged, since its events are lost.
    private func refused(_ status: HTTPResponse.Status, _ message: String) -> Response {
        metrics.refusedBodies.increment()
        logger.warning("request refused: \(message)", metadata: ["status": "\(status.code)"])
        return IngressResponse.text(status, message)
    }

    static func nowNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// Resumes a continuation with the first answer given; later answers are ignored.
final class FirstAnswer<Value: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Value, Never>?>

    init(_ continuation: CheckedContinuation<Value, Never>) {
        self.continuation = Mutex(continuation)
    }

    func give(_ value: Value) {
        continuation.withLock { pending in
            defer { pending = nil }
            return pending
        }?.resume(returning: value)
    }
}
