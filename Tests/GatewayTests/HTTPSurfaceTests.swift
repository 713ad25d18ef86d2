import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import TestSupport
import Testing

@testable import Gateway

@Suite(.database, .timeLimit(.minutes(3))) struct HTTPSurfaceTests {
    @Test func healthAndReadinessOverRealTLS() async throws {
        try await TestApp.with { app in
            let health = try await app.client.send(.GET, "\(app.baseURL)/healthz")
            #expect(health.status == 200)
            #expect(try health.json()["status"] as? String == "ok")

            let ready = try await app.client.send(.GET, "\(app.baseURL)/readyz")
            #expect(ready.status == 200, "\(ready.body)")
            let checks = try ready.json()["checks"] as? [String: String]
            #expect(checks?["database"] == "ok")
            #expect(checks?["jobs"]?.hasPrefix("available=") == true)
        }
    }

    @Test func aClientThatDoesNotTrustOurCAIsRefused() async throws {
        let other = try await TestCertificates.makeUnrelated()
        try await TestApp.with { app in
            var configuration = try HTTPClient.Configuration.testClient(trusting: other.caPath)
            // A failed handshake is retried until the connect timeout; keep it short.
            configuration.timeout.connect = .seconds(1)
            let stranger = HTTPClient(configuration: configuration)
            await #expect(throws: (any Error).self) {
                _ = try await stranger.send(.GET, "\(app.baseURL)/healthz")
            }
            try await stranger.shutdown()
        }
    }

    @Test func unknownRoutesAnswerTheJSONErrorShape() async throws {
        try await TestApp.with { app in
            let response = try await app.client.send(.GET, "\(app.baseURL)/no/such/thing")
            #expect(response.status == 404)
            #expect(response.header("content-type")?.hasPrefix("application/json") == true)
            let error = try #require(try response.json()["error"] as? [String: String])
            #expect(error["code"] == "not_found")
            #expect(error["message"] == "no route for GET /no/such/thing")
        }
    }

    @Test func aDeclaredOversizedBodyIs413BeforeItIsRead() async throws {
        try await TestApp.with(configure: { $0.server.bodyLimits.default = 4096 }) { app in
            let ok = try await app.client.send(
                .POST, "\(app.baseURL)/debug/echo", body: Array(repeating: 65, count: 4096))
            #expect(ok.status == 200)
            #expect(ok.body.count == 4096)
            let tooBig = try await app.client.send(
                .POST, "\(app.baseURL)/debug/echo", body: Array(repeating: 65, count: 4097))
            #expect(tooBig.status == 413)
            #expect(try tooBig.errorCode() == "payload_too_large")
            #expect(try (tooBig.json()["error"] as? [String: String])?["message"]?.contains("4096 bytes") == true)
        }
    }

    @Test func aChunkedOversizedBodyIs413() async throws {
        try await TestApp.with(configure: { $0.server.bodyLimits.default = 4096 }) { app in
            var request = HTTPClientRequest(url: "\(app.baseURL)/debug/echo")
            request.method = .POST
            // A streamed body of unknown length is sent chunked: no Content-Length to check up front.
            let chunks = (0..<4).map { _ in ByteBuffer(bytes: Array(repeating: UInt8(66), count: 2000)) }
            request.body = .stream(chunks.async, length: .unknown)
            let response = try await app.client.execute(request, timeout: .seconds(10))
            #expect(response.status.code == 413)
            let body = try await response.body.collect(upTo: 1 << 16)
            #expect(String(buffer: body).contains("payload_too_large"))
        }
    }

    @Test func everyResponseCarriesARequestIDAndKeepsAValidIncomingOne() async throws {
        try await TestApp.with { app in
            let generated = try await app.client.send(.GET, "\(app.baseURL)/healthz")
            let id = try #require(generated.header("x-request-id"))
            #expect(id.count == 16)
            let kept = try await app.client.send(
                .GET, "\(app.baseURL)/healthz", headers: [("X-Request-Id", "trace-abc.123")])
            #expect(kept.header("x-request-id") == "trace-abc.123")
            let replaced = try await app.client.send(
                .GET, "\(app.baseURL)/healthz", headers: [("X-Request-Id", "bad id with spaces")])
            #expect(replaced.header("x-request-id") != "bad id with spaces")
            // Error bodies carry it too, so a user can quote it.
            let missing = try await app.client.send(.GET, "\(app.baseURL)/nope")
            #expect(missing.header("x-request-id") != nil)
        }
    }

    @Test func metricsCountRequestsByRouteAndStatus() async throws {
        try await TestApp.with { app in
            _ = try await app.client.send(.GET, "\(app.baseURL)/healthz")
            _ = try await app.client.send(.GET, "\(app.baseURL)/healthz")
            _ = try await app.client.send(.GET, "\(app.baseURL)/nope")
            let metrics = try await app.client.send(.GET, "\(app.baseURL)/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.header("content-type")?.hasPrefix("text/plain") == true)
            #expect(metrics.body.contains(#"afx_http_requests_total{route="/healthz",method="GET",status="200"} 2"#))
            #expect(metrics.body.contains(#"afx_http_requests_total{route="unmatched",method="GET",status="404"} 1"#))
            #expect(metrics.body.contains("afx_http_request_duration_seconds_bucket{"))
            // The pool's 8, and 3 for the claim loop (one loop, two more for write-backs and renewals).
            #expect(metrics.body.contains("afx_db_pool_max_connections 11.0"))
            #expect(metrics.body.contains("afx_db_reachable 1.0"))
            // Queue figures: the oldest due job's age per lane, sampled at scrape time.
            #expect(metrics.body.contains(#"afx_jobs_oldest_due_age_seconds{lane="high"}"#))
        }
    }

    @Test func plainHTTPBelievesForwardedForOnlyFromTrustedProxies() async throws {
        try await TestApp.with(configure: {
            $0.server.plainHTTP = true
            $0.server.trustedProxies = [IPNetworkFixture.loopback]
        }) { app in
            let plain = HTTPClient()
            let forwarded = try await plain.send(
                .GET, "\(app.baseURL)/debug/client", headers: [("X-Forwarded-For", "6.6.6.6, 198.51.100.7")])
            #expect(forwarded.body == "198.51.100.7\n")
            try await plain.shutdown()
        }
        try await TestApp.with(configure: { $0.server.plainHTTP = true }) { app in
            let plain = HTTPClient()
            let untrusted = try await plain.send(
                .GET, "\(app.baseURL)/debug/client", headers: [("X-Forwarded-For", "198.51.100.7")])
            #expect(untrusted.body == "127.0.0.1\n")
            try await plain.shutdown()
        }
    }
}

enum IPNetworkFixture {
    static let loopback = Gateway.IPNetwork("127.0.0.0/8")!
}
