import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ParleyCore
import Prometheus
import Synchronization

/// What `GET /metrics` reports, in Prometheus text format. Labels hold route patterns
/// (`/api/tickets/{ticket}/messages`), methods and statuses only: never an id, email or text.
public final class ParleyMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let requestCounters = Mutex<[String: Counter]>([:])
    private let durations = Mutex<[String: DurationHistogram]>([:])
    static let durationBuckets: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                              .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                              .seconds(2.5), .seconds(5), .seconds(10)]
    let syncLatency: DurationHistogram
    let batchSize: ValueHistogram
    let uploadBytes: Counter
    private let checkpoints: Counter
    private let lastCheckpoints = Mutex(0)
    private let streams: [Gauge]
    private let tickets: [TicketStatus: Gauge]

    init() {
        let registry = self.registry
        syncLatency = registry.makeDurationHistogram(
            name: "parley_commit_sync_seconds",
            buckets: [.microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                      .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1)],
            help: "Time to write and fsync one group-commit batch (the journal).")
        batchSize = registry.makeValueHistogram(name: "parley_commit_batch_records", buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
                                                help: "Records per group-commit batch (one fsync each).")
        uploadBytes = registry.makeCounter(name: "parley_upload_bytes_total", help: "Attachment bytes received.")
        checkpoints = registry.makeCounter(name: "parley_checkpoints_total", help: "Checkpoints: ticket logs synced and the journal emptied.")
        streams = ["visitor", "agent"].map {
            registry.makeGauge(name: "parley_live_streams", labels: [("kind", $0)], help: "Open live (SSE) streams.")
        }
        var t: [TicketStatus: Gauge] = [:]
        for s in [TicketStatus.open, .pending, .closed] {
            t[s] = registry.makeGauge(name: "parley_tickets", labels: [("status", s.rawValue)], help: "Tickets by status.")
        }
        tickets = t
    }

    /// One answered request: its route pattern (or `unmatched`: assets, 404s), method, status, time.
    func request(route: String, method: String, status: Int, duration: Duration) {
        let key = "\(route) \(method) \(status)"
        let counter = requestCounters.withLock { d in
            if let c = d[key] { return c }
            let c = registry.makeCounter(name: "parley_http_requests_total",
                                         labels: [("route", route), ("method", method), ("status", "\(status)")],
                                         help: "HTTP requests answered, by route pattern, method and status.")
            d[key] = c
            return c
        }
        counter.increment()
        let hkey = "\(route) \(method)"
        let histogram = durations.withLock { d in
            if let h = d[hkey] { return h }
            let h = registry.makeDurationHistogram(name: "parley_http_request_duration_seconds", labels: [("route", route), ("method", method)],
                                                   buckets: Self.durationBuckets, help: "Time to answer, by route pattern and method.")
            d[hkey] = h
            return h
        }
        histogram.record(duration)
    }

    /// The text of `GET /metrics`, with the gauges read now.
    func render(_ services: ParleyServices) -> [UInt8] {
        let (visitors, agents) = services.hub.streamCounts
        streams[0].set(Double(visitors)); streams[1].set(Double(agents))
        var counts: [TicketStatus: Int] = [:]
        for s in services.store.summaries() { counts[s.status, default: 0] += 1 }
        for (status, gauge) in tickets { gauge.set(Double(counts[status] ?? 0)) }
        let total = services.store.commitStats.checkpoints
        let delta = lastCheckpoints.withLock { last -> Int in defer { last = max(last, total) }; return max(0, total - last) }
        if delta > 0 { checkpoints.increment(by: Int64(delta)) }
        return registry.emitToBuffer()
    }
}
