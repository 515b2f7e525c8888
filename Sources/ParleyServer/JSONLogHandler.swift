import Foundation
import Logging
import ParleyCore

/// `--log-format json`: one JSON object per line on stderr (`time`, `level`, `message`, then the
/// metadata as strings), for journald, Loki or any log shipper.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra { all.merge(extra) { _, new in new } }
        var w = JSONText()
        w.beginObject()
        w.key("time"); w.string(Timestamp.format(Date()))
        w.key("level"); w.string(level.rawValue)
        w.key("message"); w.string(message.description)
        w.key("source"); w.string(source)
        for k in all.keys.sorted() where !["time", "level", "message", "source"].contains(k) {
            w.key(k); w.string("\(all[k].map { "\($0)" } ?? "")")
        }
        w.endObject()
        var bytes = w.bytes
        bytes.append(0x0A)
        // One write(2) per line: lines from several threads never interleave.
        bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}
