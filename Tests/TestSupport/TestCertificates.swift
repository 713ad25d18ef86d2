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
        /// One generation shared by every caller: an actor is re-entered at each `await`, so a
        /// stored result alone would let two suites run gen-certs into the same directory at once
        /// and leave a CA that did not sign the server certificate.
        private var making: Task<TestCertificates, any Error>?

        func certificates() async throws -> TestCertificates {
            if let making { return try await making.value }
            let task = Task {
                let directory = try RepoPaths.scratchDirectory("certs")
                try await runProcess("/bin/bash", [RepoPaths.path("scripts/gen-certs"), directory.path])
                return TestCertificates(directory: directory)
            }
            making = task
            return try await task.value
        }
    }
}
