import Foundation

/// The code of the documentation, as the docs show it and as this target compiles it.
///
/// A Swift block in README.md or in a DocC article is preceded by `<!-- snippet: NAME -->` (an HTML
/// comment: GitHub and DocC show nothing of it). The same code stands in a Swift file of this
/// target between `// snippet: NAME` and `// snippet: end`, where the compiler checks it against
/// the API. ``DocumentationSnippetTests`` compares the two texts, so neither can drift.
enum DocumentationSnippets {
    /// A code block found in a document, and the snippet it claims to be.
    struct Block: CustomStringConvertible {
        var file: String
        var line: Int
        /// The name after `snippet:`; `nil` for a Swift block without a marker.
        var name: String?
        var code: String
        var description: String { "\(file):\(line)" }
    }

    /// The package's root: this file is `Tests/MonSyncDocumentationTests/DocumentationSnippets.swift`.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The documents whose Swift code must be compiled here: the README and every DocC catalog's pages.
    static func documents() throws -> [URL] {
        var documents = [packageRoot.appendingPathComponent("README.md")]
        let sources = packageRoot.appendingPathComponent("Sources")
        guard let walker = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: sources.path])
        }
        for case let url as URL in walker
        where url.pathExtension == "md" && url.pathComponents.contains(where: { $0.hasSuffix(".docc") }) {
            documents.append(url)
        }
        return documents.sorted { $0.path < $1.path }
    }

    /// Every Swift code block of `document`, with the snippet name its marker gives.
    static func blocks(in document: URL) throws -> [Block] {
        let lines = try String(contentsOf: document, encoding: .utf8).components(separatedBy: "\n")
        let file = String(document.path.dropFirst(packageRoot.path.count + 1))
        var blocks: [Block] = []
        var index = 0
        while index < lines.count {
            guard lines[index].trimmingCharacters(in: .whitespaces) == "```swift" else { index += 1; continue }
            let start = index
            var body: [String] = []
            index += 1
            while index < lines.count, lines[index].trimmingCharacters(in: .whitespaces) != "```" {
                body.append(lines[index])
                index += 1
            }
            index += 1
            let marker = start > 0 ? markerName(lines[start - 1]) : nil
            blocks.append(Block(file: file, line: start + 1, name: marker, code: normalized(body)))
        }
        return blocks
    }

    /// The snippets of this target's Swift files, by name.
    static func compiledSnippets() throws -> [String: String] {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return [:] }
        var snippets: [String: String] = [:]
        for case let url as URL in walker where url.pathExtension == "swift" {
            var current: (name: String, lines: [String])?
            for line in try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed == "// snippet: end", let open = current {
                    snippets[open.name] = normalized(open.lines)
                    current = nil
                } else if trimmed.hasPrefix("// snippet: ") {
                    current = (String(trimmed.dropFirst("// snippet: ".count)), [])
                } else {
                    current?.lines.append(line)
                }
            }
        }
        return snippets
    }

    /// `NAME` of a `<!-- snippet: NAME -->` line, or `nil`.
    private static func markerName(_ line: String) -> String? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("<!-- snippet: "), trimmed.hasSuffix(" -->") else { return nil }
        return String(trimmed.dropFirst("<!-- snippet: ".count).dropLast(" -->".count))
    }

    /// The lines without the indentation they share and without trailing spaces, so that code
    /// indented inside a function compares equal to the same code at a document's margin.
    private static func normalized(_ lines: [String]) -> String {
        let lines = lines.map { line in String(line.reversed().drop { $0 == " " }.reversed()) }
        let indent = lines.filter { !$0.isEmpty }.map { $0.prefix { $0 == " " }.count }.min() ?? 0
        return lines.map { String($0.dropFirst(min(indent, $0.count))) }.joined(separator: "\n")
    }
}
