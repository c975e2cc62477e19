#if ZeroMQ
import Foundation
import Testing

/// The sync issue's provider-death scenario with real processes over ZeroMQ and RocksDB stores: an
/// empty node is streaming a full store sync when its provider is killed (SIGKILL); it fails over to
/// the surviving quorum member (which has lost its own quorum, 1 of 3, and serves anyway), resumes
/// after its last key, completes, and forms a new quorum with the survivor.
@Suite("Provider failure across processes", .timeLimit(.minutes(4)))
struct ProviderFailureTests {
    /// The rows of `monsync status --json` that answered, by name.
    func statusRows(_ monmap: String, timeout: String = "2") async throws -> [String: [String: Any]] {
        let status = try await monsync(["status", "--monmap", monmap, "--timeout", timeout, "--json"])
        guard let rows = try? statusMonitors(status.stdout) else { return [:] }
        var byName: [String: [String: Any]] = [:]
        for row in rows where (row["answered"] as? Bool) == true { byName[row["name"] as? String ?? ""] = row }
        return byName
    }

    @Test("the provider is killed mid-stream; the requester fails over, resumes, completes and forms a quorum with the survivor")
    func providerKilledMidSync() async throws {
        try await withTemporaryDirectory { directory in
            let names = ["a", "b", "c"]
            let monmap = makeMonmap(names)
            let stores = Dictionary(uniqueKeysWithValues: names.map { ($0, directory.appendingPathComponent($0).path) })
            // One entry per chunk (each is larger than 128 bytes) and stop-and-wait: several thousand
            // round trips, so the stream lasts long enough to be caught in the middle.
            for name in ["a", "b"] {
                let load = try await monsync(["store", "load", stores[name]!, "--keys", "8000", "--value-size", "128", "--keep", "5"])
                try #require(load.status == 0, "\(load)")
            }
            let syncOptions = ["--sync-backoff", "1", "--sync-start-timeout", "3", "--sync-start-attempts", "2",
                               "--sync-chunk-size", "128", "--sync-window", "1", "--sync-chunk-timeout", "2",
                               "--sync-progress-interval", "0.5"]
            var nodes: [String: RunningProcess] = [:]
            for name in names {
                nodes[name] = try await RunningProcess(["node", "--name", name, "--monmap", monmap, "--store", stores[name]!]
                    + fastTimers.filter { $0 != "warning" && $0 != "--log-level" } + ["--log-level", "info"] + syncOptions)
            }
            defer { for node in nodes.values { node.signal(SIGKILL) } }

            // Wait until c streams from a provider, with some bytes in.
            let clock = ContinuousClock()
            var deadline = clock.now + .seconds(30)
            var streaming: (provider: String, bytes: Int)?
            while streaming == nil && clock.now < deadline {
                if let requester = (try await statusRows(monmap)["c"]?["sync"] as? [String: Any])?["requester"] as? [String: Any],
                   requester["phase"] as? String == "streaming", let bytes = requester["bytes"] as? Int, bytes > 0,
                   let provider = requester["providerName"] as? String {
                    streaming = (provider, bytes)
                } else {
                    try await clock.sleep(for: .milliseconds(50))
                }
            }
            let (provider, bytesBefore) = try #require(streaming, "c never streamed: \(nodes.mapValues(\.stderrSoFar))")
            #expect(["a", "b"].contains(provider))
            nodes[provider]!.signal(SIGKILL)
            _ = try await nodes[provider]!.wait(timeout: .seconds(5))
            let survivor = provider == "a" ? "b" : "a"

            // c fails over to the survivor, resumes, completes; c and the survivor form a quorum (2 of 3).
            // The wait ends 30 s after c's copy last moved: how long the rest of a stop-and-wait copy
            // takes is the machine's speed (1-2 s quiet, 40 s beside the other process suites), and
            // what is checked is that the copy goes on and a quorum follows it.
            deadline = clock.now + .seconds(30)
            var rows: [String: [String: Any]] = [:]
            var formed = false
            var lastBytes = bytesBefore
            while !formed && clock.now < deadline {
                rows = try await statusRows(monmap, timeout: "1")
                formed = [survivor, "c"].allSatisfy { Set((rows[$0]?["quorum"] as? [String]) ?? []) == Set([survivor, "c"]) }
                if let bytes = ((rows["c"]?["sync"] as? [String: Any])?["requester"] as? [String: Any])?["bytes"] as? Int, bytes > lastBytes {
                    lastBytes = bytes
                    deadline = clock.now + .seconds(30)
                }
                if !formed { try await clock.sleep(for: .milliseconds(200)) }
            }
            try #require(formed, "no quorum of \(survivor) and c: \(rows) \(nodes.mapValues(\.stderrSoFar))")

            let copied = try #require((rows["c"]?["sync"] as? [String: Any])?["requester"] as? [String: Any], "\(rows)")
            #expect(copied["phase"] as? String == "done", "\(copied)")
            // c's log tells why, should the copy not be the resumed one (it keeps every sync's start and end).
            let requesterLog = nodes["c"]!.stderrSoFar.split(separator: "\n").filter { $0.contains("sync") }.suffix(40).joined(separator: "\n")
            #expect(copied["providerName"] as? String == survivor, "the copy finished from the survivor: \(copied)\n\(requesterLog)")
            #expect((copied["providerSwitches"] as? Int ?? 0) >= 1, "\(copied)\n\(requesterLog)")
            #expect((copied["bytes"] as? Int ?? 0) > bytesBefore && (copied["keys"] as? Int ?? 0) > 8000, "\(copied)")
            // The survivor served the rest only: the copy resumed after the last key c held, not from the start.
            let served = try #require((rows[survivor]?["sync"] as? [String: Any])?["provider"] as? [String: Any], "\(rows)")
            let resumed = served["bytesSent"] as? Int ?? 0
            #expect(resumed > 0 && resumed < copied["bytes"] as? Int ?? 0, "the survivor sent \(resumed) of \(copied)")
            let log = nodes["c"]!.stderrSoFar
            #expect(log.contains("switching provider"), "\(log)")
            #expect(log.contains("sync progress"), "progress is logged while streaming")

            // The new quorum commits a write.
            let put = try await monsync(["put", "after-provider-death", "yes", "--monmap", monmap, "--timeout", "15"])
            #expect(put.status == 0, "\(put)")
            let get = try await monsync(["get", "after-provider-death", "--mon", "\(monmapAddress(monmap, of: "c"))"])
            #expect(get.stdout == "yes\n", "\(get)")

            for name in [survivor, "c"] { nodes[name]!.signal(SIGTERM) }
            for name in [survivor, "c"] {
                let result = try await nodes[name]!.wait(timeout: .seconds(20))
                #expect(result.status == 0, "\(name): \(result)")
            }
            let digests = try await [survivor, "c"].asyncMap {
                try await monsync(["store", "digest", stores[$0]!]).stdout.split(separator: "\n").dropFirst().joined()
            }
            #expect(digests[0] == digests[1] && !digests[0].isEmpty, "c holds exactly the survivor's data: \(digests)")
        }
    }

    /// The address `name` has in `monmap` (`a=tcp://…,b=…`).
    func monmapAddress(_ monmap: String, of name: String) -> String {
        monmap.split(separator: ",").first { $0.hasPrefix("\(name)=") }.map { String($0.dropFirst(name.count + 1)) } ?? ""
    }
}
#endif
