import Testing

@testable import Store

@Suite struct SQLScriptTests {
    @Test(arguments: [
        ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
        ("SELECT 1", ["SELECT 1"]),
        ("SELECT ';' AS a; SELECT 2", ["SELECT ';' AS a", "SELECT 2"]),
        ("SELECT 'it''s; fine'; SELECT 2", ["SELECT 'it''s; fine'", "SELECT 2"]),
        (#"SELECT "a;b" FROM t; SELECT 2"#, [#"SELECT "a;b" FROM t"#, "SELECT 2"]),
        ("-- a comment; with a semicolon\nSELECT 1;", ["-- a comment; with a semicolon\nSELECT 1"]),
        ("SELECT 1; -- trailing note", ["SELECT 1"]),
        ("/* one; /* nested; */ still */ SELECT 1; SELECT 2", ["/* one; /* nested; */ still */ SELECT 1", "SELECT 2"]),
        (
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT 2",
            ["CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", "SELECT 2"]
        ),
        ("DO $body$ BEGIN PERFORM 1; END $body$; SELECT 2", ["DO $body$ BEGIN PERFORM 1; END $body$", "SELECT 2"]),
        ("PREPARE p AS SELECT $1::int; SELECT 2", ["PREPARE p AS SELECT $1::int", "SELECT 2"]),
        ("\n\n  ;; \n", []),
    ])
    func splitsStatements(sql: String, expected: [String]) {
        #expect(SQLScript.statements(sql) == expected)
    }

    @Test func everyBundledMigrationSplitsIntoStatements() {
        for migration in Migrator.bundled {
            let statements = SQLScript.statements(migration.sql)
            #expect(!statements.isEmpty, "\(migration.name)")
            #expect(statements.allSatisfy { !$0.hasSuffix(";") })
        }
    }
}
