/// Where a node's admin endpoint listens: `HOST:PORT`, `[IPv6]:PORT`, or `:PORT` for every interface.
public struct AdminAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host or IP address to bind (`0.0.0.0` for `:PORT`).
    public var host: String
    /// The TCP port; 0 lets the system pick one (the bound port is logged).
    public var port: Int

    /// An address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `[IPv6]:PORT` or `:PORT`.
    ///
    /// - Throws: ``AdminServerError/invalidAddress(_:reason:)`` for anything else, or a port outside 0…65535.
    public init(parsing text: String) throws(AdminServerError) {
        guard let colon = text.lastIndex(of: ":") else {
            throw .invalidAddress(text, reason: "expected HOST:PORT (e.g. 127.0.0.1:9283)")
        }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = Int(portText), (0...65_535).contains(port) else {
            throw .invalidAddress(text, reason: "the port must be a number from 0 to 65535")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw .invalidAddress(text, reason: "write an IPv6 address in brackets, as [::1]:9283")
        }
        if host.isEmpty { host = "0.0.0.0" }
        guard !host.contains(where: \.isWhitespace) else { throw .invalidAddress(text, reason: "the host has blanks") }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
