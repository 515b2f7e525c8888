import Foundation
import ParleyCore
@testable import ParleyServer
import Testing

@Suite struct LiveHubTests {
    func event(_ seq: Int) -> TicketEvent {
        var e = TicketEvent(type: EventType.message, by: EventActor(kind: .visitor))
        e.seq = seq; e.at = Timestamp.format(Date()); e.text = "m\(seq)"
        return e
    }

    @Test func aSlowConsumerIsCutOffInsteadOfBufferedWithoutBound() async {
        let hub = LiveHub(bufferLimit: 4)
        var summary = TicketSummary(id: "20261121-aaaaaaaaaa")
        summary.widget = "demo"
        let (_, stream) = hub.subscribe(ticket: summary.id)
        for seq in 1...10 { hub.publish(summary, [event(seq)]) }
        #expect(hub.cutOffCount == 1)
        #expect(hub.streamCount == 0)
        var received: [Int] = []
        for await item in stream { if case .event(_, let e, _) = item { received.append(e.seq) } }
        #expect(received == [1, 2, 3, 4], "what was buffered is delivered, then the stream ends")
    }

    @Test func agentStreamsOnlySeeTheirWidgetsAndResumeFromTheRing() async {
        let hub = LiveHub(bufferLimit: 100, ringCapacity: 3)
        var a = TicketSummary(id: "20261121-aaaaaaaaaa"); a.widget = "demo"
        var b = TicketSummary(id: "20261121-bbbbbbbbbb"); b.widget = "other"
        let (_, stream, replay, start) = hub.subscribeAgent(agentID: "x", canSee: { $0 == "demo" }, lastEventID: nil)
        #expect(replay?.isEmpty == true)
        hub.publish(a, [event(1)]); hub.publish(b, [event(1)]); hub.publish(a, [event(2)])
        hub.finishAll()
        var seen: [String] = []
        for await item in stream { if case .event(let s, let e, _) = item { seen.append("\(s.widget)#\(e.seq)") } }
        #expect(seen == ["demo#1", "demo#2"])
        // Resume from the first event: the ring still holds what followed.
        let resumed = hub.subscribeAgent(agentID: "x", canSee: { $0 == "demo" }, lastEventID: "\(hub.bootID).\(start + 1)")
        #expect(resumed.replay?.map(\.event.seq) == [2])
        // Older than the ring, or from another run: reset.
        hub.publish(a, [event(3)]); hub.publish(a, [event(4)])
        #expect(hub.subscribeAgent(agentID: "x", canSee: { _ in true }, lastEventID: "\(hub.bootID).\(start)").replay == nil)
        #expect(hub.subscribeAgent(agentID: "x", canSee: { _ in true }, lastEventID: "zzz.1").replay == nil)
    }
}
