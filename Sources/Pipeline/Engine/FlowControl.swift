/// Backpressure: decides when the engine stops fetching and when it starts again. The engine holds
/// what it has read until Kafka acknowledged its alerts; when that grows past a bound (slow acks, a
/// stalled alerts topic, a full producer queue), fetching pauses instead of buffering more, and
/// resumes once below half of every bound (hysteresis, so it does not flap).
struct FlowControl {
    struct Load: Equatable {
        /// Batches read and not yet committed past.
        var uncommittedBatches: Int
        /// Bytes of events read and not yet acknowledged (open batches included).
        var unacknowledgedBytes: Int
        /// Messages in the producer's queue (not yet acknowledged by Kafka).
        var producerQueued: Int
    }

    enum Decision: Equatable {
        case pause(reason: String)
        case resume
        case keep
    }

    let maxBatches: Int
    let maxBytes: Int
    let maxProducerQueued: Int
    private(set) var paused = false

    init(maxBatches: Int, maxBytes: Int, maxProducerQueued: Int) {
        self.maxBatches = maxBatches
        self.maxBytes = maxBytes
        self.maxProducerQueued = maxProducerQueued
    }

    mutating func decide(_ load: Load) -> Decision {
        if !paused {
            let reason: String? =
                if load.uncommittedBatches >= maxBatches { "\(load.uncommittedBatches) batches in flight" }
                else if load.unacknowledgedBytes >= maxBytes { "\(load.unacknowledgedBytes) bytes in flight" }
                else if load.producerQueued >= maxProducerQueued { "\(load.producerQueued) messages in the producer's queue" }
                else { nil }
            guard let reason else { return .keep }
            paused = true
            return .pause(reason: reason)
        }
        if load.uncommittedBatches <= maxBatches / 2, load.unacknowledgedBytes <= maxBytes / 2,
           load.producerQueued <= maxProducerQueued / 2 {
            paused = false
            return .resume
        }
        return .keep
    }
}
