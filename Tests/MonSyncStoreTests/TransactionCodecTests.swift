import MonSyncCore
import MonSyncStore
import PropertyBased
import Testing

@Suite("Transaction encoding")
struct TransactionCodecTests {
    static var example: StoreTransaction {
        var transaction = StoreTransaction()
        transaction.put("paxos", "1", [0x01, 0x02])
        transaction.erase("osdmap", "k")
        transaction.erasePrefix("logm")
        return transaction
    }

    /// The bytes documented in docs/STORE.md, "Transaction encoding".
    static let exampleHex =
        "010150000000" + "03000000"
        + "010115000000" + "01" + "05000000" + "7061786f73" + "01000000" + "31" + "02000000" + "0102"
        + "010114000000" + "02" + "06000000" + "6f73646d6170" + "01000000" + "6b" + "00000000"
        + "010111000000" + "04" + "04000000" + "6c6f676d" + "00000000" + "00000000"

    @Test func goldenBytes() throws {
        let encoded = Self.example.encoded()
        #expect(hex(encoded) == Self.exampleHex)
        #expect(encoded.count == Self.example.encodedSize)
        #expect(try StoreTransaction(decoding: encoded) == Self.example)
        #expect(StoreTransaction().encoded() == [1, 1, 4, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func decodedValuesShareTheInputStorage() throws {
        let encoded = Self.example.encoded()
        let decoded = try StoreTransaction(decoding: encoded)
        guard case let .put(_, _, value) = decoded.operations[0] else { Issue.record("not a put"); return }
        // The slice keeps the input's indices: it is a view, not a copy.
        #expect(value.startIndex == 6 + 4 + 6 + 1 + 9 + 5 + 4)
        #expect(Array(value) == [1, 2])
    }

    @Test func everyTruncationIsATypedError() {
        let encoded = Self.example.encoded()
        for length in 0..<encoded.count {
            #expect(throws: StoreError.self) { try StoreTransaction(decoding: Array(encoded[..<length])) }
            do {
                _ = try StoreTransaction(decoding: Array(encoded[..<length]))
            } catch {
                guard case .corrupt = error else { Issue.record("length \(length): \(error)"); continue }
            }
        }
        #expect(throws: StoreError.corrupt(.trailingBytes(count: 1))) { try StoreTransaction(decoding: encoded + [0]) }
    }

    @Test func invalidFieldsAreRefused() {
        var encoded = Self.example.encoded()
        // Op type 3 is reserved (Ceph's OP_COMPACT): refused.
        encoded[16] = 3
        #expect(throws: StoreError.corrupt(.invalidField(name: "op type", value: 3))) { try StoreTransaction(decoding: encoded) }
        // A newer incompatible encoding is refused.
        var newer = Self.example.encoded()
        newer[1] = 2
        #expect(throws: StoreError.corrupt(.unsupportedVersion(what: "store transaction", compat: 2, supported: 1))) {
            try StoreTransaction(decoding: newer)
        }
        // A huge op count cannot make the decoder allocate.
        var count = Self.example.encoded()
        count[6] = 0xFF; count[7] = 0xFF; count[8] = 0xFF; count[9] = 0x7F
        #expect(throws: StoreError.self) { try StoreTransaction(decoding: count) }
        // An erase carrying a value, an empty prefix, a prefix with NUL.
        var transaction = StoreTransaction()
        transaction.put("p", "k", [9])
        var erase = transaction.encoded()
        erase[16] = 2
        #expect(throws: StoreError.corrupt(.invalidField(name: "erase op value length", value: 1))) { try StoreTransaction(decoding: erase) }
        transaction = StoreTransaction()
        transaction.put("", "k", [9])
        #expect(throws: StoreError.corrupt(.invalidField(name: "op prefix", value: 0))) { try StoreTransaction(decoding: transaction.encoded()) }
        transaction = StoreTransaction()
        transaction.put("a\u{0}", "k", [9])
        #expect(throws: StoreError.corrupt(.invalidField(name: "op prefix", value: 2))) { try StoreTransaction(decoding: transaction.encoded()) }
    }

    @Test func roundTripsAndMutationsNeverCrash() async {
        let bytesGen = Gen.uint8().array(of: 0...40)
        await propertyCheck(count: 300, input: Gen.uint64(), bytesGen) { seed, garbage in
            var random = SeededRandomNumberGenerator(seed: seed)
            var transaction = StoreTransaction()
            for _ in 0..<Int(random.next() % 8) {
                let prefix = ["paxos", "auth", "ü", "x y"][Int(random.next() % 4)]
                let key = String(random.next() % 1000)
                switch random.next() % 3 {
                case 0: transaction.put(prefix, key, garbage)
                case 1: transaction.erase(prefix, key)
                default: transaction.erasePrefix(prefix)
                }
            }
            let encoded = transaction.encoded()
            let decoded = try StoreTransaction(decoding: encoded)
            #expect(decoded == transaction)
            // Flip one byte: either it still decodes to something valid, or it is a typed error.
            var mutated = encoded
            let index = Int(random.next() % UInt64(mutated.count))
            mutated[index] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            let outcome = Result { () throws(StoreError) -> StoreTransaction in try StoreTransaction(decoding: mutated) }
            if case let .failure(error) = outcome, case .corrupt = error {} else if case let .failure(error) = outcome {
                Issue.record("not a decode error: \(error)")
            }
            // Arbitrary bytes never crash the decoder.
            _ = try? StoreTransaction(decoding: garbage)
        }
    }

    @Test func markerRoundTripsAndRejectsCorruption() throws {
        let marker = SyncMarker(targets: ["auth", "paxos"], stagingID: 42)
        #expect(try SyncMarker(decoding: marker.encoded()) == marker)
        #expect(throws: StoreError.self) { try SyncMarker(decoding: Array(marker.encoded().dropLast())) }
    }
}
