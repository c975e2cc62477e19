/// Reads samples back from the Prometheus text exposition format, for logs.
enum ExpositionSamples {
    /// `name{label="value",…} 12` lines as `name{label=value,…}` → 12, sorted by name; comments,
    /// histogram buckets and lines that do not parse are left out.
    static func parse(_ text: String) -> [(name: String, value: Double)] {
        var samples: [(name: String, value: Double)] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            let name = series.prefix { $0 != "{" }
            guard !name.hasSuffix("_bucket") else { continue }
            // Quotes would be escaped in log metadata; the label values MonSync uses have no blanks.
            samples.append((String(series.filter { $0 != "\"" }), value))
        }
        return samples.sorted { $0.name < $1.name }
    }
}
