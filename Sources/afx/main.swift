import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

// Async work runs on NIO's event loop threads rather than on a separate Swift concurrency pool,
// so a request, a database statement or a job does not hop threads at every await. Measured by
// `afx bench ingest` and `afx bench e2e` (README, Performance). Nothing in afx may block a
// thread for long: blocking waits (child processes) run on threads of their own.
let installed = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
if ProcessInfo.processInfo.environment["AFX_DEBUG_EXECUTOR"] != nil { print("executor hook installed: \(installed)") }
await runAsync(AFX.self)

/// Calls the async entry point: in top-level code a bare `AFX.main()` resolves to
/// ParsableCommand's synchronous one, which only prints the help of an async command.
func runAsync<Command: AsyncParsableCommand>(_ command: Command.Type) async {
    await command.main()
}
