import Testing

@testable import Gateway

@Suite struct ClientAddressTests {
    static let proxies = [IPNetwork("10.0.0.0/8")!, IPNetwork("::1")!, IPNetwork("127.0.0.1")!]

    @Test(arguments: [
        // An untrusted peer is the client, whatever it claims.
        ("203.0.113.9", ["1.2.3.4"], "203.0.113.9"),
        // A trusted proxy forwarding a client.
        ("10.1.2.3", ["198.51.100.7"], "198.51.100.7"),
        // Two trusted hops: the rightmost untrusted address wins; a spoofed left part is ignored.
        ("10.1.2.3", ["6.6.6.6, 198.51.100.7, 10.9.9.9"], "198.51.100.7"),
        // Several headers are one list.
        ("127.0.0.1", ["6.6.6.6", "198.51.100.7"], "198.51.100.7"),
        // No header: the proxy itself.
        ("10.1.2.3", [], "10.1.2.3"),
        // Garbage stops the walk at the last good hop.
        ("10.1.2.3", ["198.51.100.7, not-an-ip"], "10.1.2.3"),
        // IPv6 proxy and client.
        ("::1", ["2001:db8::5"], "2001:db8::5"),
        // An IPv4-mapped peer matches an IPv4 block.
        ("::ffff:10.0.0.5", ["192.0.2.1"], "192.0.2.1"),
    ])
    func resolvesTheClient(peer: String, header: [String], expected: String) {
        #expect(ClientAddress.resolve(peer: peer, forwardedFor: header, trustedProxies: Self.proxies) == expected)
    }

    @Test(arguments: ["10.0.0.0/8", "192.168.1.1", "::1", "2001:db8::/32", "0.0.0.0/0"])
    func parsesNetworks(text: String) {
        #expect(IPNetwork(text) != nil)
    }

    @Test(arguments: ["10.0.0.0/33", "300.1.1.1", "", "::1/129", "10.0.0.0/x", "example.com"])
    func rejectsMalformedNetworks(text: String) {
        #expect(IPNetwork(text) == nil)
    }
}
