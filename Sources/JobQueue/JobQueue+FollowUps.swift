import PostgresNIO

// Follow-ups (`JobContext.enqueueOnCompletion`): the SQL and bindings that the statements
// writing completions (`ClaimJobs`, `DeleteCompletedJobs`, `WriteBackJobs`) share to enqueue a
// completed job's follow-ups, and the claim's to start them.

extension JobQueue {
    /// Whether the statement writing `outcomes` should NOTIFY other processes of the follow-ups
    /// it enqueues (throttled like every enqueue).
    func notifiesFollowUps(of outcomes: [JobOutcome]) -> Bool {
        outcomes.contains { !$0.followUps.isEmpty } && notifyThrottle.shouldNotify()
    }
}

/// Three CTEs for a statement that writes completions: `spawn_input` takes the follow-ups of the
/// completions `parents` returns (those whose lease held), `spawned` enqueues them in the order
/// they were asked for, and `notified` sends one NOTIFY when any were enqueued and the flag says
/// so. Parameters `$first…$first+8` are `PostgresBindings.appendFollowUps`; the caller opens the
/// first CTE's name and closes the last one's parenthesis, and must select from `notified` for it
/// to run.
///
/// `starting` (the claim statement): up to `budget` follow-ups are inserted already running under
/// the claim's lease: those due now that are the head of their ordering key, judged like a claim
/// judges it (no unfinished job with the key but the completions of this statement, and only the
/// first of the key among the follow-ups). `spawned` returns them with `started`. Without it,
/// every follow-up is inserted available.
func spawnCTE(
    parents: String, firstParameter first: Int,
    starting: (
        budget: String, token: String, leaseMilliseconds: String, completedIDs: String, completedTokens: String
    )? = nil
) -> String {
    let p = (first..<first + 9).map { "$\($0)" }
    let head =
        starting.map { starting in
            """
            f.d <= 0 AND (f.o = '' OR (row_number() OVER (PARTITION BY f.o ORDER BY f.n) = 1
                                AND NOT EXISTS (
                                    SELECT 1 FROM jobs q WHERE q.ordering_key = f.o AND q.state IN ('available', 'running')
                                      AND NOT (q.state = 'running' AND (q.id, q.lease_token) IN (
                                          SELECT id, token FROM unnest(\(starting.completedIDs)::int8[], \(starting.completedTokens)::int8[]) AS c(id, token))))))
            """
        } ?? "false"
    let (budget, token, lease) = starting.map { ($0.budget, $0.token, $0.leaseMilliseconds) } ?? ("0", "NULL", "0")
    return """
        spawn_input AS (
                    SELECT f.*, \(head) AS head
                    FROM unnest(\(p[0])::int8[], \(p[1])::text[], \(p[2])::int2[], \(p[3])::text[], \(p[4])::int8[],
                        \(p[5])::int4[], \(p[6])::text[], \(p[7])::text[]) WITH ORDINALITY AS f(parent, k, l, p, d, m, u, o, n)
                    WHERE f.parent IN (\(parents))
                ), spawned AS (
                    INSERT INTO jobs (kind, lane, payload, run_at, max_attempts, unique_key, ordering_key, state, attempt,
                        lease_token, lease_expires_at, attempted_at)
                    SELECT k, l, p::jsonb, now() + d * interval '1 millisecond', m, NULLIF(u, ''), NULLIF(o, ''),
                        CASE WHEN s THEN 'running' ELSE 'available' END::job_state, CASE WHEN s THEN 1 ELSE 0 END,
                        CASE WHEN s THEN \(token)::int8 END,
                        CASE WHEN s THEN now() + \(lease)::float8 * interval '1 millisecond' END,
                        CASE WHEN s THEN now() END
                    FROM (
                        SELECT *, head AND count(*) FILTER (WHERE head) OVER (ORDER BY n) <= \(budget)::int8 AS s
                        FROM spawn_input
                    ) i
                    ORDER BY n
                    ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state IN ('available', 'running') DO NOTHING
                    RETURNING id, kind, lane, payload::text AS payload, attempt, max_attempts, created_at,
                        coalesce(ordering_key, '') AS ordering_key, state = 'running' AS started
                ), notified AS (
                    SELECT pg_notify('afx_jobs', '') FROM (SELECT 1 FROM spawned LIMIT 1) s WHERE \(p[8])::bool
        """
}

extension PostgresBindings {
    /// The follow-ups of `outcomes` for `spawnCTE`: each one's parent id, its job columns
    /// (`appendJobColumns`), then the NOTIFY flag.
    mutating func appendFollowUps(of outcomes: [JobOutcome], notify: Bool) {
        append(outcomes.flatMap { outcome in outcome.followUps.map { _ in outcome.id } })
        appendJobColumns(outcomes.flatMap(\.followUps))
        append(notify)
    }
}
