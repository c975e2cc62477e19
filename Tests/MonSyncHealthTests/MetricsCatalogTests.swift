import Foundation
import MonSyncAdmin
import Testing

@Suite("The metrics catalogue: Prometheus conventions, and docs/METRICS.md lists exactly it")
struct MetricsCatalogTests {
    @Test("names: monsync_ prefix, counters end in _total and only they do, histograms have buckets, no name twice")
    func conventions() {
        let names = MetricsCatalog.all.map(\.name)
        #expect(Set(names).count == names.count)
        for metric in MetricsCatalog.all {
            #expect(metric.name.hasPrefix("monsync_"), "\(metric.name)")
            #expect(metric.name.hasSuffix("_total") == (metric.kind == .counter), "\(metric.name)")
            #expect((metric.kind == .histogram) == !metric.buckets.isEmpty, "\(metric.name)")
            #expect(!metric.name.contains("millis") && !metric.name.contains("_ms"), "base units: \(metric.name)")
            #expect(!metric.help.isEmpty && !metric.labels.isEmpty, "\(metric.name)")
            #expect(metric.buckets == metric.buckets.sorted(), "\(metric.name)")
        }
    }

    @Test("docs/METRICS.md has a row for every metric of the catalogue, with its type and labels, and no other")
    func documented() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/METRICS.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        var rows: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `monsync_") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            rows[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = "\(cells[1]) \(cells[2])"
        }
        let catalogue = Dictionary(uniqueKeysWithValues: MetricsCatalog.all.map { ($0.name, "\($0.kind.rawValue) \($0.labels.joined(separator: ", "))") })
        #expect(rows == catalogue)
    }
}
