import Foundation
import Hummingbird
import ParleyCore
@testable import ParleyServer
import Testing

/// `/api/openapi.json` describes exactly the routes the server registers.
@Suite struct OpenAPITests {
    @Test func theDocumentListsExactlyTheRegisteredOperations() throws {
        let env = try TestEnv()
        let router = buildRouter(services: env.services)
        let registered = Set(router.routes
            .map { "\($0.method.rawValue) \($0.path.description)" }
            .filter { $0.contains(" /api/") || $0.hasSuffix(" /healthz") || $0.hasSuffix(" /metrics") })
        let data = try Data(contentsOf: URL(fileURLWithPath: RepoPaths.root + "/Public/openapi.json"))
        let doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((doc["openapi"] as? String)?.hasPrefix("3.") == true)
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "post", "put", "patch", "delete", "head", "options"]
        let documented = Set(paths.flatMap { path, ops in
            ops.keys.filter { methods.contains($0) }.map { "\($0.uppercased()) \(path)" }
        })
        #expect(registered.subtracting(documented).sorted() == [], "routes missing from openapi.json")
        #expect(documented.subtracting(registered).sorted() == [], "documented but not served")
    }
}
