import MonSyncCore

/// A client's applied-tid record as runs of consecutive tids, ascending: what the leader consults
/// for every write it receives, so asking whether a tid was applied costs a binary search over the
/// runs, not the expansion of up to ``KeyValueService/dedupWindow`` tids.
///
/// A client with many writes in flight (one `MonitorClient` shared by many tasks, as
/// `monsync bench --connections` does) has a full window; expanding it for each of its writes was
/// a tenth of the leader's CPU at 10 000 writes/s.
struct AppliedTids: Sendable, Hashable {
    struct Run: Sendable, Hashable {
        var first: UInt64
        var length: UInt32
        var last: UInt64 { first + (UInt64(length) - 1) }
    }

    /// The runs, ascending, disjoint and not adjacent.
    private(set) var runs: [Run] = []
    /// How many tids the runs hold.
    private(set) var count = 0

    /// No tid applied.
    init() {}

    /// The record of `tids`, in any order, duplicates ignored.
    init<S: Sequence<UInt64>>(_ tids: S) {
        for tid in tids.sorted() { append(tid) }
    }

    /// Decodes a stored record in either form (``KeyValueService/encodeApplied(_:runs:)``); a
    /// record whose runs overlap, go backwards, overflow or hold more than
    /// ``KeyValueService/dedupWindow`` tids is corrupt. With `runs` false (a build before them),
    /// a runs record is corrupt, as such a build found it.
    init(decoding bytes: [UInt8], runs allowed: Bool) throws(DecodeError) {
        var decoder = WireDecoder(bytes)
        if allowed, bytes.count >= 4, bytes.prefix(4).elementsEqual([0xFF, 0xFF, 0xFF, 0xFF]) {
            self.init()
            _ = try decoder.decodeUInt32()
            let stored = try decoder.decodeList(field: "applied tid runs", minimumElementSize: 12) {
                (d: inout WireDecoder) throws(DecodeError) -> Run in Run(first: try d.decodeUInt64(), length: try d.decodeUInt32())
            }
            try decoder.expectEnd()
            for run in stored {
                guard run.length > 0, Int(run.length) <= KeyValueService.dedupWindow - count else {
                    throw .invalidField(name: "applied tid run length", value: UInt64(run.length))
                }
                let (_, overflow) = run.first.addingReportingOverflow(UInt64(run.length) - 1)
                guard !overflow, runs.last.map({ $0.last < run.first }) ?? true else {
                    throw .invalidField(name: "applied tid run", value: run.first)
                }
                // Adjacent stored runs (a writer that did not merge them) are one run here.
                if let last = runs.last, last.last + 1 == run.first {
                    runs[runs.count - 1].length += run.length
                } else {
                    runs.append(run)
                }
                count += Int(run.length)
            }
            return
        }
        let tids = try decoder.decodeList(field: "applied tids", minimumElementSize: 8) {
            (d: inout WireDecoder) throws(DecodeError) -> UInt64 in try d.decodeUInt64()
        }
        try decoder.expectEnd()
        self.init(tids)
    }

    /// The oldest tid remembered.
    var oldest: UInt64? { runs.first?.first }

    /// Whether `tid` is in the record.
    func contains(_ tid: UInt64) -> Bool {
        // The first run whose last tid is not below `tid`.
        var low = 0
        var high = runs.count
        while low < high {
            let middle = (low + high) / 2
            if runs[middle].last < tid { low = middle + 1 } else { high = middle }
        }
        return low < runs.count && runs[low].first <= tid
    }

    /// Every tid, ascending.
    var tids: [UInt64] {
        var tids: [UInt64] = []
        tids.reserveCapacity(count)
        for run in runs { tids.append(contentsOf: run.first...run.last) }
        return tids
    }

    /// Adds `tid`, which is above every tid held (or equal to the last: ignored).
    private mutating func append(_ tid: UInt64) {
        if let last = runs.last {
            if last.last >= tid { return }
            if last.last + 1 == tid {
                runs[runs.count - 1].length += 1
                count += 1
                return
            }
        }
        runs.append(Run(first: tid, length: 1))
        count += 1
    }
}
