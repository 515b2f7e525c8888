import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ParleyCore
import ServiceLifecycle

/// Server-Sent Events framing and the two live streams (visitor: one ticket; agent: all it may see).
enum SSE {
    static let headers: HTTPFields = [
        .contentType: "text/event-stream; charset=utf-8",
        .cacheControl: "no-store",
        .accelBuffering: "no",  // nginx: do not buffer the stream
    ]

    static func frame(id: String?, event: String?, data: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer()
        if let id { b.writeString("id: \(id)\n") }
        if let event { b.writeString("event: \(event)\n") }
        b.writeString("data: "); b.writeBytes(data); b.writeString("\n\n")
        return b
    }

    static func typingJSON(ticket: String, by: EventActor, text: String?) -> [UInt8] {
        var w = JSONText()
        w.beginObject()
        w.key("ticket"); w.string(ticket)
        w.key("by"); w.beginObject(); w.key("kind"); w.string(by.kind.rawValue); w.field("id", by.id); w.field("name", by.name); w.endObject()
        w.field("text", text)
        w.endObject()
        return w.bytes
    }

    /// The visitor's stream of one ticket: backlog after `after`, then live events; ids are seqs,
    /// so a reconnect with `Last-Event-ID` gets exactly what it missed.
    static func visitorStream(services: ParleyServices, ticket: String, after: Int, view: VisitorView) async throws -> Response {
        let hub = services.hub
        // Subscribe before reading the backlog so nothing falls between the two; dedupe by seq.
        let (subID, stream) = hub.subscribe(ticket: ticket)
        let backlog: [TicketEvent]
        do { backlog = try await services.store.events(ticket: ticket, after: after) } catch {
            hub.unsubscribe(subID); throw error
        }
        let retryMillis = 3000
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { hub.unsubscribe(subID) }
            var last = after
            var first = ByteBuffer(string: "retry: \(retryMillis)\n\n")
            for e in backlog where e.seq > last {
                last = e.seq
                if !view.shows(e) { continue }
                var f = frame(id: "\(e.seq)", event: nil, data: view.present(e).json())
                first.writeBuffer(&f)
            }
            try await writer.write(first)
            // Ends on graceful shutdown; the browser reconnects (after `retry`) to the next server.
            for try await item in stream.cancelOnGracefulShutdown() {
                switch item {
                case .event(_, let e, _):
                    guard e.seq > last else { continue }
                    last = e.seq
                    if !view.shows(e) { continue }
                    try await writer.write(frame(id: "\(e.seq)", event: nil, data: view.present(e).json()))
                case .typing(let t, let by, _):
                    try await writer.write(frame(id: nil, event: "typing", data: typingJSON(ticket: t, by: view.actor(by), text: nil)))
                case .heartbeat:
                    try await writer.write(ByteBuffer(string: ": ping\n\n"))
                }
            }
            try await writer.write(ByteBuffer(string: SSE.goingAway))
            try await writer.finish(nil)
        })
    }

    /// The last lines of a stream the server ends (a shutdown, a restart): the browser waits a
    /// little longer before it reconnects, so it finds the next server up, and resumes from
    /// its `Last-Event-ID`.
    static let goingAway = "retry: \(restartRetryMillis)\n: the server is restarting; reconnect later\n\n"
    static let restartRetryMillis = 5000

    /// The agent's stream: every event of every ticket the agent may see, as
    /// `{"ticket":summary,"event":event}`, with ids `boot.n`; a resume that cannot be served gets
    /// `event: reset` and the client reloads its list.
    static func agentStream(services: ParleyServices, agent: Agent, cookie: String, lastEventID: String?) -> Response {
        let hub = services.hub
        // Access is read once per stream (this runs under the hub's lock for every event); the
        // heartbeat ends the stream with `reset` when an admin changes it, and the browser
        // reloads its list and reconnects with the new access.
        let canSee: @Sendable (String) -> Bool = { widget in agent.canSee(widget: widget) }
        let (subID, stream, replay, current) = hub.subscribeAgent(agentID: agent.id, canSee: canSee, lastEventID: lastEventID)
        let boot = hub.bootID
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { hub.unsubscribe(subID) }
            var first = ByteBuffer(string: "retry: 3000\n\n")
            if let replay {
                for r in replay {
                    var f = frame(id: "\(boot).\(r.global)", event: nil, data: entryJSON(r.summary, r.event))
                    first.writeBuffer(&f)
                }
                if replay.isEmpty && lastEventID == nil {
                    var f = frame(id: "\(boot).\(current)", event: "hello", data: Array("{}".utf8))
                    first.writeBuffer(&f)
                }
            } else {
                var f = frame(id: "\(boot).\(current)", event: "reset", data: Array("{}".utf8))
                first.writeBuffer(&f)
            }
            try await writer.write(first)
            // Ends on graceful shutdown; the browser reconnects (after `retry`) to the next server.
            for try await item in stream.cancelOnGracefulShutdown() {
                switch item {
                case .event(let s, let e, let g):
                    try await writer.write(frame(id: "\(boot).\(g)", event: nil, data: entryJSON(s, e)))
                case .typing(let t, let by, let text):
                    try await writer.write(frame(id: nil, event: "typing", data: typingJSON(ticket: t, by: by, text: text)))
                case .heartbeat:
                    // A stream lives no longer than its session, nor than the access it was opened with.
                    guard let current = services.sessions.verify(cookie, config: services.config) else {
                        try await writer.write(frame(id: nil, event: "signed-out", data: Array("{}".utf8)))
                        try await writer.finish(nil)
                        return
                    }
                    guard current.widgets == agent.widgets, current.role == agent.role, current.teamWidgets == agent.teamWidgets else {
                        try await writer.write(frame(id: nil, event: "reset", data: Array("{}".utf8)))
                        try await writer.finish(nil)
                        return
                    }
                    try await writer.write(ByteBuffer(string: ": ping\n\n"))
                }
            }
            try await writer.write(ByteBuffer(string: SSE.goingAway))
            try await writer.finish(nil)
        })
    }

    static func entryJSON(_ s: TicketSummary, _ e: TicketEvent) -> [UInt8] {
        var w = JSONText()
        w.beginObject(); w.key("ticket"); w.raw(s.json()); w.key("event"); w.raw(e.json()); w.endObject()
        return w.bytes
    }
}
