#if ZeroMQ
import Foundation
import MonSyncCore
import MonSyncMessages
import MonSyncTestSupport
import Testing

/// Three OS processes (`monsync-zmq-peer`) exchange MMonSync messages over TCP on 127.0.0.1 through dispatchers.
@Suite("ZeroMQ across processes", .timeLimit(.minutes(1)))
struct MultiProcessTests {
    @Test("three processes exchange heartbeats and replies, in order, and exit cleanly")
    func threeProcesses() async throws {
        let executable = productsDirectory.appendingPathComponent("monsync-zmq-peer").path
        try #require(FileManager.default.isExecutableFile(atPath: executable),
                     "build the package first (swift build): \(executable) is missing")
        let addresses = (0..<3).map { _ in Addresses.make("tcp") }
        let count = 200
        let results = try await withThrowingTaskGroup(of: (Int, ProcessResult).self) { group in
            for (index, address) in addresses.enumerated() {
                let peers = addresses.filter { $0 != address }.flatMap { ["--peer", $0.description] }
                let arguments = ["--listen", address.description, "--count", String(count), "--timeout", "30"] + peers
                group.addTask { (index, try await runProcess(executable, arguments, timeout: .seconds(45))) }
            }
            var results = [ProcessResult?](repeating: nil, count: 3)
            for try await (index, result) in group { results[index] = result }
            return results.compactMap { $0 }
        }
        #expect(results.count == 3)
        for (index, result) in results.enumerated() {
            let address = addresses[index]
            #expect(result.status == 0, "\(address) exited \(result.status): \(result.stdout) \(result.stderr)")
            let summary = try #require(result.stdout.split(separator: "\n").last(where: { $0.hasPrefix("RESULT ") }),
                                       "no summary from \(address): \(result.stdout) \(result.stderr)")
            #expect(summary.contains("listen=\(address) "))
            for peer in addresses where peer != address {
                #expect(summary.contains("requests=") && summary.contains("\(peer)=\(count)"), "\(summary)")
            }
            let expectedRequests = addresses.filter { $0 != address }.map { "\($0)=\(count)" }.joined(separator: ",")
            #expect(summary.contains("requests=\(expectedRequests) replies=\(expectedRequests) "), "\(summary)")
            #expect(summary.contains("in_order=true"))
            #expect(summary.hasSuffix("malformed=0"))
        }
    }

}
#endif
