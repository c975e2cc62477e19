#if ZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncTestSupport
import Testing

/// The configuration file and `MONSYNC_*` variables through the built binary: which source wins,
/// what a bad setting does to the process (exit 64, one sentence naming it), and a node and its
/// clients configured by nothing but the file.
@Suite("Configuration through the binary")
struct ConfigurationProcessTests {
    @Test("a flag beats MONSYNC_*, which beats the file; a refused value exits 64 naming the setting and its source")
    func precedence() async throws {
        try await withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("monsync.json")
            // Out-of-range timeouts: the refusal echoes the value that won, and says where it came from.
            try Data(#"{"monmap": "a=tcp://127.0.0.1:1", "insecure-plaintext": true, "timeout": 5000}"#.utf8).write(to: file)
            let fromFile = try await monsync(["status", "--config", file.path], plaintext: false)
            #expect(fromFile.status == 64, "\(fromFile)")
            #expect(fromFile.errorLines == ["Error: the setting timeout = \"5000\" from \(file.path) (key timeout) is invalid: --timeout must be between 0 and 3600 seconds (got 5000.0)."], "\(fromFile)")

            let fromEnvironment = try await monsync(["status", "--config", file.path], plaintext: false, environment: ["MONSYNC_TIMEOUT": "6000"])
            #expect(fromEnvironment.status == 64)
            #expect(fromEnvironment.errorLines == ["Error: the setting timeout = \"6000\" from the environment variable MONSYNC_TIMEOUT is invalid: --timeout must be between 0 and 3600 seconds (got 6000.0)."],
                    "\(fromEnvironment)")

            let fromCommand = try await monsync(["status", "--config", file.path], plaintext: false,
                                                environment: ["MONSYNC_TIMEOUT": "6000", "MONSYNC_STATUS_TIMEOUT": "7000"])
            #expect(fromCommand.errorLines.first == "Error: the setting timeout = \"7000\" from the environment variable MONSYNC_STATUS_TIMEOUT is invalid: --timeout must be between 0 and 3600 seconds (got 7000.0).",
                    "\(fromCommand)")

            let fromFlag = try await monsync(["status", "--config", file.path, "--timeout", "8000"], plaintext: false, environment: ["MONSYNC_TIMEOUT": "6000"])
            #expect(fromFlag.status == 64)
            #expect(fromFlag.errorLines.first == "Error: --timeout must be between 0 and 3600 seconds (got 8000.0).", "the flag's own usage error: \(fromFlag)")

            // And a valid flag over the invalid settings: the command runs (nobody listens: exit 3 within the flag's 1 s).
            let clock = ContinuousClock()
            let started = clock.now
            let valid = try await monsync(["status", "--config", file.path, "--timeout", "1"], plaintext: false, environment: ["MONSYNC_TIMEOUT": "6000"])
            #expect(valid.status == 3, "\(valid)")
            #expect(clock.now - started < .seconds(20), "the flag's --timeout 1 bounded the command")
        }
    }

    @Test("a bad file or value is a usage error (exit 64), never a crash: typo, wrong shape, malformed JSON, missing file")
    func badFiles() async throws {
        try await withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("monsync.json")
            let cases: [(json: String, error: String)] = [
                (#"{"node": {"lease-renew-intervall": 1}}"#,
                 "Error: the configuration file \(file.path) sets node.lease-renew-intervall, which is no setting of monsync; did you mean node.lease-renew-interval?"),
                (#"{"json": "yes"}"#, "Error: the setting json from \(file.path) (key json) must be true or false"),
                (#"{"status": {"timeout": [1, 2]}}"#, "Error: the setting status.timeout from \(file.path) (key status.timeout) must be a string or a number"),
                (#"{"tid": 3}"#, "Error: tid is set in \(file.path) (key tid), but only the command line gives it: it names one write to resend; as a setting, every later write would be taken for that one and not applied"),
            ]
            for (json, error) in cases {
                try Data(json.utf8).write(to: file)
                let result = try await monsync(["status", "--config", file.path, "--timeout", "1"])
                #expect(result.status == 64, "\(json): \(result)")
                #expect(result.errorLines == [Substring(error)], "\(json): \(result)")
            }
            try Data(#"{"timeout": 1,"#.utf8).write(to: file)
            let malformed = try await monsync(["status", "--config", file.path])
            #expect(malformed.status == 64 && malformed.stderr.contains("cannot be read as settings"), "\(malformed)")
            let missing = try await monsync(["node", "--name", "a", "--store", "memory"], environment: ["MONSYNC_CONFIG": directory.appendingPathComponent("none.json").path])
            #expect(missing.status == 64 && missing.stderr.contains("cannot read the configuration file"), "\(missing)")
            let badVariable = try await monsync(["get", "k", "--monmap", "a=tcp://127.0.0.1:1"], environment: ["MONSYNC_GET_ATTEMPT_TIMEOUT": "soon"])
            #expect(badVariable.status == 64, "\(badVariable)")
            #expect(badVariable.errorLines.first == "Error: the setting attempt-timeout = \"soon\" from the environment variable MONSYNC_GET_ATTEMPT_TIMEOUT is invalid: The value 'soon' is invalid for '--attempt-timeout <s>'",
                    "\(badVariable)")
        }
    }

    @Test("a node and its clients configured by the file alone: monmap, plaintext, store, timers; clients find it through MONSYNC_CONFIG")
    func clusterFromFile() async throws {
        try await withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("monsync.json")
            let monmap = makeMonmap(["a"])
            let json = """
            {
              "monmap": ["\(monmap)"],
              "insecure-plaintext": true,
              "timeout": 20,
              "node": {"store": "\(directory.appendingPathComponent("a").path)", "log-level": "warning",
                       "probe-timeout": 0.5, "election-timeout": 1, "lease": 2, "lease-renew-interval": 1,
                       "lease-ack-timeout": 4, "accept-timeout": 4, "shutdown-timeout": 3}
            }
            """
            try Data(json.utf8).write(to: file)
            let environment = ["MONSYNC_CONFIG": file.path]
            let node = try await RunningProcess(["node"], plaintext: false, environment: environment.merging(["MONSYNC_NAME": "a"]) { $1 })
            let put = try await monsync(["put", "color", "blue"], plaintext: false, timeout: .seconds(60), environment: environment)
            #expect(put.status == 0, "\(put); node: \(node.stderrSoFar)")
            let get = try await monsync(["get", "color"], plaintext: false, timeout: .seconds(60), environment: environment)
            #expect(get.status == 0 && get.stdout == "blue\n", "\(get)")
            let status = try await monsync(["status", "--json"], plaintext: false, timeout: .seconds(60), environment: environment.merging(["MONSYNC_STATUS_TIMEOUT": "5"]) { $1 })
            #expect(status.status == 0 && status.stdout.contains("\"leader\" : \"a\""), "\(status)")
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("a/CURRENT").path), "the store is where the file put it")
            node.signal(SIGTERM)
            let stopped = try await node.wait(timeout: .seconds(30))
            #expect(stopped.status == 0, "\(stopped)")
        }
    }
}
#endif
