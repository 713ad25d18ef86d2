import Hummingbird

/// Routes for exercising the server itself (drain on shutdown); only mounted when
/// `server.debugRoutes` is on, never in a default configuration.
struct DebugController {
    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("debug/sleep") { request, _ in
            let milliseconds = request.uri.queryParameters.get("ms", as: Int.self) ?? 1000
            guard (0...60_000).contains(milliseconds) else {
                throw APIError.badRequest("invalid_parameter", "ms must be 0 to 60000")
            }
            try await Task.sleep(for: .milliseconds(milliseconds))
            return "slept \(milliseconds) ms\n"
        }
        group.get("debug/client") { _, context in
            "\(context.clientAddress ?? "-")\n"
        }
        group.post("debug/echo") { request, context in
            let body = try await request.body.collect(upTo: context.maxUploadSize)
            return Response(status: .ok, body: .init(byteBuffer: body))
        }
    }
}
