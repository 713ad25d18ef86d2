import Foundation

/// A development CA and localhost certificate made by scripts/gen-certs, once per test process.
public struct TestCertificates: Sendable {
    public let directory: URL
    public var caPath: String { directory.appendingPathComponent("ca.crt").path }
    public var certificatePath: String { directory.appendingPathComponent("server.crt").path }
    public var privateKeyPath: String { directory.appendingPathComponent("server.key").path }

    public static func shared() async throws -> TestCertificates {
        try await Generator.shared.certificates()
    }

    /// A second, unrelated CA: a client trusting only it must refuse our server.
    public static func makeUnrelated() async throws -> TestCertificates {
        let directory = try RepoPaths.scratchDirectory("certs-other")
        try await runProcess("/bin/bash", [RepoPaths.path("scripts/gen-certs"), directory.path])
        return TestCertificates(directory: directory)
    }

    actor Generator {
        static let shared = Generator()
        private var made: TestCertificates?

        func certificates() async throws -> TestCertificates {
            if let made { return made }
            let directory = try RepoPaths.scratchDirectory("certs")
            try await runProcess("/bin/bash", [RepoPaths.path("scripts/gen-certs"), directory.path])
            let certificates = TestCertificates(directory: directory)
            made = certificates
            return certificates
        }
    }
}
