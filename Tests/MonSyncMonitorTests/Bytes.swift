extension Array where Element == UInt8 {
    /// The UTF-8 bytes of `string` (the tests' keys and values).
    init(_ string: String) { self = Array(string.utf8) }
}
