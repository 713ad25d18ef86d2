import Forwarding
import Foundation
import Testing

@testable import Gateway

struct PlanLoaderTests {
    @Test func theRepositoryPlansFileLoadsWithTheDocumentedDefaults() throws {
        let catalog = try PlanLoader.load(path: "config/plans.yaml")
        #expect(catalog[.free].maxPairs == 2)
        #expect(catalog[.pro].maxPairs == 5)
        #expect(catalog[.elite].maxPairs == 50)
        #expect(catalog[.free].routes == [PlanRoute(.telegram, .telegram)])
        #expect(catalog[.pro].routes.count == 4)
        #expect(catalog[.pro].keywordFilters && !catalog[.pro].regexFilters && catalog[.elite].regexFilters)
        #expect(catalog.ordered.map(\.lane) == ["low", "medium", "high"])
        #expect(!catalog[.pro].apiKeys && catalog[.elite].apiKeys && catalog[.elite].outboundWebhooks)
    }

    @Test func aBrokenPlansFileNamesWhatIsWrong() throws {
        let text = try String(contentsOfFile: "config/plans.yaml", encoding: .utf8)
        func error(_ yaml: String) -> String {
            do {
                _ = try PlanLoader.parse(yaml)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(
            error(text.replacingOccurrences(of: "  maxPairs: 5\n", with: ""))
                .contains("plans.yaml: pro.maxPairs is missing"))
        #expect(error(text.replacingOccurrences(of: "lane: medium", with: "lane: urgent")).contains("pro.lane"))
        #expect(
            error(text.replacingOccurrences(of: "[telegram->telegram]", with: "[telegram->fax]"))
                .contains("not a route"))
        #expect(error(text.replacingOccurrences(of: "elite:", with: "platinum:")).contains("unknown plan platinum"))
        #expect(throws: ConfigurationError.self) { try PlanLoader.load(path: "/nonexistent/plans.yaml") }
    }
}
