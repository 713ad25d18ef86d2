public enum ConstantTime {
    /// Compares every byte whatever they hold, so the time taken says nothing about where two
    /// hashes differ.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
