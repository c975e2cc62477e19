import MonSyncSimulation
import Testing

@Suite("Linearizability checker")
struct LinearizabilityTests {
    let checker = LinearizabilityChecker()

    // MARK: Basic register semantics

    @Test func emptyAndSequentialHistoriesAreLinearizable() {
        #expect(checker.check([]) == .linearizable)
        var history = History()
        history.get("k", 0, 1, returns: nil)
        history.put("k", "a", 2, 3)
        history.get("k", 4, 5, returns: "a")
        history.put("k", "b", 6, 7, client: 1)
        history.get("k", 8, 9, returns: "b", client: 2)
        history.delete("k", 10, 11)
        history.get("k", 12, 13, returns: nil, client: 1)
        #expect(checker.check(history.operations) == .linearizable)
    }

    @Test func aStaleReadAfterACompletedWriteIsAViolation() throws {
        var history = History()
        history.put("k", "v1", 0, 10)
        history.put("k", "v2", 20, 30)
        let stale = history.get("k", 40, 50, returns: "v1", client: 1)
        let (key, operations) = try #require(violation(checker.check(history.operations)))
        #expect(key == "k")
        #expect(operations.contains(stale))
        #expect(operations.map(\.invoked) == operations.map(\.invoked).sorted())
    }

    @Test func concurrentOperationsThatCanBeOrderedAreLinearizable() {
        var history = History()
        // B is invoked after A but must take effect before it, since the read sees A's value.
        history.put("k", "A", 0, 100, client: 0)
        history.put("k", "B", 10, 50, client: 1)
        history.get("k", 60, 70, returns: "A", client: 2)
        history.get("k", 110, 120, returns: "A", client: 1)
        // A read concurrent with a write may see either value, and a later read the new one.
        history.put("k", "C", 200, 300, client: 0)
        history.get("k", 210, 220, returns: "A", client: 1)
        history.get("k", 230, 240, returns: "C", client: 2)
        history.get("k", 310, 320, returns: "C", client: 1)
        #expect(checker.check(history.operations) == .linearizable)
    }

    @Test func readsMayNotGoBackInTimeEvenDuringAConcurrentWrite() {
        var history = History()
        history.put("k", "A", 0, 10)
        history.put("k", "C", 20, 100, client: 0)
        history.get("k", 30, 40, returns: "C", client: 1)
        history.get("k", 50, 60, returns: "A", client: 2)  // after a read saw C: too late for A
        #expect(violation(checker.check(history.operations))?.key == "k")
    }

    @Test func aReadOfAValueNeverWrittenIsAViolation() {
        var history = History()
        history.put("k", "v1", 0, 10)
        history.get("k", 20, 30, returns: "ghost")
        #expect(violation(checker.check(history.operations))?.key == "k")

        // Written, but only after the read had already returned.
        var early = History()
        early.get("k", 0, 10, returns: "v1", client: 1)
        early.put("k", "v1", 20, 30)
        #expect(violation(checker.check(early.operations))?.key == "k")
    }

    @Test func deleteThenGetReturnsNil() {
        var history = History()
        history.put("k", "v1", 0, 10)
        history.delete("k", 20, 30)
        history.get("k", 40, 50, returns: nil)
        #expect(checker.check(history.operations) == .linearizable)

        var resurrected = History()
        resurrected.put("k", "v1", 0, 10)
        resurrected.delete("k", 20, 30)
        resurrected.get("k", 40, 50, returns: "v1")
        #expect(violation(checker.check(resurrected.operations))?.key == "k")
    }

    /// Same-nanosecond events are concurrent by design: the global clock cannot say which of
    /// two simultaneous events came first, so the checker assumes the more permissive order.
    @Test func aResponseAndAnInvocationAtTheSameInstantAreConcurrent() {
        var tie = History()
        tie.put("k", "v1", 0, 10)
        tie.put("k", "v2", 20, 30)
        tie.get("k", 30, 40, returns: "v1", client: 1)
        #expect(checker.check(tie.operations) == .linearizable)

        var after = History()
        after.put("k", "v1", 0, 10)
        after.put("k", "v2", 20, 30)
        after.get("k", 31, 40, returns: "v1", client: 1)
        #expect(violation(checker.check(after.operations)) != nil)
    }

    // MARK: Unknown outcomes

    @Test func aWriteWithUnknownOutcomeMayHaveTakenEffect() {
        var history = History()
        history.put("k", "v1", 0, 10)
        history.put("k", "v2", 20, nil)
        history.get("k", 1_000, 1_010, returns: "v2", client: 1)
        #expect(checker.check(history.operations) == .linearizable)
    }

    @Test func aWriteWithUnknownOutcomeMayNotHaveTakenEffect() {
        var history = History()
        history.put("k", "v1", 0, 10)
        history.put("k", "v2", 20, nil)
        history.get("k", 1_000, 1_010, returns: "v1", client: 1)
        #expect(checker.check(history.operations) == .linearizable)

        var deleted = History()
        deleted.put("k", "v1", 0, 10)
        deleted.delete("k", 20, nil)
        deleted.get("k", 1_000, 1_010, returns: "v1", client: 1)
        deleted.get("k", 2_000, 2_010, returns: nil, client: 1)
        #expect(checker.check(deleted.operations) == .linearizable)
    }

    @Test func aWriteWithUnknownOutcomeMayTakeEffectLongAfterItsInvocation() {
        var history = History()
        history.put("k", "v1", 0, 10)
        history.put("k", "v2", 20, nil)
        history.get("k", 1_000, 1_010, returns: "v1", client: 1)
        history.get("k", 2_000, 2_010, returns: "v2", client: 1)
        history.get("k", 3_000, 3_010, returns: "v2", client: 2)
        #expect(checker.check(history.operations) == .linearizable)

        // But once seen it has happened: it cannot be undone later.
        history.get("k", 4_000, 4_010, returns: "v1", client: 2)
        #expect(violation(checker.check(history.operations))?.key == "k")
    }

    @Test func aWriteWithUnknownOutcomeCannotBeSeenBeforeItsInvocation() {
        var history = History()
        history.put("k", "v1", 0, 10)
        history.get("k", 100, 110, returns: "v2", client: 1)
        history.put("k", "v2", 200, nil)
        #expect(violation(checker.check(history.operations))?.key == "k")
    }

    @Test func eachWriteWithUnknownOutcomeTakesEffectAtMostOnce() {
        var history = History()
        history.put("k", "x", 0, nil, client: 0)
        history.put("k", "x", 5, nil, client: 1)
        history.get("k", 100, 110, returns: "x", client: 2)
        history.put("k", "y", 200, 210, client: 2)
        history.get("k", 300, 310, returns: "y", client: 2)
        history.get("k", 400, 410, returns: "x", client: 2)  // the second put of x, landing late
        #expect(checker.check(history.operations) == .linearizable)

        history.get("k", 500, 510, returns: "y", client: 3)
        history.get("k", 600, 610, returns: "x", client: 3)  // a third x, with only two puts of it
        #expect(violation(checker.check(history.operations))?.key == "k")
    }

    @Test func aGetWithUnknownOutcomeConstrainsNothing() {
        var history = History()
        history.put("k", "v1", 0, 10)
        history.getUnknown("k", 20, client: 1)
        history.get("k", 30, 40, returns: "v1")
        #expect(checker.check(history.operations) == .linearizable)
    }

    // MARK: Keys

    @Test func keysAreIndependentRegisters() throws {
        var history = History()
        history.put("a", "1", 0, 10)
        history.put("b", "2", 5, 15, client: 1)
        history.get("a", 20, 30, returns: "1", client: 1)
        history.get("b", 20, 30, returns: "2")
        history.get("c", 20, 30, returns: nil, client: 2)
        #expect(checker.check(history.operations) == .linearizable)

        let wrong = history.get("b", 40, 50, returns: "1", client: 2)  // a's value, read on b
        let (key, operations) = try #require(violation(checker.check(history.operations)))
        #expect(key == "b")
        #expect(operations.contains(wrong))
        #expect(operations.allSatisfy { $0.key == "b" })
    }

    // MARK: Random histories

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func aLargeRandomLinearizableHistoryPasses(seed: UInt64) {
        let history = randomLinearizableHistory(seed: seed, count: 500, keys: 5, clients: 4)
        let verdict = checker.check(history)
        #expect(verdict == .linearizable, "\(checker.describe(verdict))")
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func theSameHistoryWithOneStaleReadFails(seed: UInt64) throws {
        let history = randomLinearizableHistory(seed: seed, count: 500, keys: 5, clients: 4)
        let (mutated, read) = try #require(withOneStaleRead(history))
        let (key, operations) = try #require(violation(checker.check(mutated)))
        #expect(key == read.key)
        #expect(operations.contains(read))
        // A reported window must fail on its own, so it can be used as a reproduction.
        #expect(violation(checker.check(operations))?.key == key)
    }

    @Test(arguments: [5, 6] as [UInt64])
    func theSameHistoryWithOneReadOfAnUnwrittenValueFails(seed: UInt64) throws {
        var history = randomLinearizableHistory(seed: seed, count: 500, keys: 5, clients: 4)
        let index = try #require(history.indices.dropFirst(250).first {
            history[$0].kind == .get && history[$0].completed != nil
        })
        history[index].outcome = .value(Array("never written".utf8))
        #expect(violation(checker.check(history))?.key == history[index].key)
    }

    // MARK: Budget

    /// 24 concurrent puts of two values, then reads of both: impossible, since nothing writes
    /// after the first read. No shortcut applies (the values are not unique), so refuting it
    /// means trying some 2^24 subsets of the puts.
    private func pathological(_ key: String) -> History {
        var history = History()
        for client in 0..<24 {
            history.put(key, client % 2 == 0 ? "a" : "b", 0, 100, client: client)
        }
        history.get(key, 200, 210, returns: "a", client: 24)
        history.get(key, 220, 230, returns: "b", client: 24)
        return history
    }

    @Test func aPathologicalHistoryExhaustsTheBudgetInsteadOfHanging() {
        var history = pathological("k")
        history.put("other", "x", 0, 10)
        #expect(LinearizabilityChecker(stepBudget: 20_000).check(history.operations) == .unknown(key: "k"))
    }

    @Test func aViolationOnAnotherKeyWinsOverAnExhaustedBudget() {
        var history = pathological("a")
        history.put("b", "x", 0, 10)
        history.get("b", 20, 30, returns: "y")
        #expect(violation(LinearizabilityChecker(stepBudget: 20_000).check(history.operations))?.key == "b")
    }

    // MARK: Reports

    @Test func aStaleReadInALongHistoryIsReportedWithAFewOperations() throws {
        // Distinct values: the zone check finds the conflict without a search.
        var history = History()
        for round in 0..<50 {
            let start = UInt64(round) * 100
            history.put("k", "v\(round)", start, start + 10)
            history.get("k", start + 20, start + 30, returns: "v\(round)", client: 1)
        }
        let stale = history.get("k", 10_000, 10_010, returns: "v10", client: 2)
        let (_, operations) = try #require(violation(checker.check(history.operations)))
        #expect(operations.contains(stale))
        #expect(operations.count <= 6)
        #expect(violation(checker.check(operations)) != nil)
    }

    @Test func aStaleReadOfARepeatedValueIsReportedWithAWindow() throws {
        // Repeated values: the search gets stuck at the stale read and reports around it.
        var history = History()
        for round in 0..<50 {
            let start = UInt64(round) * 100
            let value = round % 2 == 0 ? "a" : "b"
            history.put("k", value, start, start + 10)
            history.get("k", start + 20, start + 30, returns: value, client: 1)
        }
        let stale = history.get("k", 10_000, 10_010, returns: "a", client: 2)
        let (_, operations) = try #require(violation(checker.check(history.operations)))
        #expect(operations.contains(stale))
        #expect(operations.count < history.operations.count)
        #expect(violation(checker.check(operations)) != nil)
    }

    @Test func operationsAreDescribedOnOneLineEach() {
        let get = KVOperation(
            id: 7, client: 3, key: "k1", kind: .get, invoked: 12_345_678, completed: 15_000_000,
            outcome: .value(Array("v7".utf8)))
        #expect(get.description.hasPrefix(#"client 3 [12.345 ms → 15.000 ms] get k1 → "v7""#))

        let put = KVOperation(
            id: 8, client: 1, key: "k1", kind: .put([0x00, 0xFF]), invoked: 0, completed: nil,
            outcome: .unknown)
        #expect(put.description.hasPrefix("client 1 [0.000 ms → ∞] put k1 0x00ff → unknown"))

        let long = KVOperation(
            id: 9, client: 1, key: "k1", kind: .delete, invoked: 1_000_000, completed: 2_000_000,
            outcome: .ok)
        #expect(long.description.hasPrefix("client 1 [1.000 ms → 2.000 ms] delete k1 → ok"))

        let big = KVOperation(
            id: 10, client: 1, key: "k1", kind: .get, invoked: 0, completed: 1,
            outcome: .value(Array(String(repeating: "x", count: 40).utf8)))
        #expect(big.description.contains(#"→ "xxxxxxxxxxxxxxxx"…(40 bytes)"#))
    }

    @Test func aViolationIsDescribedWithItsKeyAndOperations() {
        var history = History()
        history.put("k1", "v1", 0, 1_000_000)
        history.put("k1", "v2", 2_000_000, 3_000_000)
        history.get("k1", 12_345_000, 15_000_000, returns: "v1", client: 3)
        let text = checker.describe(checker.check(history.operations))
        #expect(text.hasPrefix(#"not linearizable: key "k1""#))
        #expect(text.contains(#"client 3 [12.345 ms → 15.000 ms] get k1 → "v1""#))
        #expect(checker.describe(.linearizable) == "linearizable")
        #expect(checker.describe(.unknown(key: "k1")).hasPrefix(#"unknown: key "k1""#))
    }
}

// MARK: - Helpers

private func violation(_ verdict: LinearizabilityVerdict) -> (key: String, operations: [KVOperation])? {
    if case .violation(let key, let operations) = verdict { return (key, operations) }
    return nil
}

/// Builds a history with unique ids; a `nil` end time means the outcome is unknown.
private struct History {
    var operations: [KVOperation] = []

    @discardableResult
    mutating func put(_ key: String, _ value: String, _ start: UInt64, _ end: UInt64?, client: Int = 0) -> KVOperation {
        add(key, .put(Array(value.utf8)), start, end, end == nil ? .unknown : .ok, client)
    }

    @discardableResult
    mutating func delete(_ key: String, _ start: UInt64, _ end: UInt64?, client: Int = 0) -> KVOperation {
        add(key, .delete, start, end, end == nil ? .unknown : .ok, client)
    }

    @discardableResult
    mutating func get(_ key: String, _ start: UInt64, _ end: UInt64, returns value: String?, client: Int = 0) -> KVOperation {
        add(key, .get, start, end, .value(value.map { Array($0.utf8) }), client)
    }

    @discardableResult
    mutating func getUnknown(_ key: String, _ start: UInt64, client: Int = 0) -> KVOperation {
        add(key, .get, start, nil, .unknown, client)
    }

    private mutating func add(
        _ key: String, _ kind: KVOperation.Kind, _ start: UInt64, _ end: UInt64?,
        _ outcome: KVOperation.Outcome, _ client: Int
    ) -> KVOperation {
        let operation = KVOperation(
            id: operations.count, client: client, key: key, kind: kind, invoked: start, completed: end,
            outcome: outcome)
        operations.append(operation)
        return operation
    }
}

/// SplitMix64: a seeded generator, so a failing random history can be reproduced.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A history that is linearizable by construction: each operation takes effect on a sequential
/// model at an instant inside its interval, and intervals are stretched around that instant so
/// operations of different clients overlap. Each client has one operation in flight at a time;
/// about 5% of operations time out, and a timed-out write takes effect or not at random.
/// Every put writes a distinct value.
private func randomLinearizableHistory(seed: UInt64, count: Int, keys: Int, clients: Int) -> [KVOperation] {
    var random = SplitMix64(state: seed)
    var model: [String: [UInt8]] = [:]
    var freeAt = [UInt64](repeating: 0, count: clients)
    var now: UInt64 = 0
    var history: [KVOperation] = []
    for id in 0..<count {
        now += UInt64.random(in: 1...200_000, using: &random)
        if let earliest = freeAt.min(), earliest >= now { now = earliest + 1 }
        let client = freeAt.indices.filter { freeAt[$0] < now }.randomElement(using: &random)!
        let key = "k\(Int.random(in: 0..<keys, using: &random))"
        let invoked = max(freeAt[client] + 1, now - min(now, UInt64.random(in: 0...1_000_000, using: &random)))
        let completed = now + UInt64.random(in: 0...1_000_000, using: &random)
        freeAt[client] = completed
        let timedOut = Int.random(in: 0..<100, using: &random) < 5
        let tookEffect = !timedOut || Bool.random(using: &random)
        let kind: KVOperation.Kind
        let outcome: KVOperation.Outcome
        switch Int.random(in: 0..<100, using: &random) {
        case ..<45:
            let value = Array("v\(id)".utf8)
            kind = .put(value)
            if tookEffect { model[key] = value }
            outcome = timedOut ? .unknown : .ok
        case ..<55:
            kind = .delete
            if tookEffect { model[key] = nil }
            outcome = timedOut ? .unknown : .ok
        default:
            kind = .get
            outcome = timedOut ? .unknown : .value(model[key])
        }
        history.append(KVOperation(
            id: id, client: client, key: key, kind: kind, invoked: invoked,
            completed: timedOut ? nil : completed, outcome: outcome))
    }
    return history
}

/// Replaces the answer of one read in the second half with a value that is certainly stale:
/// one written by a put that completed before another acknowledged write started, which itself
/// completed before the read started. Puts write distinct values, so no order can explain it.
private func withOneStaleRead(_ history: [KVOperation]) -> ([KVOperation], KVOperation)? {
    func acknowledgedWrite(_ operation: KVOperation) -> Bool {
        operation.kind != .get && operation.outcome == .ok && operation.completed != nil
    }
    for readIndex in history.indices.dropFirst(history.count / 2) {
        let read = history[readIndex]
        guard read.kind == .get, case .value = read.outcome, read.completed != nil else { continue }
        for later in history where later.key == read.key && acknowledgedWrite(later) && later.completed! < read.invoked {
            for earlier in history where earlier.key == read.key && acknowledgedWrite(earlier)
                && earlier.completed! < later.invoked
            {
                guard case .put(let stale) = earlier.kind, read.outcome != .value(stale) else { continue }
                var mutated = history
                mutated[readIndex].outcome = .value(stale)
                return (mutated, mutated[readIndex])
            }
        }
    }
    return nil
}
