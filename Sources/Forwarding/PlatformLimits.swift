/// Message length limits, in UTF-16 code units of the *rendered* text (Telegram counts UTF-16;
/// Discord counts characters, and UTF-16 units are never fewer, so the same count is safe).
public enum PlatformLimits {
    /// `sendMessage` text.
    public static let telegramText = 4096
    /// Media captions.
    public static let telegramCaption = 1024
    /// Message `content` (webhooks included).
    public static let discordContent = 2000
}
