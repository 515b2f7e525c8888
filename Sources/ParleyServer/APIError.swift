import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ParleyCore

/// An error as the API shows it: `{"error":{"code","message","fields"?}}` with its status.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var fields: [String: String]?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, fields: [String: String]? = nil) {
        self.status = status; self.code = code; self.message = message; self.fields = fields
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var w = JSONText()
        w.beginObject(); w.key("error"); w.beginObject()
        w.key("code"); w.string(code)
        w.key("message"); w.string(message)
        if let fields, !fields.isEmpty {
            w.key("fields"); w.beginObject()
            for k in fields.keys.sorted() { w.key(k); w.string(fields[k] ?? "") }
            w.endObject()
        }
        w.endObject(); w.endObject()
        var h = headers
        h[.contentType] = "application/json; charset=utf-8"
        h[.cacheControl] = "no-store"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: w.bytes)))
    }

    /// Maps any error to the API's shape (typed core errors, Hummingbird's own, or unexpected ones).
    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as ParleyError: return from(e)
        case let e as HTTPError:
            switch e.status {
            case .notFound: return APIError(.notFound, "not_found", "No such resource.")
            case .contentTooLarge: return APIError(.contentTooLarge, "body_too_large", "The request body is too large (at most \(Limits.jsonBody / 1024) KB).")
            case .methodNotAllowed: return APIError(.methodNotAllowed, "method_not_allowed", "This method is not allowed here.")
            case .badRequest: return APIError(.badRequest, "bad_request", e.body ?? "The request is malformed.")
            default: return APIError(e.status, "http_\(e.status.code)", e.body ?? e.status.reasonPhrase)
            }
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, "body_too_large", "The request body is too large (at most \(Limits.jsonBody / 1024) KB).")
        case is DecodingError:
            return APIError(.badRequest, "invalid_json", "The request body is not the JSON this endpoint expects.")
        default:
            return APIError(.internalServerError, "internal", "Something went wrong on the server.")
        }
    }

    static func from(_ e: ParleyError) -> APIError {
        switch e {
        case .storeUnavailable:
            return APIError(.serviceUnavailable, "store_unavailable", "The server cannot save data right now; nothing was saved. Please try again later.")
        case .ticketNotFound: return APIError(.notFound, "ticket_not_found", "No such ticket.")
        case .widgetNotFound(let id): return APIError(.notFound, "widget_not_found", "No widget with id \(id).")
        case .invalid(let f, let m): return APIError(.unprocessableContent, "invalid_input", m, fields: f)
        case .badRequest(let m): return APIError(.badRequest, "bad_request", m)
        case .conflict(let m): return APIError(.conflict, "conflict", m)
        case .refused(let code, let m): return APIError(.conflict, code, m)
        case .forbidden(let m): return APIError(.forbidden, "forbidden", m)
        case .unauthorized(let m): return APIError(.unauthorized, "unauthorized", m)
        case .tooLarge(let m): return APIError(.contentTooLarge, "too_large", m)
        case .rateLimited(let s):
            var err = APIError(.tooManyRequests, "rate_limited", "Too many requests; try again in \(s) s.")
            err.headers[.retryAfter] = "\(s)"
            return err
        // The details (paths, errno) go to the server's log, not to the client.
        case .corrupt, .io: return APIError(.internalServerError, "internal", "The server hit a storage problem. Please try again later.")
        }
    }
}

/// Turns every thrown error into the API's JSON error body (pages outside /api keep Hummingbird's).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ParleyContext
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let api = APIError.from(error)
            if api.status == .internalServerError {
                context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            }
            return try api.response(from: request, context: context)
        }
    }
}
