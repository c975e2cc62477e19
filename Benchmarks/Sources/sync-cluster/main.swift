// The store sync across processes: three `monsync node` processes over ZeroMQ tcp on 127.0.0.1 with
// RocksDB stores. a and b are loaded offline (b is a copy of a), form a quorum, then c starts empty
// and syncs. Reported per case, besides the disk's synced-write ceiling measured after each load: the requester's START-to-swap time (from its `store sync finished` log
// line), MiB/s, keys/s, the requester's and the provider's peak RSS (VmHWM) and the provider's RSS
// before the sync, the sync's MiB/s as a share of that ceiling, and whether the three stores' digests are equal once the processes have stopped.
//
//   swift build -c release --package-path .. --product monsync     # the nodes (or set MONSYNC=/path/to/monsync)
//   swift run -c release sync-cluster [sizes MiB=100] [value sizes=100,1024,65536] [windows=1,8,8-64] [repetitions=1]
//
// A window `W` is fixed (`--sync-window W --sync-max-window W`); `W-M` adapts from W up to M.
//
// Environment: MONSYNC (the monsync binary), SYNC_CLUSTER_TIMEOUT (seconds per sync, default 900),
// SYNC_CLUSTER_PERF (a directory: `perf record -g` every node during each sync), SYNC_CLUSTER_KEEP=1
// (keep the work directory), SYNC_CLUSTER_CURVE (`1`: every link CURVE-authenticated and encrypted;
// `both`: plaintext and CURVE interleaved, each repetition runs both, alternating which goes first;
// unset or `0`: plaintext). With CURVE the tool makes keys for a, b, c and a client with
// `monsync keygen`, writes a keyring (a, b, c role monitor, client.bench role read) and passes
// `--key`/`--keyring` to the three nodes and to every `monsync status`. A digest mismatch or a failed
// sync exits 1.
// See BENCHMARKS.md, "Store sync across processes (ZeroMQ, RocksDB)".

import CRocksDBCompact
import Foundation
import MonSyncCore
import MonSyncMonitor
import MonSyncStore
import MonSyncStoreSync

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Small helpers

func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
func note(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A `/proc/<pid>/status` field in MiB (VmHWM: peak RSS, VmRSS: current RSS).
func memory(_ field: String, of pid: Int32) -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        let number = line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ").first
        return number.flatMap { Double($0) }.map { $0 / 1024 }
    }
    return nil
}

func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}

func freeBytes(_ path: String) -> UInt64 {
    let attributes = try? FileManager.default.attributesOfFileSystem(forPath: path)
    return (attributes?[.systemFreeSize] as? NSNumber)?.uint64Value ?? 0
}

/// The disk's synced-write ceiling where the stores live, in MiB/s: `megabytes` of zeros written in
/// 64 MiB blocks and fsynced, three times; the median (a VM's disk varies from one run to the next,
/// as `dd … conv=fsync` shows). What a requester's staging could at best write.
func diskCeiling(directory: String, megabytes: Int) -> Double {
    let path = "\(directory)/monsync-sync-cluster-\(getpid())-disk-ceiling"
    let block = [UInt8](repeating: 0, count: 64 << 20)
    var rates: [Double] = []
    for _ in 0..<3 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return .nan }
        let started = ContinuousClock.now
        var written = 0
        while written < megabytes << 20 {
            let count = block.withUnsafeBytes { write(fd, $0.baseAddress, min($0.count, (megabytes << 20) - written)) }
            guard count > 0 else { break }
            written += count
        }
        fsync(fd)
        close(fd)
        rates.append(Double(written) / 1_048_576 / seconds(since: started))
        unlink(path)
    }
    return rates.sorted()[1]
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return Int.random(in: 20_000...60_000) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    return bound ? Int(UInt16(bigEndian: address.sin_port)) : Int.random(in: 20_000...60_000)
}

/// `key-0000000042`, without `String(format:)` (which dominates loading 10 M keys).
func keyName(_ index: Int) -> String {
    var bytes: [UInt8] = Array("key-0000000000".utf8)
    var n = index
    var position = bytes.count - 1
    while n > 0, position >= 4 {
        bytes[position] = UInt8(48 + n % 10)
        n /= 10
        position -= 1
    }
    return String(decoding: bytes, as: UTF8.self)
}

// MARK: - The monsync binary

/// MONSYNC, else a `monsync` next to this executable (the same bin path), else the parent package's release build.
func findMonsync() throws -> String {
    if let path = ProcessInfo.processInfo.environment["MONSYNC"] {
        guard FileManager.default.isExecutableFile(atPath: path) else { throw Failure("MONSYNC=\(path) is not an executable") }
        return path
    }
    let myself = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    let benchmarks = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let candidates = [myself.appendingPathComponent("monsync").path,
                      benchmarks.deletingLastPathComponent().appendingPathComponent(".build/release/monsync").path]
    for path in candidates where FileManager.default.isExecutableFile(atPath: path) { return path }
    throw Failure("no monsync binary: run `swift build -c release --package-path .. --product monsync` or set MONSYNC (looked in \(candidates))")
}

// MARK: - Loading

struct Loaded {
    var keys: Int
    var bytes: Int
    var firstCommitted: UInt64
    var lastCommitted: UInt64
}

/// Writes `megabytes` MiB of random values of `valueSize` bytes under `kv` straight into the store
/// (one copy, in ~8 MiB batches), then 40 small Paxos versions trimmed to the last 20, so an empty
/// monitor (last committed 0 < first committed - 1) can only catch up with a full store sync.
/// The caller then compacts it offline, so the nodes do not compact it during the sync.
func load(path: String, megabytes: Int, valueSize: Int) throws -> Loaded {
    let store = try RocksDBStore(path: path)
    var rng = SeededRandomNumberGenerator(seed: 0x5EED)
    let keys = max(1, megabytes * 1_048_576 / valueSize)
    let perBatch = max(1, (8 << 20) / valueSize)
    var written = 0
    var bytes = 0
    while written < keys {
        var transaction = StoreTransaction()
        for _ in 0..<min(perBatch, keys - written) {
            let key = keyName(written)
            transaction.put(KeyValueService.prefix, key, rng.bytes(count: valueSize))
            bytes += key.utf8.count + valueSize
            written += 1
        }
        try store.apply(transaction)
    }
    let log = PaxosLog(store: store)
    for version in UInt64(1)...40 {
        var transaction = StoreTransaction()
        transaction.put(KeyValueService.prefix, "padding-\(version)", [UInt8(truncatingIfNeeded: version)])
        try log.commit(version: version, transaction)
    }
    try log.trim(to: 21)
    return Loaded(keys: keys, bytes: bytes, firstCommitted: try log.firstCommitted(), lastCommitted: try log.lastCommitted())
}

/// Compacts the closed store in `path` into one sorted level (see CRocksDBCompact).
func compact(_ path: String) throws {
    var error = [CChar](repeating: 0, count: 512)
    guard monsync_bench_compact(path, &error, UInt(error.count)) == 0 else {
        throw Failure("compacting \(path): \(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
    }
}

/// Copies a closed RocksDB directory: SST files (never modified in place) are hard-linked, the rest copied.
func copyStore(from source: String, to destination: String) throws {
    let manager = FileManager.default
    try manager.createDirectory(atPath: destination, withIntermediateDirectories: true)
    for name in try manager.contentsOfDirectory(atPath: source) {
        let from = source + "/" + name, to = destination + "/" + name
        if name.hasSuffix(".sst") { try manager.linkItem(atPath: from, toPath: to) } else { try manager.copyItem(atPath: from, toPath: to) }
    }
}

func digest(_ path: String) throws -> StoreDigest {
    var registry = ServiceRegistry()
    try registry.register(KeyValueService())
    return try RocksDBStore(path: path).digest(of: registry.syncTargetNames)
}

// MARK: - CURVE keys

/// The keys of a secured run: `<directory>/<name>.key` and `.pub` from `monsync keygen` for a, b, c
/// and `client.bench`, and `<directory>/keyring`.
struct Keys {
    var directory: String
    var keyring: String { "\(directory)/keyring" }
    func secretKey(_ name: String) -> String { "\(directory)/\(name).key" }

    static let client = "client.bench"

    static func generate(monsync: String, in directory: String) throws -> Keys {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var lines = ["# sync-cluster: the three monitors and the client that polls `monsync status`"]
        for (name, role) in [("a", "monitor"), ("b", "monitor"), ("c", "monitor"), (client, "read")] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: monsync)
            process.arguments = ["keygen", "--out", "\(directory)/\(name)", "--force"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0,
                  let text = try? String(contentsOfFile: "\(directory)/\(name).pub", encoding: .utf8),
                  let key = text.split(whereSeparator: \.isNewline).first, key.utf8.count == 40 else {
                throw Failure("monsync keygen --out \(directory)/\(name) failed (exit \(process.terminationStatus))")
            }
            lines.append("\(name) \(role) \(key)")
        }
        let keys = Keys(directory: directory)
        try (lines.joined(separator: "\n") + "\n").write(toFile: keys.keyring, atomically: true, encoding: .utf8)
        return keys
    }
}

// MARK: - Processes

final class Cluster {
    let monsync: String
    let work: String
    let names = ["a", "b", "c"]
    let monmap: String
    let window: WindowSpec
    /// CURVE keys; nil runs in plaintext.
    let keys: Keys?
    var processes: [String: Process] = [:]
    var perf: [Process] = []

    init(monsync: String, work: String, window: WindowSpec, keys: Keys?) {
        self.monsync = monsync
        self.work = work
        self.window = window
        self.keys = keys
        monmap = names.map { "\($0)=tcp://127.0.0.1:\(freePort())" }.joined(separator: ",")
    }

    func log(_ name: String) -> String { "\(work)/\(name).log" }
    func store(_ name: String) -> String { "\(work)/\(name)" }
    func pid(_ name: String) -> Int32 { processes[name]?.processIdentifier ?? 0 }

    func spawn(_ name: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: monsync)
        process.arguments = ["node", "--name", name, "--monmap", monmap, "--store", store(name),
                             "--log-level", "info", "--sync-window", "\(window.initial)", "--sync-max-window", "\(window.largest)"]
        if let keys { process.arguments! += ["--key", keys.secretKey(name), "--keyring", keys.keyring] } else {
            process.arguments! += ["--insecure-plaintext"]  // the plaintext side of the CURVE comparison
        }
        guard FileManager.default.createFile(atPath: log(name), contents: nil), let handle = FileHandle(forWritingAtPath: log(name)) else {
            throw Failure("cannot create \(log(name))")
        }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes[name] = process
    }

    /// Starts `perf record -g` on `name` into `directory`.
    func profile(_ name: String, into directory: String, label: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["perf", "record", "-g", "-q", "-o", "\(directory)/\(label)-\(name).data", "-p", "\(pid(name))"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        perf.append(process)
    }

    func stopProfiles() {
        for process in perf where process.isRunning { kill(process.processIdentifier, SIGINT) }
        for process in perf { process.waitUntilExit() }
        perf = []
    }

    struct StatusRow: Decodable {
        var name: String
        var answered: Bool
        var state: String?
        var quorum: [String]?
        var lastCommitted: UInt64?
    }

    /// `monsync status --json`, or nil when no monitor answered.
    func status() -> [StatusRow]? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: monsync)
        process.arguments = ["status", "--monmap", monmap, "--json", "--timeout", "2"]
        // Clients too must choose plaintext explicitly (since docs/SECURITY.md's change): without it
        // every status failed, and every case with "formed no quorum".
        process.arguments! += keys.map { ["--key", $0.secretKey(Keys.client), "--keyring", $0.keyring] } ?? ["--insecure-plaintext"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // `status --json` is an object with the rows under `monitors`; monsync before the health
        // work printed the rows alone.
        struct Status: Decodable { var monitors: [StatusRow] }
        return (try? JSONDecoder().decode(Status.self, from: data).monitors) ?? (try? JSONDecoder().decode([StatusRow].self, from: data))
    }

    /// Whether `members` answer as a quorum of exactly themselves at one last-committed version.
    func inQuorum(_ members: [String]) -> Bool {
        guard let rows = status() else { return false }
        var versions = Set<UInt64>()
        for name in members {
            guard let row = rows.first(where: { $0.name == name }), row.answered, row.state == "leader" || row.state == "peon",
                  row.quorum?.sorted() == members.sorted(), let lc = row.lastCommitted else { return false }
            versions.insert(lc)
        }
        return versions.count == 1
    }

    func lines(_ name: String, containing text: String) -> [Substring] {
        guard let contents = try? String(contentsOfFile: log(name), encoding: .utf8) else { return [] }
        return contents.split(separator: "\n").filter { $0.contains(text) }
    }

    func tail(_ name: String, _ count: Int = 15) -> String {
        guard let contents = try? String(contentsOfFile: log(name), encoding: .utf8) else { return "(no log)" }
        return contents.split(separator: "\n").suffix(count).map { "    \(name)| \($0)" }.joined(separator: "\n")
    }

    func stopAll() {
        stopProfiles()
        for process in processes.values where process.isRunning { process.terminate() }
        for process in processes.values { process.waitUntilExit() }
    }
}

/// Polls `condition` every `interval` until it holds (true) or `limit` seconds pass (false).
func wait(seconds limit: Double, interval: Double = 0.1, _ condition: () throws -> Bool) rethrows -> Bool {
    let start = ContinuousClock.now
    while seconds(since: start) < limit {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}

// MARK: - One case

struct CaseResult {
    var keys: UInt64
    var bytes: UInt64
    var chunks: UInt64
    var seconds: Double
    var requesterPeak: Double
    var providerPeak: Double
    var providerIdle: Double
    var provider: String
    var digestsEqual: Bool
    var load: String
}

/// `… 12 chunks, 3456 keys, 7890 bytes of ~7000 in 1.234 s …` from the requester's `store sync finished` line
/// (`SyncProgress.description`; the estimate appears when the provider gave one).
func parseCompletion(_ line: Substring) -> (chunks: UInt64, keys: UInt64, bytes: UInt64, seconds: Double)? {
    let pattern = #/(\d+) chunks, (\d+) keys, (\d+) bytes(?: of ~\d+)? in ([0-9.]+) s/#
    guard let match = line.firstMatch(of: pattern), let chunks = UInt64(match.1), let keys = UInt64(match.2),
          let bytes = UInt64(match.3), let seconds = Double(match.4) else { return nil }
    return (chunks, keys, bytes, seconds)
}

func runCase(monsync: String, loadedStore: String, window: WindowSpec, keys: Keys?, label: String, timeout: Double,
             perfDirectory: String?) throws -> CaseResult {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("monsync-sync-cluster-\(getpid())-\(label)").path
    try? FileManager.default.removeItem(atPath: work)
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let cluster = Cluster(monsync: monsync, work: work, window: window, keys: keys)
    var keep = ProcessInfo.processInfo.environment["SYNC_CLUSTER_KEEP"] == "1"
    defer {
        cluster.stopAll()
        if keep { note("  work directory kept: \(work)") } else { try? FileManager.default.removeItem(atPath: work) }
    }
    try copyStore(from: loadedStore, to: cluster.store("a"))
    try copyStore(from: loadedStore, to: cluster.store("b"))

    try cluster.spawn("a")
    try cluster.spawn("b")
    guard wait(seconds: 60, interval: 0.25, { cluster.inQuorum(["a", "b"]) }) else {
        keep = true
        throw Failure("a and b formed no quorum in 60 s\n\(cluster.tail("a"))\n\(cluster.tail("b"))")
    }
    let idle = ["a": memory("VmRSS", of: cluster.pid("a")) ?? 0, "b": memory("VmRSS", of: cluster.pid("b")) ?? 0]

    let started = ContinuousClock.now
    try cluster.spawn("c")
    if let perfDirectory {
        // perf attached to c the moment it was spawned recorded nothing: give it a second to exec and
        // start its threads (its sync begins only after probing, some seconds later).
        Thread.sleep(forTimeInterval: 1)
        for name in cluster.names { try cluster.profile(name, into: perfDirectory, label: label) }
    }
    var completion: Substring?
    let completed = wait(seconds: timeout, interval: 0.05) {
        // The requester logs `sync complete` (version only), then the monitor `store sync finished`
        // with the progress (`SyncProgress.description`); take the first line that carries it.
        completion = (cluster.lines("c", containing: "store sync finished") + cluster.lines("c", containing: "sync complete"))
            .first { parseCompletion($0) != nil }
        return completion != nil || !cluster.processes["c"]!.isRunning
    }
    let spawnToComplete = seconds(since: started)
    // Peak memories while the processes still run (VmHWM only grows).
    let requesterPeak = memory("VmHWM", of: cluster.pid("c")) ?? 0
    let peaks = ["a": memory("VmHWM", of: cluster.pid("a")) ?? 0, "b": memory("VmHWM", of: cluster.pid("b")) ?? 0]
    cluster.stopProfiles()
    guard completed, let line = completion, let parsed = parseCompletion(line) else {
        keep = true
        throw Failure("c logged no parsable `sync complete` within \(Int(timeout)) s (running: \(cluster.processes["c"]!.isRunning))\n"
            + "\(cluster.tail("a"))\n\(cluster.tail("b"))\n\(cluster.tail("c", 30))")
    }
    let servers = ["a", "b"].filter { !cluster.lines($0, containing: "serving sync").isEmpty }
    let provider = servers.last ?? "?"
    note(String(format: "  c: sync complete %.2f s after its spawn; provider %@; waiting for quorum [a, b, c]", spawnToComplete, provider))

    // Let c rejoin and every member reach one version, then stop them all and compare the stores offline.
    let rejoined = wait(seconds: 120, interval: 0.25) { cluster.inQuorum(["a", "b", "c"]) }
    if !rejoined { note("  warning: c did not rejoin [a, b, c] at one version within 120 s; comparing the stores anyway") }
    let loadNow = loadAverage()
    cluster.stopAll()
    let digests = try cluster.names.map { try digest(cluster.store($0)) }
    let equal = Set(digests).count == 1
    if !equal {
        keep = true
        note("  DIGESTS DIFFER: " + zip(cluster.names, digests).map { "\($0): \($1)" }.joined(separator: "; "))
    }
    return CaseResult(keys: parsed.keys, bytes: parsed.bytes, chunks: parsed.chunks, seconds: parsed.seconds,
                  requesterPeak: requesterPeak, providerPeak: peaks[provider] ?? 0, providerIdle: idle[provider] ?? 0,
                  provider: provider, digestsEqual: equal, load: loadNow)
}

// MARK: - Main

func list(_ index: Int, _ fallback: [Int]) -> [Int] {
    let arguments = CommandLine.arguments
    guard arguments.count > index else { return fallback }
    return arguments[index].split(separator: ",").compactMap { Int($0) }
}

let sizes = list(1, [100])
let valueSizes = list(2, [100, 1024, 65536])
/// A window to run with: fixed (`8`) or adaptive from the first to the second (`8-64`).
struct WindowSpec: Hashable, CustomStringConvertible {
    var initial: Int
    var largest: Int
    init?(_ text: Substring) {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard let first = parts.first, parts.count <= 2 else { return nil }
        initial = first
        largest = parts.last ?? first
    }
    var description: String { initial == largest ? "\(initial)" : "\(initial)-\(largest)" }
}

let windows: [WindowSpec] = CommandLine.arguments.count > 3
    ? CommandLine.arguments[3].split(separator: ",").compactMap(WindowSpec.init)
    : ["1", "8", "8-64"].compactMap { WindowSpec($0[...]) }
let repetitions = list(4, [1]).first ?? 1
let environment = ProcessInfo.processInfo.environment
let timeout = environment["SYNC_CLUSTER_TIMEOUT"].flatMap(Double.init) ?? 900
let perfDirectory = environment["SYNC_CLUSTER_PERF"]
if let perfDirectory { try FileManager.default.createDirectory(atPath: perfDirectory, withIntermediateDirectories: true) }
let monsync: String
do { monsync = try findMonsync() } catch {
    note("sync-cluster: \(error)")
    exit(2)
}
let temporary = FileManager.default.temporaryDirectory.path
/// The transports to run, in order within each repetition: false = plaintext, true = CURVE.
let curveModes: [Bool]
switch environment["SYNC_CLUSTER_CURVE"] ?? "0" {
case "0", "": curveModes = [false]
case "1": curveModes = [true]
case "both": curveModes = [false, true]
case let other:
    note("sync-cluster: SYNC_CLUSTER_CURVE=\(other): expected 0, 1 or both")
    exit(2)
}
var keys: Keys?
if curveModes.contains(true) {
    let directory = "\(temporary)/monsync-sync-cluster-\(getpid())-keys"
    do { keys = try Keys.generate(monsync: monsync, in: directory) } catch {
        note("sync-cluster: \(error)")
        exit(2)
    }
    note("CURVE keys and keyring in \(directory)")
}
/// MiB/s per case and transport, for the CURVE / plaintext summary.
struct RateKey: Hashable {
    var size: Int, valueSize: Int, window: WindowSpec, curve: Bool
}
var rates: [RateKey: [Double]] = [:]

say("store sync across processes: monsync node ×3, ZeroMQ tcp on 127.0.0.1, RocksDB; \(monsync)")
say("seconds = the requester's START → swap (its `store sync finished` line); MiB = keys + values copied; RSS = VmHWM / VmRSS")
say("")
say("| store | value | window | transport | keys | MiB | seconds | MiB/s | keys/s | share of the disk | requester peak RSS MiB | provider peak RSS MiB | provider idle RSS MiB | digests equal | load avg |")
say("|---:|---:|---:|:--|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|:--|")
var failed = false
for size in sizes {
    for valueSize in valueSizes {
        let needed = UInt64(size) * 1_048_576 * 5 + (1 << 30)
        guard freeBytes(temporary) >= needed else {
            note("skipping \(size) MiB × \(valueSize) B: \(freeBytes(temporary) >> 20) MiB free in \(temporary), \(needed >> 20) MiB needed")
            failed = true
            continue
        }
        let loadedStore = "\(temporary)/monsync-sync-cluster-\(getpid())-load-\(size)-\(valueSize)"
        try? FileManager.default.removeItem(atPath: loadedStore)
        defer { try? FileManager.default.removeItem(atPath: loadedStore) }
        let loadStarted = ContinuousClock.now
        let loaded: Loaded
        let loadSeconds: Double
        do {
            loaded = try load(path: loadedStore, megabytes: size, valueSize: valueSize)
            loadSeconds = seconds(since: loadStarted)
            try compact(loadedStore)
        } catch {
            note("FAILED loading \(size) MiB × \(valueSize) B into \(loadedStore): \(error)")
            failed = true
            continue
        }
        note(String(format: "loaded %d MiB of %d B values: %d keys, %.1f MiB in %.1f s, compacted in %.1f s (fc %llu, lc %llu)", size, valueSize,
                    loaded.keys, Double(loaded.bytes) / 1_048_576, loadSeconds, seconds(since: loadStarted) - loadSeconds, loaded.firstCommitted, loaded.lastCommitted))
        let disk = diskCeiling(directory: temporary, megabytes: size)
        note(String(format: "the disk's synced-write ceiling in %@: %.0f MiB/s (%d MiB written and fsynced, median of 3)", temporary, disk, size))
        for window in windows {
            // Each repetition runs every transport, alternating which goes first so that a drift in the
            // machine's load favours neither.
            let runs = (1...max(1, repetitions)).flatMap { repetition in
                (repetition % 2 == 1 ? curveModes : curveModes.reversed()).map { (repetition, $0) }
            }
            for (repetition, curve) in runs {
                let transport = curve ? "CURVE" : "plaintext"
                let label = "\(size)M-\(valueSize)B-w\(window)-r\(repetition)\(curve ? "-curve" : "")"
                do {
                    let r = try runCase(monsync: monsync, loadedStore: loadedStore, window: window, keys: curve ? keys : nil,
                                        label: label, timeout: timeout, perfDirectory: perfDirectory)
                    let mib = Double(r.bytes) / 1_048_576
                    say(String(format: "| %d MiB | %d B | %@ | %@ | %llu | %.0f | %.2f | %.0f | %.0f | %.0f %% of %.0f | %.0f | %.0f | %.0f | %@ | %@ |", size, valueSize, window.description,
                               transport, r.keys, mib, r.seconds, mib / r.seconds, Double(r.keys) / r.seconds, 100 * (mib / r.seconds) / disk, disk,
                               r.requesterPeak, r.providerPeak,
                               r.providerIdle, r.digestsEqual ? "yes" : "**NO**", r.load))
                    if !r.digestsEqual { failed = true }
                    rates[RateKey(size: size, valueSize: valueSize, window: window, curve: curve), default: []].append(mib / r.seconds)
                } catch {
                    note("FAILED \(label): \(error)")
                    say("| \(size) MiB | \(valueSize) B | \(window) | \(transport) | failed: see stderr | | | | | | | | | | \(loadAverage()) |")
                    failed = true
                }
            }
        }
    }
}
if curveModes.count == 2 {
    // CURVE's MiB/s as a share of plaintext's, per case (medians over the repetitions).
    func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .nan : sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
    say("")
    say("| store | value | window | plaintext MiB/s (median) | CURVE MiB/s (median) | CURVE / plaintext |")
    say("|---:|---:|---:|---:|---:|---:|")
    for size in sizes {
        for valueSize in valueSizes {
            for window in windows {
                let plain = median(rates[RateKey(size: size, valueSize: valueSize, window: window, curve: false)] ?? [])
                let curve = median(rates[RateKey(size: size, valueSize: valueSize, window: window, curve: true)] ?? [])
                say(String(format: "| %d MiB | %d B | %@ | %.0f | %.0f | %.0f %% |", size, valueSize, window.description, plain, curve, 100 * curve / plain))
            }
        }
    }
}
if let keys { try? FileManager.default.removeItem(atPath: keys.directory) }
exit(failed ? 1 : 0)
