import Forwarding

/// SplitMix64: a tiny deterministic generator so randomized tests replay identically.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Shorthand for entities in case tables.
func ent(
    _ kind: MessageEntity.Kind, _ offset: Int, _ length: Int, url: String? = nil, language: String? = nil,
    userID: Int64? = nil, emoji: String? = nil
) -> MessageEntity {
    MessageEntity(
        kind: kind, offset: offset, length: length, url: url, language: language, userID: userID,
        customEmojiID: emoji)
}

/// Text with astral-plane characters before any formatting: a ZWJ family (8 UTF-16 units), a
/// Fraktur word (7 letters, 2 units each), a smiley (2 units). "bold" starts at unit 27.
let astralText = "👨‍👩‍👧 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 bold"

/// A renderer that adds nothing, so lengths are plain text lengths.
func plainRender(_ text: String, _ entities: [MessageEntity]) -> String { text }
