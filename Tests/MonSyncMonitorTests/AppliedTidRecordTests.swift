import MonSyncCore
import MonSyncMessages
@testable import MonSyncMonitor
import MonSyncStore
import Testing

/// The applied-tid record `kv_clients/<client id>` (PROTOCOL.md §9 and §10): the plain list, or runs
/// of consecutive tids, whichever is smaller; both read back, and a corrupt run record is refused.
@Suite("Key-value service: the applied-tid record")
struct AppliedTidRecordTests {
    typealias Service = KeyValueService

    /// The plain list, as the service wrote it before the run form: `u32` count, then `u64` tids.
    static func plainList(_ tids: [UInt64]) -> [UInt8] {
        var encoder = WireEncoder()
        encoder.encodeList(tids) { $0.encode($1) }
        return encoder.finish()
    }

    /// A run record as written by hand: the marker, `u32` run count, then each run's `u64` first tid and `u32` length.
    static func runRecord(_ runs: [(first: UInt64, length: UInt32)], trailing: [UInt8] = []) -> [UInt8] {
        var encoder = WireEncoder()
        encoder.encode(UInt32.max)
        encoder.encodeList(runs) { encoder, run in
            encoder.encode(run.first)
            encoder.encode(run.length)
        }
        return encoder.finish() + trailing
    }

    static func put(_ tid: UInt64, client: UInt64 = 0xC1) -> MMonCommand {
        MMonCommand(op: .put, clientID: client, tid: tid, key: "k\(tid % 7)", value: [UInt8]("v\(tid)"))
    }

    /// Applies `tids` of `client` in batches of `batch`, as a leader proposes and commits them.
    static func apply(_ tids: some Sequence<UInt64>, batch: Int, client: UInt64 = 0xC1, to store: InMemoryStore) throws {
        let service = Service(writesRuns: true)
        var pending: [MMonCommand] = []
        for tid in tids {
            pending.append(put(tid, client: client))
            if pending.count == batch {
                try store.apply(service.transaction(applying: pending, in: store))
                pending = []
            }
        }
        if !pending.isEmpty { try store.apply(service.transaction(applying: pending, in: store)) }
    }

    static func record(of client: UInt64 = 0xC1, in store: InMemoryStore) throws -> [UInt8]? {
        try store.get(Service.clientsPrefix, Service.clientKey(client))
    }

    @Test("a sequential client's full window is one run: 20 bytes, not 8 KiB")
    func sequentialWindowIsOneRun() throws {
        let store = InMemoryStore()
        try Self.apply(1...3_000, batch: 7, to: store)
        let bytes = try #require(try Self.record(in: store))
        // Marker, one run, first tid 1977 (the last 1024 of 1…3000), length 1024.
        #expect(bytes == [0xFF, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0] + [0xB9, 0x07, 0, 0, 0, 0, 0, 0] + [0x00, 0x04, 0, 0])
        #expect(try Service().appliedTids(clientID: 0xC1, in: store) == Array(1_977...3_000))
        // The decisions are those of the list: applied, new, and too old below a full window.
        #expect(try Service().state(ofTid: 3_000, clientID: 0xC1, in: store) == .applied)
        #expect(try Service().state(ofTid: 1_977, clientID: 0xC1, in: store) == .applied)
        #expect(try Service().state(ofTid: 1_976, clientID: 0xC1, in: store) == .tooOld)
        #expect(try Service().state(ofTid: 3_001, clientID: 0xC1, in: store) == .new)
        #expect(Service.encodeApplied(Array(1...1_024)) == Self.runRecord([(1, 1_024)]))
    }

    @Test("gaps: whichever form is smaller is written, the plain list on a tie")
    func smallerFormIsChosen() throws {
        // Every other tid: n runs (12n + 8 bytes) against the list (8n + 4): the list.
        let alternate = Array(stride(from: UInt64(1), through: 199, by: 2))
        #expect(Service.encodeApplied(alternate) == Self.plainList(alternate))
        // Two runs of 100: 32 bytes against 1 604.
        let twoRuns = Array(UInt64(10)..<110) + Array(UInt64(500)..<600)
        #expect(Service.encodeApplied(twoRuns) == Self.runRecord([(10, 100), (500, 100)]))
        // One tid: the list (12 bytes, against 20).
        #expect(Service.encodeApplied([42]) == Self.plainList([42]))
        // Two consecutive tids: 20 bytes either way; the list.
        #expect(Service.encodeApplied([42, 43]) == Self.plainList([42, 43]))
        // Three: 20 against 28; the runs.
        #expect(Service.encodeApplied([42, 43, 44]) == Self.runRecord([(42, 3)]))
        // Mixed: runs of 3 and single tids, 5 runs (68 bytes) against 9 tids (76): the runs.
        let mixed: [UInt64] = [1, 2, 3, 7, 10, 11, 12, 20, 30]
        #expect(Service.encodeApplied(mixed) == Self.runRecord([(1, 3), (7, 1), (10, 3), (20, 1), (30, 1)]))
        // Over random sets: the size is always the smaller of the two, and the runs are maximal.
        var random = SplitMix(seed: 7)
        for _ in 0..<500 {
            let tids = Self.randomTids(&random)
            let runs = Self.runs(of: tids)
            let listSize = 4 + 8 * tids.count, runSize = 8 + 12 * runs.count
            let bytes = Service.encodeApplied(tids)
            #expect(bytes.count == min(listSize, runSize))
            #expect(bytes == (runSize < listSize ? Self.runRecord(runs) : Self.plainList(tids)))
        }
    }

    @Test("both forms round-trip")
    func roundTrip() throws {
        var random = SplitMix(seed: 11)
        var forms: Set<Bool> = []
        for _ in 0..<1_000 {
            let tids = Self.randomTids(&random)
            let bytes = Service.encodeApplied(tids)
            forms.insert(bytes.starts(with: [0xFF, 0xFF, 0xFF, 0xFF]))
            #expect(try Service.decodeApplied(bytes) == tids)
        }
        #expect(forms == [true, false], "both forms were exercised")
        // At the top of the range: a run that ends at UInt64.max does not overflow.
        let top = Array((UInt64.max - 9)...UInt64.max)
        #expect(Service.encodeApplied(top) == Self.runRecord([(UInt64.max - 9, 10)]))
        #expect(try Service.decodeApplied(Service.encodeApplied(top)) == top)
        #expect(try Service.decodeApplied(Service.encodeApplied([0, 1, 2, UInt64.max])) == [0, 1, 2, UInt64.max])
        // The window's limit is inclusive: exactly 1 024 tids, in one run or several, read; and runs
        // that merely touch (not merged by the writer) read as the tids they hold.
        #expect(try Service.decodeApplied(Self.runRecord([(1, 1_024)])) == Array(1...1_024))
        #expect(try Service.decodeApplied(Self.runRecord([(1, 600), (1_000, 424)])).count == 1_024)
        #expect(try Service.decodeApplied(Self.runRecord([(1, 3), (4, 2)])) == [1, 2, 3, 4, 5])
    }

    @Test("a record of the plain list, as the previous code wrote it, still reads, and is rewritten as runs")
    func plainListStillReads() throws {
        let store = InMemoryStore()
        let old = Array(UInt64(977)...2_000)
        let bytes = Self.plainList(old)
        #expect(bytes.count == 4 + 8 * 1_024)
        #expect(Array(bytes.prefix(12)) == [0x00, 0x04, 0, 0, 0xD1, 0x03, 0, 0, 0, 0, 0, 0])
        try store.put(Service.clientsPrefix, Service.clientKey(0xC1), bytes)
        #expect(try Service().appliedTids(clientID: 0xC1, in: store) == old)
        #expect(try Service().state(ofTid: 1_500, clientID: 0xC1, in: store) == .applied)
        #expect(try Service().state(ofTid: 976, clientID: 0xC1, in: store) == .tooOld)
        #expect(try Service.decodeApplied(Self.plainList([])) == [])
        // The next write rewrites it in the smaller form.
        try Self.apply([2_001], batch: 1, to: store)
        #expect(try Self.record(in: store) == Self.runRecord([(978, 1_024)]))
    }

    @Test("membership by binary search over the runs agrees with the expanded tids, in both stored forms")
    func membershipByRuns() throws {
        var random = SeededRandomNumberGenerator(seed: 0x7_1D5)
        for round in 0..<200 {
            // Sparse, dense and in-between sets near the top of the range too.
            let base: UInt64 = round % 5 == 0 ? UInt64.max - 3000 : UInt64.random(in: 0...1_000_000, using: &random)
            let spread = UInt64([5, 300, 3000][round % 3])
            let tids = Set((0..<Int.random(in: 0...Service.dedupWindow, using: &random)).map { _ in
                base + UInt64.random(in: 0...spread, using: &random)
            })
            let expected = tids.sorted()
            for bytes in [Service.encodeApplied(expected, runs: true), Service.encodeApplied(expected, runs: false)] {
                let record = try AppliedTids(decoding: bytes, runs: true)
                #expect(record.tids == expected && record.count == expected.count)
                #expect(record.oldest == expected.first)
                for _ in 0..<50 {
                    let probe = base &+ UInt64.random(in: 0...(spread + 2), using: &random) &- 1
                    #expect(record.contains(probe) == tids.contains(probe), "round \(round), tid \(probe)")
                }
                for tid in expected.prefix(3) + expected.suffix(3) { #expect(record.contains(tid)) }
            }
        }
        // Adjacent runs as another writer may store them read as one run.
        let adjacent = try AppliedTids(decoding: Self.runRecord([(10, 5), (15, 5), (30, 1)]), runs: true)
        #expect(adjacent.runs.count == 2 && adjacent.count == 11 && adjacent.contains(19) && !adjacent.contains(20))
    }

    @Test("a corrupt run record is refused", arguments: [
        ("a run of length 0", AppliedTidRecordTests.runRecord([(5, 0)])),
        ("a run of length 0 after a valid one", AppliedTidRecordTests.runRecord([(5, 3), (20, 0)])),
        ("overlapping runs", AppliedTidRecordTests.runRecord([(10, 5), (12, 3)])),
        ("the same run twice", AppliedTidRecordTests.runRecord([(10, 5), (10, 5)])),
        ("descending runs", AppliedTidRecordTests.runRecord([(100, 2), (10, 2)])),
        ("a run past UInt64.max", AppliedTidRecordTests.runRecord([(UInt64.max - 1, 3)])),
        ("a run past UInt64.max after a valid one", AppliedTidRecordTests.runRecord([(1, 1), (UInt64.max, 2)])),
        ("one run of 1 025 tids", AppliedTidRecordTests.runRecord([(1, 1_025)])),
        ("runs of more than 1 024 tids together", AppliedTidRecordTests.runRecord([(1, 600), (1_000, 425)])),
        ("a run of length UInt32.max", AppliedTidRecordTests.runRecord([(1, .max)])),
        ("trailing bytes", AppliedTidRecordTests.runRecord([(1, 10)], trailing: [0])),
        ("a missing run", Array(AppliedTidRecordTests.runRecord([(1, 10), (20, 10)]).dropLast(12))),
        ("a truncated run", Array(AppliedTidRecordTests.runRecord([(1, 10)]).dropLast(1))),
        ("a run count past the bytes", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        ("the marker alone", [0xFF, 0xFF, 0xFF, 0xFF]),
        ("a list with trailing bytes", AppliedTidRecordTests.plainList([1, 2]) + [0]),
        ("a truncated list", Array(AppliedTidRecordTests.plainList([1, 2]).dropLast(1))),
    ] as [(String, [UInt8])])
    func corruptRecordThrows(what: String, bytes: [UInt8]) throws {
        #expect(throws: DecodeError.self, "\(what)") { try Service.decodeApplied(bytes) }
        let store = InMemoryStore()
        try store.put(Service.clientsPrefix, Service.clientKey(0xC1), bytes)
        #expect(throws: StoreError.self, "\(what)") { try Service().appliedTids(clientID: 0xC1, in: store) }
    }

    @Test("a tid twice in one batch (a resend) is recorded once; so is one already recorded")
    func duplicatesRecordedOnce() throws {
        let store = InMemoryStore()
        let service = Service(writesRuns: true)
        let batch = [Self.put(1), Self.put(2), Self.put(2), Self.put(3), Self.put(1)]
        try store.apply(service.transaction(applying: batch, in: store))
        #expect(try service.appliedTids(clientID: 0xC1, in: store) == [1, 2, 3])
        #expect(try Self.record(in: store) == Self.runRecord([(1, 3)]))
        // A later batch resends 3 beside 4 and 5: one run, 1…5.
        try store.apply(service.transaction(applying: [Self.put(3), Self.put(4), Self.put(5)], in: store))
        #expect(try service.appliedTids(clientID: 0xC1, in: store) == [1, 2, 3, 4, 5])
        #expect(try Self.record(in: store) == Self.runRecord([(1, 5)]))
        // Duplicates do not push remembered tids out of a full window.
        try Self.apply(6...1_024, batch: 50, to: store)
        try store.apply(service.transaction(applying: [Self.put(1_024), Self.put(1_024), Self.put(1_024)], in: store))
        #expect(try service.appliedTids(clientID: 0xC1, in: store) == Array(1...1_024))
        #expect(try service.state(ofTid: 1, clientID: 0xC1, in: store) == .applied)
        // Each client has its own record.
        try store.apply(service.transaction(applying: [Self.put(9, client: 0xC2), Self.put(9, client: 0xC2)], in: store))
        #expect(try service.appliedTids(clientID: 0xC2, in: store) == [9])
        #expect(try Self.record(of: 0xC2, in: store) == Self.plainList([9]))
    }

    // MARK: Helpers

    /// Ascending distinct tids, at most a window of them, in clumps and gaps (so both forms win often).
    static func randomTids(_ random: inout SplitMix) -> [UInt64] {
        var tids: [UInt64] = []
        var next = random.next() % 1_000_000
        let target = Int(random.next() % UInt64(Service.dedupWindow)) + 1
        let clumpiness = random.next() % 4
        while tids.count < target {
            let run = Int(random.next() % (clumpiness == 0 ? 2 : clumpiness * 8)) + 1
            for _ in 0..<min(run, target - tids.count) {
                tids.append(next)
                next += 1
            }
            next += random.next() % 5 + 1
        }
        return tids
    }

    /// The maximal runs of ascending distinct `tids`.
    static func runs(of tids: [UInt64]) -> [(first: UInt64, length: UInt32)] {
        var runs: [(first: UInt64, length: UInt32)] = []
        for tid in tids {
            if let last = runs.last, last.first + UInt64(last.length) == tid {
                runs[runs.count - 1].length += 1
            } else {
                runs.append((tid, 1))
            }
        }
        return runs
    }
}

/// SplitMix64: a seeded generator, so a failing case can be reproduced.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
