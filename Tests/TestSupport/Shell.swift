import Foundation

/// The result of a finished child process.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

public struct ShellError: Error, CustomStringConvertible {
    public let description: String
}

/// Runs a program to completion and captures its output (through files: Foundation's pipe
/// readability handlers can stall on Linux).
@discardableResult
public func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, check: Bool = true
) async throws -> ProcessResult {
    let output = try OutputFiles()
    defer { output.remove() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = RepoPaths.root
    if let environment { process.environment = environment }
    process.standardOutput = output.stdoutHandle
    process.standardError = output.stderrHandle
    process.standardInput = FileHandle.nullDevice
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do {
            try process.run()
        } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
    let (stdout, stderr) = output.read()
    let result = ProcessResult(status: status, stdout: stdout, stderr: stderr)
    if check && result.status != 0 {
        throw ShellError(
            description: "\(executable) \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
    }
    return result
}

/// Two temporary files standing in for a child's stdout and stderr.
final class OutputFiles: Sendable {
    let stdoutURL: URL
    let stderrURL: URL
    let stdoutHandle: FileHandle
    let stderrHandle: FileHandle

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("afx-test-\(UUID().uuidString)")
        stdoutURL = base.appendingPathExtension("out")
        stderrURL = base.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        stdoutHandle = try FileHandle(forWritingTo: stdoutURL)
        stderrHandle = try FileHandle(forWritingTo: stderrURL)
    }

    func read() -> (String, String) {
        let out = (try? Data(contentsOf: stdoutURL)) ?? Data()
        let err = (try? Data(contentsOf: stderrURL)) ?? Data()
        return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    func remove() {
        try? stdoutHandle.close()
        try? stderrHandle.close()
        try? FileManager.default.removeItem(at: stdoutURL)
        try? FileManager.default.removeItem(at: stderrURL)
    }
}

/// A long-running child process (an `afx serve`), with its output kept for assertions.
public final class ChildProcess: @unchecked Sendable {
    public let process = Process()
    private let files: OutputFiles

    /// Crash reports kept short (the crashing thread's innermost frames, no image list), so a
    /// failure message quoting the output still shows where the process died.
    static let backtraceSettings = "interactive=no,color=no,threads=crashed,registers=none,images=none,limit=24,top=0"

    public init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment.merging(["SWIFT_BACKTRACE": Self.backtraceSettings]) { given, _ in given }
        process.currentDirectoryURL = RepoPaths.root
        files = try OutputFiles()
        process.standardOutput = files.stdoutHandle
        process.standardError = files.stderrHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    public var output: (stdout: String, stderr: String) { files.read() }

    /// Both outputs for a failure message, then the lines saying why the process crashed if it
    /// did, repeated last: a long message may be shown cut in the middle.
    public var report: String {
        let (stdout, stderr) = files.read()
        let crash = (stdout + stderr).split(separator: "\n").filter {
            $0.contains("Fatal error") || $0.contains("Program crashed")
        }
        let report = "stdout:\n\(stdout)\nstderr:\n\(stderr)"
        return crash.isEmpty ? report : report + "\ncrashed: " + crash.joined(separator: " / ")
    }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to exit; nil if it is still running after `timeout`.
    public func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    /// Waits until the combined output contains `text`.
    public func waitForOutput(_ text: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (out, err) = files.read()
            if out.contains(text) || err.contains(text) { return true }
            if !process.isRunning { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        files.remove()
    }
}
