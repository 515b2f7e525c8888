import Foundation
import ParleyCore
import Synchronization

/// One item for a live stream.
enum LiveItem: Sendable {
    /// A durable ticket event; `global` orders it on the agent stream.
    case event(TicketSummary, TicketEvent, global: UInt64)
    /// Someone is typing (relayed, never stored).
    case typing(ticket: String, by: EventActor, text: String?)
    case heartbeat
}

/// Fans durable events and typing signals out to live streams (SSE and long-polls).
///
/// Each subscriber has a bounded buffer: a consumer that falls that far behind is cut off (its
/// stream ends) instead of being buffered without bound; its browser reconnects with
/// `Last-Event-ID` and gets what it missed from the log. Agent streams resume from a ring of
/// recent events numbered within this server run (`bootID.n`), or are told to reset.
final class LiveHub: Sendable {
    struct Subscriber: Sendable {
        let continuation: AsyncStream<LiveItem>.Continuation
        /// Ticket streams: the ticket. Agent streams: nil.
        let ticket: String?
        /// Agent streams: which widgets the agent may see.
        let canSee: (@Sendable (String) -> Bool)?
        let agentID: String?
    }
    struct RingEntry: Sendable { let global: UInt64; let summary: TicketSummary; let event: TicketEvent }
    private struct State {
        var subscribers: [UInt64: Subscriber] = [:]
        var byTicket: [String: Set<UInt64>] = [:]
        var agentSubscribers: Set<UInt64> = []
        var ring: [RingEntry] = []
        var ringStart = 0
        var global: UInt64 = 0
        var nextID: UInt64 = 1
        var cutOff = 0
        /// Streams cut off inside the lock, finished after it (finishing runs onTermination,
        /// which takes the lock again).
        var toFinish: [AsyncStream<LiveItem>.Continuation] = []
    }
    private let state = Mutex(State())
    let bootID: String
    let bufferLimit: Int
    let ringCapacity: Int

    init(bufferLimit: Int = 512, ringCapacity: Int = 10_000) {
        bootID = Tokens.random(bytes: 6)
        self.bufferLimit = bufferLimit
        self.ringCapacity = ringCapacity
    }

    /// Streams cut off for being slow, since start.
    var cutOffCount: Int { state.withLock { $0.cutOff } }
    var streamCount: Int { state.withLock { $0.subscribers.count } }
    /// Open streams: (visitors', agents').
    var streamCounts: (visitor: Int, agent: Int) { state.withLock { s in (s.subscribers.count - s.agentSubscribers.count, s.agentSubscribers.count) } }
    /// Agents with a live stream open (the "no agent online" rule uses this).
    var onlineAgents: Set<String> { state.withLock { s in Set(s.agentSubscribers.compactMap { s.subscribers[$0]?.agentID }) } }

    func subscribe(ticket: String) -> (UInt64, AsyncStream<LiveItem>) {
        let (stream, cont) = AsyncStream<LiveItem>.makeStream(bufferingPolicy: .bufferingOldest(bufferLimit))
        let id = state.withLock { s -> UInt64 in
            let id = s.nextID; s.nextID += 1
            s.subscribers[id] = Subscriber(continuation: cont, ticket: ticket, canSee: nil, agentID: nil)
            s.byTicket[ticket, default: []].insert(id)
            return id
        }
        cont.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return (id, stream)
    }

    /// Subscribes an agent stream. With `lastEventID`, returns the ring entries it missed, or
    /// nil when they are no longer known (the client must reset).
    func subscribeAgent(agentID: String, canSee: @escaping @Sendable (String) -> Bool, lastEventID: String?)
        -> (UInt64, AsyncStream<LiveItem>, replay: [RingEntry]?, current: UInt64)
    {
        let (stream, cont) = AsyncStream<LiveItem>.makeStream(bufferingPolicy: .bufferingOldest(bufferLimit))
        let result = state.withLock { s -> (UInt64, [RingEntry]?, UInt64) in
            let id = s.nextID; s.nextID += 1
            s.subscribers[id] = Subscriber(continuation: cont, ticket: nil, canSee: canSee, agentID: agentID)
            s.agentSubscribers.insert(id)
            var replay: [RingEntry]? = []
            if let last = lastEventID {
                replay = nil
                let parts = last.split(separator: ".")
                if parts.count == 2, parts[0] == bootID, let n = UInt64(parts[1]), n <= s.global {
                    let live = s.ring[s.ringStart...]
                    let oldest = live.first?.global ?? (s.global + 1)
                    if n + 1 >= oldest || n == s.global {
                        replay = live.filter { $0.global > n && canSee($0.summary.widget) }
                    }
                }
            }
            return (id, replay, s.global)
        }
        cont.onTermination = { [weak self] _ in self?.unsubscribe(result.0) }
        return (result.0, stream, result.1, result.2)
    }

    func unsubscribe(_ id: UInt64) {
        state.withLock { s in
            guard let sub = s.subscribers.removeValue(forKey: id) else { return }
            if let t = sub.ticket {
                s.byTicket[t]?.remove(id)
                if s.byTicket[t]?.isEmpty == true { s.byTicket[t] = nil }
            }
            s.agentSubscribers.remove(id)
        }
    }

    /// Called by the store once events are durable (in seq order per ticket).
    func publish(_ summary: TicketSummary, _ events: [TicketEvent]) {
        defer { finishCutOff() }
        // Yields happen under the lock so every stream sees events in global order.
        state.withLock { s in
            for e in events {
                s.global += 1
                let entry = RingEntry(global: s.global, summary: summary, event: e)
                s.ring.append(entry)
                if s.ring.count - s.ringStart > ringCapacity {
                    s.ringStart += 1
                    if s.ringStart > ringCapacity { s.ring.removeFirst(s.ringStart); s.ringStart = 0 }
                }
                let item = LiveItem.event(summary, e, global: s.global)
                for id in s.byTicket[summary.id] ?? [] { Self.deliver(item, to: id, in: &s) }
                for id in s.agentSubscribers {
                    if let sub = s.subscribers[id], sub.canSee?(summary.widget) == true { Self.deliver(item, to: id, in: &s) }
                }
            }
        }
    }

    /// Relays a typing signal: to the ticket's visitor streams and/or to agents who can see it.
    func publishTyping(ticket: String, widget: String, by: EventActor, text: String?, toVisitor: Bool, toAgents: Bool) {
        defer { finishCutOff() }
        state.withLock { s in
            let item = LiveItem.typing(ticket: ticket, by: by, text: text)
            if toVisitor { for id in s.byTicket[ticket] ?? [] { Self.deliver(item, to: id, in: &s) } }
            if toAgents {
                for id in s.agentSubscribers {
                    if let sub = s.subscribers[id], sub.canSee?(widget) == true, sub.agentID != by.id { Self.deliver(item, to: id, in: &s) }
                }
            }
        }
    }

    /// Sends a heartbeat to every stream (keeps proxies from closing idle streams, finds dead clients).
    func heartbeat() {
        defer { finishCutOff() }
        state.withLock { s in for id in Array(s.subscribers.keys) { Self.deliver(.heartbeat, to: id, in: &s) } }
    }

    /// Ends every stream (shutdown).
    func finishAll() {
        let subs = state.withLock { s -> [Subscriber] in Array(s.subscribers.values) }
        for sub in subs { sub.continuation.finish() }
    }

    private func finishCutOff() {
        let list = state.withLock { s -> [AsyncStream<LiveItem>.Continuation] in
            defer { s.toFinish = [] }
            return s.toFinish
        }
        for c in list { c.finish() }
    }

    private static func deliver(_ item: LiveItem, to id: UInt64, in s: inout State) {
        guard let sub = s.subscribers[id] else { return }
        if case .dropped = sub.continuation.yield(item) {
            // Too slow: cut it off; it resumes from the log on reconnect.
            s.subscribers[id] = nil
            s.agentSubscribers.remove(id)
            if let t = sub.ticket { s.byTicket[t]?.remove(id) }
            s.cutOff += 1
            s.toFinish.append(sub.continuation)
        }
    }
}
