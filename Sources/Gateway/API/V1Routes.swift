import Foundation
import Hummingbird
import JobQueue
import Logging
import NIOCore
import PostgresNIO
import Store

/// Mounts the versioned REST API under `/v1`: the OpenAPI document and plans (public), sign-in
/// (public, rate-limited per IP), and everything else behind `Authenticator`.
enum V1Routes {
    static func add(
        to router: Router<AppRequestContext>, api: APIServices, linking: AccountLinking, queue: JobQueue,
        client: PostgresClient
    ) {
        let v1 = router.group("v1").add(middleware: BodyLimitMiddleware(limit: api.configuration.server.bodyLimits.api))
        v1.get("openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.bytes)))
        }
        v1.get("plans") { _, _ in
            try APIFormat.response(["items": api.gate.catalog.ordered.map(PlanBody.init)])
        }
        let auth = AuthController(api: api)
        auth.addPublicRoutes(to: v1)
        let codes = OneTimeCodeController(
            api: api, codes: LoginCodeRepository(client: client), linking: linking, logger: Logger(label: "afx.codes"))
        codes.addPublicRoutes(to: v1)
        let signedIn = v1.group().add(middleware: Authenticator(api: api))
        auth.addRoutes(to: signedIn)
        codes.addRoutes(to: signedIn)
        PairsController(api: api, logs: DeliveryRepository(client: client)).addRoutes(to: signedIn)
        APIKeysController(api: api).addRoutes(to: signedIn)
        AccountsController(api: api, linking: linking).addRoutes(to: signedIn)
        // The feed itself is served by the WebSocket upgrade (EventsRoute); a plain GET learns why not.
        signedIn.get("events") { _, _ -> Response in
            throw APIError(
                HTTPResponse.Status(code: 426, reasonPhrase: "Upgrade Required"), code: "websocket_required",
                "/v1/events is a WebSocket: connect with Upgrade: websocket (wss://)", headers: [.upgrade: "websocket"])
        }
        let analytics = AnalyticsController(api: api, analytics: AnalyticsRepository(client: client))
        analytics.addRoutes(to: signedIn)
        let admin = signedIn.group("admin").add(
            middleware: AdminGuard(allowedNetworks: api.configuration.admin.allowedNetworks))
        AdminController(api: api, queue: queue, client: client).addRoutes(to: admin)
        analytics.addAdminRoutes(to: admin)
    }
}

/// `openapi.yaml`, the contract of `/v1`: served as written, and checked against the server by
/// schemathesis in `scripts/test`.
enum OpenAPIDocument {
    static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let data = try? Data(contentsOf: url)
        else { return Array("openapi: 3.1.0\n# the document is missing from this build\n".utf8) }
        return Array(data)
    }()
}
