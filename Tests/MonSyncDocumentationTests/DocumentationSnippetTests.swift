import Testing

/// README.md and the DocC articles show only code this target compiles: each Swift block names a
/// snippet of this target's sources, and its text is the snippet's, character for character.
@Suite("Documentation: every Swift block is compiled code")
struct DocumentationSnippetTests {
    @Test("the README's \"Choosing a transport\" block is the compiled snippet")
    func readmeChoosingATransport() throws {
        let readme = DocumentationSnippets.packageRoot.appendingPathComponent("README.md")
        let blocks = try DocumentationSnippets.blocks(in: readme).filter { $0.name == "choosing-a-transport" }
        let compiled = try #require(try DocumentationSnippets.compiledSnippets()["choosing-a-transport"])
        #expect(blocks.count == 1, "README.md has one block marked <!-- snippet: choosing-a-transport -->")
        for block in blocks {
            #expect(block.code == compiled, "\(block) differs from the compiled snippet (Snippets/ChoosingATransportSnippets.swift)")
        }
    }

    @Test("every Swift block of the README and the DocC catalogs is a compiled snippet, word for word")
    func everyBlockIsCompiled() throws {
        let compiled = try DocumentationSnippets.compiledSnippets()
        var blocks: [DocumentationSnippets.Block] = []
        for document in try DocumentationSnippets.documents() { blocks += try DocumentationSnippets.blocks(in: document) }
        #expect(blocks.count >= 20, "the README and the articles were found (\(blocks.count) Swift blocks)")
        for block in blocks {
            guard let name = block.name else {
                Issue.record("\(block): a Swift block without <!-- snippet: NAME --> on the line before it")
                continue
            }
            guard let code = compiled[name] else {
                Issue.record("\(block): no snippet \"\(name)\" in Tests/MonSyncDocumentationTests")
                continue
            }
            #expect(block.code == code, "\(block): the block differs from the compiled snippet \"\(name)\"")
        }
        // A snippet no document shows is code that documents nothing: remove it, or show it.
        let shown = Set(blocks.compactMap(\.name))
        #expect(Set(compiled.keys).subtracting(shown).sorted() == [], "snippets no document shows")
    }
}
