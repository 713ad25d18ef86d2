import Foundation
import JWTKit
import Store

/// The claims of an access token: the user, the session (refresh-token family) it belongs to, and
/// when it expires.
struct AccessClaims: JWTPayload {
    var sub: SubjectClaim
    var sid: String
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var iss: IssuerClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        guard iss.value == SessionTokens.issuer else {
            throw JWTError.claimVerificationFailure(failedClaim: iss, reason: "issuer")
        }
    }
}

/// Issues short-lived access tokens (HS256 JWTs) with rotating refresh tokens, and checks them.
public struct SessionTokens: Sendable {
    public struct Issued: Sendable {
        public let accessToken: String
        public let refreshToken: String
        public let expiresIn: Int
        public let session: UUID
        public let userID: Int64
    }

    public enum Failure: Error, Equatable {
        case invalid, expired
    }

    static let issuer = "afx"
    /// The key collection is an actor filled asynchronously; the first use waits for it.
    private let keys: Task<JWTKeyCollection, Never>
    let sessions: SessionRepository
    public let accessTTL: Duration
    public let refreshTTL: Duration

    public init(secret: String, sessions: SessionRepository, accessTTL: Duration, refreshTTL: Duration) {
        self.keys = Task {
            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            return keys
        }
        self.sessions = sessions
        self.accessTTL = accessTTL
        self.refreshTTL = refreshTTL
    }

    /// Starts a session for a user who just proved who they are.
    public func start(userID: Int64, userAgent: String, ip: String?) async throws -> Issued {
        let refresh = OpaqueToken.generate()
        let family = try await sessions.create(
            userID: userID, tokenHash: OpaqueToken.hash(refresh), expiresAt: Date() + refreshTTL.timeInterval,
            userAgent: userAgent, ip: ip)
        return try await issue(userID: userID, family: family, refresh: refresh)
    }

    /// Trades a refresh token for a new pair. A token that was already traded revokes its session.
    public func refresh(_ token: String, userAgent: String, ip: String?) async throws -> Result<Issued, RefreshFailure>
    {
        let next = OpaqueToken.generate()
        switch try await sessions.rotate(
            tokenHash: OpaqueToken.hash(token), newHash: OpaqueToken.hash(next),
            expiresAt: Date() + refreshTTL.timeInterval, userAgent: userAgent, ip: ip)
        {
        case .rotated(let userID, let family):
            return .success(try await issue(userID: userID, family: family, refresh: next))
        case .reused:
            return .failure(.reused)
        case .invalid:
            return .failure(.invalid)
        }
    }

    public enum RefreshFailure: Error, Equatable {
        case invalid, reused
    }

    /// The user and session of a valid access token.
    func verify(_ token: String) async throws(Failure) -> (userID: Int64, session: UUID) {
        let claims: AccessClaims
        do {
            claims = try await keys.value.verify(token, as: AccessClaims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            throw error.failedClaim is ExpirationClaim ? .expired : .invalid
        } catch {
            throw .invalid
        }
        guard let userID = Int64(claims.sub.value), let session = UUID(uuidString: claims.sid) else { throw .invalid }
        return (userID, session)
    }

    private func issue(userID: Int64, family: UUID, refresh: String) async throws -> Issued {
        let now = Date()
        let claims = AccessClaims(
            sub: .init(value: String(userID)), sid: family.uuidString, exp: .init(value: now + accessTTL.timeInterval),
            iat: .init(value: now), iss: .init(value: Self.issuer))
        return Issued(
            accessToken: try await keys.value.sign(claims), refreshToken: refresh,
            expiresIn: Int(accessTTL.components.seconds), session: family, userID: userID)
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
