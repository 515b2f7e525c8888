import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ParleyCore

/// Small helpers to answer with JSON built by `JSONText`.
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status = .ok, _ build: (inout JSONText) -> Void) -> Response {
        var w = JSONText()
        build(&w)
        return make(status, bytes: w.bytes)
    }

    static func make(_ status: HTTPResponse.Status = .ok, bytes: [UInt8]) -> Response {
        Response(status: status,
                 headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func events(_ events: [TicketEvent], status: HTTPResponse.Status = .ok, extra: ((inout JSONText) -> Void)? = nil) -> Response {
        make(status) { w in
            w.beginObject()
            w.key("events"); w.beginArray(); for e in events { w.raw(e.json()) }; w.endArray()
            extra?(&w)
            w.endObject()
        }
    }
}

extension Request {
    /// Decodes a JSON body, refusing anything but JSON (which also blocks cross-site form posts).
    /// `emptyAs`: what an empty body means (for calls whose every field is optional).
    func decodeJSON<T: Decodable>(_ type: T.Type, context: ParleyContext, emptyAs: String? = nil) async throws -> T {
        if let ct = headers[.contentType], !ct.lowercased().hasPrefix("application/json") {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "Send the body as application/json.")
        }
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        do {
            if buffer.readableBytes == 0, let emptyAs { return try JSONDecoder().decode(T.self, from: Data(emptyAs.utf8)) }
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch let e as DecodingError {
            throw APIError(.badRequest, "invalid_json", "The request body is not valid: \(Self.describe(e))")
        }
    }

    private static func describe(_ e: DecodingError) -> String {
        switch e {
        case .keyNotFound(let k, _): return "missing field \"\(k.stringValue)\"."
        case .typeMismatch(_, let c), .valueNotFound(_, let c):
            return "field \"\(c.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type."
        case .dataCorrupted(let c) where !c.codingPath.isEmpty:
            return "field \"\(c.codingPath.map(\.stringValue).joined(separator: "."))\" has a value that is not allowed."
        case .dataCorrupted: return "it is not JSON."
        @unknown default: return "it does not match."
        }
    }

    /// A query parameter as an Int within bounds, or a 400 naming it.
    func intQuery(_ name: String, default def: Int, range: ClosedRange<Int>) throws -> Int {
        guard let s = uri.queryParameters.get(name) else { return def }
        guard let v = Int(s), range.contains(v) else {
            throw APIError(.badRequest, "invalid_query", "Query parameter \(name) must be an integer in \(range.lowerBound)…\(range.upperBound).")
        }
        return v
    }
}

extension Data {
    init(buffer: ByteBuffer) {
        self = buffer.withUnsafeReadableBytes { Data($0) }
    }
}

extension HTTPField.Name {
    // Literal, valid header names: the failable initialiser cannot fail here.
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let accelBuffering = HTTPField.Name("X-Accel-Buffering")!
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
}
