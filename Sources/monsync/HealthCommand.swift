import ArgumentParser
import Foundation
import MonSyncHealth

/// `monsync health [--detail] [--json]`: the cluster's health in Ceph's words, with an exit status a
/// script or a monitoring system can act on.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Report the cluster's health: HEALTH_OK, HEALTH_WARN or HEALTH_ERR, and the checks raised.",
        discussion: """
        Asks every monitor for its status (as `status` does) and evaluates the answers: MON_DOWN, \\
        NO_QUORUM, MON_SYNCING, SYNC_STALLED, SYNC_FAILED, MONMAP_MISMATCH, STORE_NEARLY_FULL, STORE_FULL \\
        (docs/CLI.md, "health"). Prints one line (`ceph health`); --detail adds each check's lines \\
        (`ceph health detail`); --json prints Ceph's JSON with every detail.

        Exits 0 on HEALTH_OK, 7 on HEALTH_WARN, 8 on HEALTH_ERR with a quorum, 2 without a quorum, \\
        3 when no monitor answered.

        Example:
          monsync health --detail --config monmap.conf
        """)

    @Flag(help: "Print each raised check with its detail lines.")
    var detail = false

    @OptionGroup var options: ClientOptions
    @OptionGroup(title: "Health checks") var healthOptions: HealthOptions

    func run() async throws {
        let code = try await options.withClient { client, monmap in
            let survey = await client.survey(timeout: options.timeout.seconds, attemptTimeout: options.attemptTimeout.seconds)
            let view = ClusterView(survey, monmap: monmap, thresholds: healthOptions.thresholds)
            if options.json {
                try options.printJSON(view.report)
            } else {
                print(detail ? view.report.detailText : view.report.summaryLine)
            }
            return view.healthExitCode
        }
        // The report is the answer; the status only sums it up, so nothing more goes to standard error.
        if code != .ok { throw code.exitCode }
    }
}
