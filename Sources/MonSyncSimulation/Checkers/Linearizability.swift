// Linearizability.swift
//
// A linearizability checker for key-value histories recorded by the simulator: the
// Wing & Gong search with Lowe's memoisation, as in Porcupine's `checkSingle`, run per key.
// Standard library only, so the checker can run anywhere the simulator runs.

// MARK: - History

/// One client operation of a KV history, with times in nanoseconds of the simulator's global clock.
///
/// A history is what the clients *saw*, not what the cluster did: the checker decides whether
/// some single order of these operations, consistent with real time, explains every answer.
public struct KVOperation: Sendable, Hashable {
    /// What the client asked for. Keys are independent registers, so there are no ranges or
    /// multi-key operations: everything the checker needs to know fits one register.
    public enum Kind: Sendable, Hashable {
        /// Set the key to the value.
        case put([UInt8])
        /// Remove the key (a later `get` answers `nil`).
        case delete
        /// Read the key.
        case get
    }

    /// What the client learnt. `.unknown` exists because a timed-out request may still be
    /// committed later (or never): treating it as failed would report false violations, and
    /// treating it as done would hide real ones.
    public enum Outcome: Sendable, Hashable {
        /// A `put` or `delete` was acknowledged. (On a `get` it carries no answer, so such a `get`
        /// is treated like `.unknown`.)
        case ok
        /// A `get`'s answer, `nil` meaning "not found". (On a `put` or `delete` it still proves
        /// the request was answered, so it is treated like `.ok`.)
        case value([UInt8]?)
        /// The client gave up (time-out, lost connection). A write may or may not have taken
        /// effect, at any time after its invocation; a `get` with this outcome constrains nothing
        /// and is dropped.
        case unknown
    }

    /// Unique within the history; used only to order ties and to name operations in reports.
    public var id: Int
    /// The client that issued the operation; only shown in reports (a client's own operations
    /// are ordered by their times, like everyone else's).
    public var client: Int
    /// The key the operation reads or writes.
    public var key: String
    /// What the operation does.
    public var kind: Kind
    /// When the client sent the request.
    public var invoked: UInt64
    /// When the client received the answer; `nil` when the outcome is `.unknown`. A value
    /// earlier than `invoked` is read as `invoked`; a known outcome without a time is treated as
    /// "answered at some unknown time", i.e. it must be linearised but has no deadline.
    public var completed: UInt64?
    /// What the client was told.
    public var outcome: Outcome

    /// An operation of a history; see the properties for each argument.
    public init(
        id: Int,
        client: Int,
        key: String,
        kind: Kind,
        invoked: UInt64,
        completed: UInt64?,
        outcome: Outcome
    ) {
        self.id = id
        self.client = client
        self.key = key
        self.kind = kind
        self.invoked = invoked
        self.completed = completed
        self.outcome = outcome
    }
}

/// The checker's answer. There are three, not two, because the search is exponential in the
/// worst case: a bounded search must be able to say "I don't know" rather than hang or guess.
public enum LinearizabilityVerdict: Sendable, Hashable {
    /// Every key's history has a linearisation.
    case linearizable
    /// The history of `key` has none. `operations`, sorted by invocation, are the key's whole
    /// history or, when one exists that is not linearizable on its own (and so can be read by a
    /// human, or fed back to the checker, as a reproduction), a smaller part of it: the few
    /// operations a pre-check found in conflict, or a window around the point where the
    /// deepest partial linearisation got stuck.
    case violation(key: String, operations: [KVOperation])
    /// The search of `key` ran out of its step budget; no other key had a violation.
    case unknown(key: String)
}

// MARK: - Checker

/// Checks a KV history for linearizability, one key at a time.
///
/// Linearizability is local (P-compositional): a history is linearizable iff each key's
/// sub-history is, so each key is checked alone, which keeps the exponential search small.
/// Each key is a register that starts absent. The search is Wing & Gong's: repeatedly pick an
/// operation that could take effect first (one invoked before the earliest pending response),
/// apply it to the register, and backtrack when some response comes due unexplained. Lowe's
/// memoisation prunes it: a (set of linearised operations, register value) pair already
/// explored is never explored again, since what can follow depends on nothing else.
///
/// Real time: operation A precedes B only when A's response is *strictly* earlier than B's
/// invocation. Events at the same nanosecond are treated as concurrent, because the
/// simulator's global clock does not say which of two simultaneous events happened first;
/// this can only accept more histories, never report a false violation.
///
/// Writes whose outcome is `.unknown` have no response (it is +∞) and are optional: the search
/// may linearise them anywhere after their invocation or never. A history is linearizable iff
/// all the other operations can be linearised.
///
/// Before searching, two polynomial checks refute the commonest violations outright, with a
/// handful of operations as evidence: a read of a value no put had been invoked for, and
/// (Gibbons & Korach's zones) a read that sees a value overwritten before it started. The
/// second needs the value to have been written by exactly one put, so histories whose puts
/// write distinct values get both faster and sharper verdicts; the search handles the rest.
public struct LinearizabilityChecker: Sendable {
    /// The most search steps spent on one key before giving up with `.unknown`, so that a
    /// pathological history costs a bounded time instead of hanging a simulation run. A step is
    /// one look at an operation (trying, skipping or undoing it); 2 million take some tens of
    /// milliseconds, far more than a history of a few hundred operations usually needs.
    public let stepBudget: Int

    /// A checker that spends at most `stepBudget` search steps on one key.
    public init(stepBudget: Int = 2_000_000) {
        // The memo table indexes its entries with Int32; it never holds more entries than steps.
        self.stepBudget = max(1, min(stepBudget, Int(Int32.max)))
    }

    /// Checks every key and reports the first key (in key order) that is not linearizable; if
    /// none is, the first key whose search ran out of budget, so a definite violation is never
    /// hidden behind an inconclusive key.
    public func check(_ history: [KVOperation]) -> LinearizabilityVerdict {
        var byKey: [String: [Int]] = [:]
        for index in history.indices {
            byKey[history[index].key, default: []].append(index)
        }
        var scratch = RegisterSearch()
        var firstUnknown: String?
        for (key, indices) in byKey.sorted(by: { $0.key < $1.key }) {
            switch checkKey(key, indices: indices, of: history, scratch: &scratch) {
            case .linearizable:
                continue
            case .violation(let operations):
                return .violation(key: key, operations: operations)
            case .exhausted:
                if firstUnknown == nil { firstUnknown = key }
            }
        }
        if let key = firstUnknown { return .unknown(key: key) }
        return .linearizable
    }

    /// A human-readable account of the verdict, for test failures and simulator logs: the key,
    /// then one line per operation, `client 3 [12.345 ms → 15.000 ms] get k1 → "v7"`.
    public func describe(_ verdict: LinearizabilityVerdict) -> String {
        verdict.description
    }

    // MARK: Per key

    private enum KeyResult {
        case linearizable
        case violation([KVOperation])
        case exhausted
    }

    private func checkKey(
        _ key: String,
        indices: [Int],
        of history: [KVOperation],
        scratch: inout RegisterSearch
    ) -> KeyResult {
        let problem = RegisterProblem(indices: indices, of: history)
        if let core = problem.core {
            return .violation(core.sorted { Self.byInvocation(history[$0], history[$1]) }.map { history[$0] })
        }
        let blocking: Int
        switch scratch.run(problem, budget: stepBudget) {
        case .linearizable: return .linearizable
        case .exhausted: return .exhausted
        case .stuck(let operation): blocking = problem.operations[operation].source
        }
        let whole = indices.sorted { Self.byInvocation(history[$0], history[$1]) }
        let window = Self.window(around: blocking, in: whole, of: history)
        if window.count < whole.count {
            // Keep the window only if it fails on its own; otherwise the context that makes the
            // violation lies outside it, and only the whole history is an honest report.
            let sub = RegisterProblem(indices: window, of: history)
            if sub.core != nil { return .violation(window.map { history[$0] }) }
            if case .stuck = scratch.run(sub, budget: stepBudget) {
                return .violation(window.map { history[$0] })
            }
        }
        return .violation(whole.map { history[$0] })
    }

    private static func byInvocation(_ a: KVOperation, _ b: KVOperation) -> Bool {
        (a.invoked, a.id) < (b.invoked, b.id)
    }

    /// The operations a reader needs to see why `blocking` could not be explained: those
    /// concurrent with it, the last write that completed before it, for a read the latest write
    /// of the value it returned, and the two operations that completed just before it.
    private static func window(around blocking: Int, in sorted: [Int], of history: [KVOperation]) -> [Int] {
        let stuck = history[blocking]
        let start = stuck.invoked
        let end = RegisterProblem.returnTime(of: stuck)
        var chosen = Set<Int>()
        var lastWrite: (index: Int, time: UInt64)?
        var recent: [(index: Int, time: UInt64)] = []
        var witness: (index: Int, time: UInt64)?
        let wanted: [UInt8]?? = {
            if case .get = stuck.kind, case .value(let value) = stuck.outcome { return .some(value) }
            return .none
        }()
        for index in sorted {
            let operation = history[index]
            if operation.kind == .get && !RegisterProblem.isAnswered(operation) { continue }
            let returned = RegisterProblem.returnTime(of: operation)
            if operation.invoked <= end && returned >= start {
                chosen.insert(index)
                continue
            }
            let isWrite: Bool
            if case .get = operation.kind { isWrite = false } else { isWrite = true }
            if returned < start {
                if isWrite, lastWrite.map({ returned > $0.time }) ?? true { lastWrite = (index, returned) }
                recent.append((index, returned))
            }
            if case .some(.some(let value)) = wanted, case .put(let written) = operation.kind,
                written == value, operation.invoked <= end,
                witness.map({ operation.invoked > $0.time }) ?? true
            {
                witness = (index, operation.invoked)
            }
        }
        if let lastWrite { chosen.insert(lastWrite.index) }
        if let witness { chosen.insert(witness.index) }
        recent.sort { $0.time > $1.time }
        for entry in recent.prefix(2) { chosen.insert(entry.index) }
        return sorted.filter { chosen.contains($0) }
    }
}

// MARK: - One register

/// One key's history in the form the search wants: values interned to small integers (0 is
/// "absent"), so a register state is an `Int32` and comparing states never touches bytes.
///
/// Building it also runs two polynomial checks that refute the commonest violations (a read
/// of a value nobody wrote in time; a stale read) without a search. Without them, refuting a
/// history means exploring every linearisation of everything before the bad read, which for a
/// few hundred highly concurrent operations can exceed any reasonable budget.
struct RegisterProblem {
    struct Operation {
        /// Index into the caller's history.
        var source: Int
        var call: UInt64
        /// `UInt64.max` for "never answered".
        var ret: UInt64
        var isRead: Bool
        /// Written value for a write (0 for delete); expected value for a read.
        var value: Int32
        /// An unknown-outcome write: may stay unlinearised.
        var optional: Bool
    }

    var operations: [Operation] = []
    /// Distinct values, counting "absent" (id 0).
    var valueCount = 1
    /// When a pre-check refutes the history: a few operations (indices into the caller's
    /// history) that are not linearizable even on their own.
    var core: [Int]?

    /// Whether a read carries an answer; the others constrain nothing and are dropped.
    static func isAnswered(_ read: KVOperation) -> Bool {
        if case .value = read.outcome { return true }
        return false
    }

    static func returnTime(of operation: KVOperation) -> UInt64 {
        guard operation.outcome != .unknown, let completed = operation.completed else { return .max }
        return max(completed, operation.invoked)
    }

    /// A value as a dictionary key, hashed in one call rather than byte by byte.
    struct Bytes: Hashable {
        var bytes: [UInt8]

        func hash(into hasher: inout Hasher) {
            hasher.combine(bytes.count)
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    init(indices: [Int], of history: [KVOperation]) {
        var ids: [Bytes: Int32] = [:]
        ids.reserveCapacity(indices.count)
        operations.reserveCapacity(indices.count)
        for index in indices {
            let operation = history[index]
            let ret = Self.returnTime(of: operation)
            switch operation.kind {
            case .put(let value):
                operations.append(.init(
                    source: index, call: operation.invoked, ret: ret, isRead: false,
                    value: Self.intern(value, &ids, &valueCount), optional: operation.outcome == .unknown))
            case .delete:
                operations.append(.init(
                    source: index, call: operation.invoked, ret: ret, isRead: false, value: 0,
                    optional: operation.outcome == .unknown))
            case .get:
                guard case .value(let answer) = operation.outcome else { continue }
                operations.append(.init(
                    source: index, call: operation.invoked, ret: ret, isRead: true,
                    value: answer.map { Self.intern($0, &ids, &valueCount) } ?? 0, optional: false))
            }
        }

        // A write that may not have happened, and that no read could have observed, can be
        // left out: dropping it from a linearisation breaks nothing, since no read sees its value.
        // Kept, it would stay a candidate for the rest of the search and multiply its states.
        var lastReadResponse = [UInt64?](repeating: nil, count: valueCount)
        for operation in operations where operation.isRead {
            let value = Int(operation.value)
            lastReadResponse[value] = max(lastReadResponse[value] ?? 0, operation.ret)
        }
        operations.removeAll { operation in
            operation.optional && !(lastReadResponse[Int(operation.value)].map { $0 >= operation.call } ?? false)
        }
        core = unwrittenRead() ?? clusterConflict()
    }

    private static func intern(_ value: [UInt8], _ ids: inout [Bytes: Int32], _ count: inout Int) -> Int32 {
        let id = Int32(count)
        let existing = found(&ids[Bytes(bytes: value), default: id])  // one lookup, inserting
        if existing == id { count += 1 }
        return existing
    }

    private static func found(_ id: inout Int32) -> Int32 { id }

    /// A read of a value that no put had even been invoked by the time the read returned.
    private func unwrittenRead() -> [Int]? {
        var earliestWrite = [UInt64](repeating: .max, count: valueCount)
        for operation in operations where !operation.isRead {
            let value = Int(operation.value)
            earliestWrite[value] = min(earliestWrite[value], operation.call)
        }
        guard let read = operations.first(where: { read in
            read.isRead && read.value != 0 && earliestWrite[Int(read.value)] > read.ret
        }) else { return nil }
        return [read.source] + operations.filter { !$0.isRead && $0.value == read.value }.map(\.source)
    }

    /// Gibbons & Korach's zones, used as a necessary condition. Take a value written by exactly
    /// one put: that put and the reads of the value (its cluster) must be linearised as one
    /// unbroken run, since any other write in between would change the value for good. So of
    /// two clusters, one runs wholly before the other, which real time forbids when each
    /// contains an operation that returned before some operation of the other was invoked:
    /// `minReturn(B) < maxCall(A)` and `minReturn(A) < maxCall(B)`. An acknowledged put no
    /// one reads is a cluster of its own. Sorting "forward" zones (`minReturn < maxCall`) by
    /// start finds such a pair in O(n log n); two "backward" zones never conflict.
    private func clusterConflict() -> [Int]? {
        var writers = [Int32](repeating: 0, count: valueCount)
        var writer = [Int](repeating: 0, count: valueCount)
        for (position, operation) in operations.enumerated() where !operation.isRead {
            writers[Int(operation.value)] += 1
            writer[Int(operation.value)] = position
        }
        var low = [UInt64](repeating: .max, count: valueCount)  // earliest return in the cluster
        var high = [UInt64](repeating: 0, count: valueCount)  // latest call in the cluster
        var reads = [Int32](repeating: 0, count: valueCount)
        for operation in operations where operation.value != 0 && writers[Int(operation.value)] == 1 {
            let value = Int(operation.value)
            low[value] = min(low[value], operation.ret)
            high[value] = max(high[value], operation.call)
            if operation.isRead { reads[value] += 1 }
        }
        var forward: [Int32] = []
        var backward: [Int32] = []
        for value in 1..<valueCount where writers[value] == 1 {
            // An unknown-outcome put may not have happened, unless someone read its value.
            if operations[writer[value]].optional && reads[value] == 0 { continue }
            if low[value] < high[value] {
                forward.append(Int32(value))
            } else {
                backward.append(Int32(value))
            }
        }
        func conflict(_ a: Int32, _ b: Int32) -> [Int]? {
            guard low[Int(b)] < high[Int(a)] && low[Int(a)] < high[Int(b)] else { return nil }
            return operations.filter { $0.value == a || $0.value == b }.map(\.source)
        }
        forward.sort { low[Int($0)] < low[Int($1)] }
        var widest: Int32? = nil  // the zone seen so far that reaches furthest
        for zone in forward {
            if let widest, let core = conflict(widest, zone) { return core }
            if widest.map({ high[Int(zone)] > high[Int($0)] }) ?? true { widest = zone }
        }
        // Forward zones are now disjoint, so sorted by end too: the only one a backward zone
        // can sit inside is the last one starting before the backward zone's latest call.
        for zone in backward {
            var lower = 0
            var upper = forward.count
            while lower < upper {
                let middle = (lower + upper) / 2
                if low[Int(forward[middle])] < high[Int(zone)] { lower = middle + 1 } else { upper = middle }
            }
            if lower > 0, let core = conflict(forward[lower - 1], zone) { return core }
        }
        return nil
    }
}

/// The Wing & Gong search over one register, with scratch storage reused from key to key so a
/// check allocates per key, not per step.
///
/// Plain Wing & Gong with Lowe's memo is exponential in the number of concurrent operations,
/// and a register's histories have a lot of harmless freedom to explore. Four rules cut it
/// down; each keeps a linearisation reachable whenever one exists, so none changes a verdict:
///
/// 1. A read the current value explains, if it can go next, is a node's only child. Moving
///    it to the front of any linearisation of the rest changes no answer (a read changes
///    nothing) and breaks no real-time order (nothing left returned before it was invoked).
/// 2. If reads of the current value are still to come and no write left can bring the value
///    back, no write may go next: it would strand those reads for good.
/// 3. An optional write must be followed by a read: one followed by a write (or by nothing)
///    is invisible and can be dropped from the linearisation. Since this makes a node's
///    future depend on whether it was entered by an optional write, that flag is part of the
///    memo key.
/// 4. Optional writes of one value are interchangeable once invoked, so they are only
///    linearised in invocation order: otherwise each subset of them would be explored.
struct RegisterSearch {
    enum Outcome {
        case linearizable
        /// The deepest partial linearisation got stuck when this operation (an index into the
        /// operations) came due without having been linearised.
        case stuck(operation: Int)
        case exhausted
    }

    // The event list, as in Porcupine: entry 0 is the head sentinel, entries 1...2n the calls
    // and returns sorted by time, doubly linked so linearising an operation can unlink its two
    // entries and backtracking can relink them in O(1) ("dancing links").
    private var next: [Int32] = []
    private var prev: [Int32] = []
    /// Per entry: the operation index, complemented (`~op`) for a return entry.
    private var entryOperation: [Int32] = []
    private var callEntry: [Int32] = []
    private var returnEntry: [Int32] = []
    private var linearised: [UInt64] = []
    /// The choices made so far (a forced read complemented, `~op`: it has no siblings to try),
    /// and the register's value before each.
    private var stackOperation: [Int32] = []
    private var stackState: [Int32] = []
    /// Per value: reads still to linearise that expect it, and writes still to linearise
    /// (optional ones included) that write it.
    private var pendingReads: [Int32] = []
    private var pendingWrites: [Int32] = []
    private var seen = SeenSet()
    private var events: [(time: UInt64, code: Int)] = []
    /// Per optional write: the optional write of the same value invoked just before it, or -1.
    private var previousTwin: [Int32] = []
    private var lastOptional: [Int32] = []

    mutating func run(_ problem: RegisterProblem, budget: Int) -> Outcome {
        let operations = problem.operations
        let count = operations.count
        var mandatory = 0
        pendingReads.removeAll(keepingCapacity: true)
        pendingWrites.removeAll(keepingCapacity: true)
        pendingReads.append(contentsOf: repeatElement(0, count: problem.valueCount))
        pendingWrites.append(contentsOf: repeatElement(0, count: problem.valueCount))
        for operation in operations {
            if !operation.optional { mandatory += 1 }
            if operation.isRead {
                pendingReads[Int(operation.value)] += 1
            } else {
                pendingWrites[Int(operation.value)] += 1
            }
        }
        if mandatory == 0 { return .linearizable }
        buildEvents(operations, valueCount: problem.valueCount)

        let words = (count + 63) >> 6
        linearised.removeAll(keepingCapacity: true)
        linearised.append(contentsOf: repeatElement(0, count: words))
        stackOperation.removeAll(keepingCapacity: true)
        stackState.removeAll(keepingCapacity: true)
        seen.reset(wordCount: words, expectedEntries: count * 4)

        var state: Int32 = 0
        var afterOptionalWrite = false  // the last operation linearised was an optional write
        var setHash: UInt64 = 0  // Zobrist hash of `linearised`: XOR of the members' keys
        var steps = 0
        var deepest = -1
        var blocking = 0
        var entry = 0  // 0 (the head): a node has just been entered
        while true {
            steps += 1
            if steps > budget { return .exhausted }
            var forced = false
            var backtrack = false
            if entry == 0 {
                // Entering a node: rules 1 to 3 (see the type's documentation).
                entry = Int(next[0])
                var scan = entry
                while entryOperation[scan] >= 0 {
                    let candidate = operations[Int(entryOperation[scan])]
                    if candidate.isRead && candidate.value == state {
                        entry = scan
                        forced = true
                        break
                    }
                    scan = Int(next[scan])
                    steps += 1
                }
                if !forced && (afterOptionalWrite || pendingReads[Int(state)] > 0 && pendingWrites[Int(state)] == 0) {
                    if stackOperation.count > deepest {
                        deepest = stackOperation.count
                        blocking = ~Int(entryOperation[scan])
                        if pendingReads[Int(state)] > 0 && pendingWrites[Int(state)] == 0 {
                            // Rule 2: the culprit is the read a write would strand.
                            blocking = strandedRead(operations, value: state) ?? blocking
                        }
                    }
                    backtrack = true
                }
            }
            if !backtrack {
                let tagged = Int(entryOperation[entry])
                if tagged >= 0 {
                    let operation = operations[tagged]
                    let twin = Int(previousTwin[tagged])
                    if operation.isRead && operation.value != state
                        || twin >= 0 && linearised[twin >> 6] & (UInt64(1) << UInt64(twin & 63)) == 0
                    {
                        entry = Int(next[entry])
                        continue
                    }
                    let newState = operation.isRead ? state : operation.value
                    // The node's identity includes the flag, since rule 3 makes it shape the future.
                    let memoState = UInt64(UInt32(bitPattern: newState)) << 1 | (operation.optional ? 1 : 0)
                    let word = tagged >> 6
                    let bit = UInt64(1) << UInt64(tagged & 63)
                    linearised[word] |= bit
                    let newHash = setHash ^ Self.zobrist(tagged)
                    if seen.insert(linearised, state: memoState, hash: Self.combine(newHash, memoState)) {
                        stackOperation.append(forced ? ~Int32(tagged) : Int32(tagged))
                        stackState.append(state)
                        state = newState
                        afterOptionalWrite = operation.optional
                        setHash = newHash
                        if operation.isRead {
                            pendingReads[Int(operation.value)] -= 1
                        } else {
                            pendingWrites[Int(operation.value)] -= 1
                        }
                        if !operation.optional {
                            mandatory -= 1
                            if mandatory == 0 { return .linearizable }
                        }
                        unlink(entry)
                        unlink(Int(returnEntry[tagged]))
                        entry = 0
                        continue
                    }
                    // Explored before, and failed (success ends the search).
                    linearised[word] &= ~bit
                    entry = Int(next[entry])
                    backtrack = forced
                } else {
                    // A response came due before its operation could be linearised.
                    if stackOperation.count > deepest {
                        deepest = stackOperation.count
                        blocking = ~tagged
                    }
                    backtrack = true
                }
            }
            // Undo the last choice and go on with its next sibling; a forced read has no
            // siblings, so its failure is its parent's failure too.
            while backtrack {
                guard let top = stackOperation.popLast().map(Int.init) else {
                    return .stuck(operation: blocking)
                }
                let undone = top >= 0 ? top : ~top
                let operation = operations[undone]
                state = stackState.removeLast()
                afterOptionalWrite = stackOperation.last.map { operations[Int($0 >= 0 ? $0 : ~$0)].optional } ?? false
                setHash ^= Self.zobrist(undone)
                linearised[undone >> 6] &= ~(UInt64(1) << UInt64(undone & 63))
                if operation.isRead {
                    pendingReads[Int(operation.value)] += 1
                } else {
                    pendingWrites[Int(operation.value)] += 1
                }
                if !operation.optional { mandatory += 1 }
                let call = Int(callEntry[undone])
                relink(Int(returnEntry[undone]))
                relink(call)
                entry = Int(next[call])
                backtrack = top < 0
            }
        }
    }

    /// The earliest-invoked read of `value` not yet linearised (for reports only).
    private func strandedRead(_ operations: [RegisterProblem.Operation], value: Int32) -> Int? {
        var found: Int?
        for (index, operation) in operations.enumerated()
        where operation.isRead && operation.value == value
            && linearised[index >> 6] & (UInt64(1) << UInt64(index & 63)) == 0
            && found.map({ operation.call < operations[$0].call }) ?? true
        {
            found = index
        }
        return found
    }

    /// Builds the event list. At equal times calls sort before returns, which is what makes
    /// same-nanosecond events concurrent (see `LinearizabilityChecker`).
    private mutating func buildEvents(_ operations: [RegisterProblem.Operation], valueCount: Int) {
        let count = operations.count
        events.removeAll(keepingCapacity: true)
        for (index, operation) in operations.enumerated() {
            events.append((operation.call, 2 * index))  // event code: operation << 1 | is-return
            events.append((operation.ret, 2 * index + 1))
        }
        events.sort { ($0.time, $0.code & 1, $0.code) < ($1.time, $1.code & 1, $1.code) }
        let entries = 2 * count + 1
        next.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        entryOperation.removeAll(keepingCapacity: true)
        next.append(contentsOf: repeatElement(-1, count: entries))
        prev.append(contentsOf: repeatElement(-1, count: entries))
        entryOperation.append(contentsOf: repeatElement(0, count: entries))
        callEntry.removeAll(keepingCapacity: true)
        returnEntry.removeAll(keepingCapacity: true)
        callEntry.append(contentsOf: repeatElement(0, count: count))
        returnEntry.append(contentsOf: repeatElement(0, count: count))
        next[0] = 1
        for (position, event) in events.enumerated() {
            let entry = position + 1
            let operation = event.code >> 1
            prev[entry] = Int32(position)
            next[entry] = entry == entries - 1 ? -1 : Int32(entry + 1)
            if event.code & 1 == 0 {
                entryOperation[entry] = Int32(operation)
                callEntry[operation] = Int32(entry)
            } else {
                entryOperation[entry] = ~Int32(operation)
                returnEntry[operation] = Int32(entry)
            }
        }
        previousTwin.removeAll(keepingCapacity: true)
        previousTwin.append(contentsOf: repeatElement(-1, count: count))
        lastOptional.removeAll(keepingCapacity: true)
        lastOptional.append(contentsOf: repeatElement(-1, count: valueCount))
        for event in events where event.code & 1 == 0 {
            let operation = operations[event.code >> 1]
            guard operation.optional else { continue }
            previousTwin[event.code >> 1] = lastOptional[Int(operation.value)]
            lastOptional[Int(operation.value)] = Int32(event.code >> 1)
        }
    }

    private mutating func unlink(_ entry: Int) {
        let before = Int(prev[entry])
        let after = Int(next[entry])
        next[before] = Int32(after)
        if after >= 0 { prev[after] = Int32(before) }
    }

    /// Undoes `unlink`; entries must be relinked in the reverse order they were unlinked.
    private mutating func relink(_ entry: Int) {
        let before = Int(prev[entry])
        let after = Int(next[entry])
        next[before] = Int32(entry)
        if after >= 0 { prev[after] = Int32(entry) }
    }

    /// A fixed pseudo-random key per operation (SplitMix64's finaliser), so the hash of the
    /// linearised set is updated in O(1) per step instead of rehashing the bitset.
    @inline(__always)
    static func zobrist(_ operation: Int) -> UInt64 {
        mix(UInt64(truncatingIfNeeded: operation) &+ 0x9E37_79B9_7F4A_7C15)
    }

    @inline(__always)
    static func combine(_ setHash: UInt64, _ state: UInt64) -> UInt64 {
        mix(setHash ^ (state &* 0xD1B5_4A32_D192_ED03))
    }

    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Lowe's memo: the set of (linearised operations, register state) pairs already explored,
/// as an open-addressing hash table over one flat arena of words, so an insertion allocates
/// nothing except when the arena or the table grows.
struct SeenSet {
    private var wordCount = 0
    private var stride = 1
    /// Entry i: `stride` words, the bitset then the state.
    private var arena: [UInt64] = []
    private var hashes: [UInt64] = []
    /// Entry index + 1 per slot; 0 is empty.
    private var slots: [Int32] = []
    private var mask = 0

    mutating func reset(wordCount: Int, expectedEntries: Int) {
        self.wordCount = wordCount
        stride = wordCount + 1
        arena.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        var capacity = 256
        while capacity < expectedEntries * 2 { capacity <<= 1 }
        if slots.count == capacity {
            for index in slots.indices { slots[index] = 0 }
        } else {
            slots = Array(repeating: 0, count: capacity)
        }
        mask = capacity - 1
    }

    /// Adds the pair and returns `true`, or returns `false` if it was already there.
    mutating func insert(_ bits: [UInt64], state stateWord: UInt64, hash: UInt64) -> Bool {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let occupant = Int(slots[slot])
            if occupant == 0 { break }
            let entry = occupant - 1
            if hashes[entry] == hash && matches(entry, bits, stateWord) { return false }
            slot = (slot + 1) & mask
        }
        arena.append(contentsOf: bits)
        arena.append(stateWord)
        hashes.append(hash)
        slots[slot] = Int32(hashes.count)
        if hashes.count * 2 > slots.count { grow() }
        return true
    }

    private func matches(_ entry: Int, _ bits: [UInt64], _ stateWord: UInt64) -> Bool {
        let base = entry * stride
        if arena[base + wordCount] != stateWord { return false }
        for word in 0..<wordCount where arena[base + word] != bits[word] { return false }
        return true
    }

    private mutating func grow() {
        let capacity = slots.count * 2
        slots = Array(repeating: 0, count: capacity)
        mask = capacity - 1
        for entry in hashes.indices {
            var slot = Int(truncatingIfNeeded: hashes[entry]) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(entry + 1)
        }
    }
}

// MARK: - Reports

extension LinearizabilityVerdict: CustomStringConvertible {
    public var description: String {
        switch self {
        case .linearizable:
            return "linearizable"
        case .unknown(let key):
            return "unknown: key \(KVOperation.quoted(key)): the search ran out of steps before finding a linearization or ruling one out"
        case .violation(let key, let operations):
            let these = operations.count == 1 ? "this operation" : "these \(operations.count) operations"
            var text = "not linearizable: key \(KVOperation.quoted(key)): no sequential order of \(these) respects real time and explains every answer:"
            for operation in operations {
                text += "\n  " + operation.description
            }
            return text
        }
    }
}

extension KVOperation: CustomStringConvertible {
    /// `client 3 [12.345 ms → 15.000 ms] get k1 → "v7"  (op 42)`; `∞` for no response.
    public var description: String {
        let end = completed.map(Self.milliseconds) ?? "∞"
        var text = "client \(client) [\(Self.milliseconds(invoked)) → \(end)] "
        switch kind {
        case .put(let value): text += "put \(key) \(Self.render(value))"
        case .delete: text += "delete \(key)"
        case .get: text += "get \(key)"
        }
        switch outcome {
        case .ok: text += " → ok"
        case .unknown: text += " → unknown"
        case .value(let value?): text += " → " + Self.render(value)
        case .value(nil): text += " → nil"
        }
        return text + "  (op \(id))"
    }

    /// Nanoseconds as milliseconds with three decimals (truncated to the microsecond).
    static func milliseconds(_ nanoseconds: UInt64) -> String {
        let micros = String(nanoseconds % 1_000_000 / 1_000)
        return "\(nanoseconds / 1_000_000).\(String(repeating: "0", count: 3 - micros.count))\(micros) ms"
    }

    /// A value as quoted UTF-8 when it is printable text, else as hex; at most 16 bytes shown.
    static func render(_ value: [UInt8]) -> String {
        let limit = 16
        let truncated = value.count > limit
        let shown = Array(value.prefix(limit))
        let suffix = truncated ? "…(\(value.count) bytes)" : ""
        // A cut can split a multi-byte character: try dropping up to three trailing bytes.
        for drop in 0...(truncated ? min(3, shown.count) : 0) {
            let bytes = Array(shown.dropLast(drop))
            let text = String(decoding: bytes, as: UTF8.self)
            if text.utf8.elementsEqual(bytes) && text.unicodeScalars.allSatisfy(isPrintable) {
                return quoted(text) + suffix
            }
        }
        let digits: [Character] = Array("0123456789abcdef")
        var hex = "0x"
        for byte in shown {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0xF)])
        }
        return hex + suffix
    }

    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { result.append("\\") }
            result.unicodeScalars.append(scalar)
        }
        return result + "\""
    }

    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator:
            return false
        default:
            return true
        }
    }
}
