import ArgumentParser

/// `--client-id` and `--tid` of `put` and `delete`: the identity under which a write is applied at
/// most once, so a write whose outcome is unknown (exit 4) can be resent safely.
struct WriteOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "With --tid: resend the earlier write of this client id (1 to 2^64-1) and tid, as an outcome-unknown error names them; the monitors apply it at most once. A fresh random id when absent.",
        valueName: "id"))
    var clientID: UInt64?

    @Option(help: ArgumentHelp("With --client-id: the tid of the write to resend (from 1).", valueName: "n"))
    var tid: UInt64?

    func validate() throws {
        if clientID == 0 { throw ValidationError("--client-id must be between 1 and 18446744073709551615 (got 0).") }
        if tid == 0 { throw ValidationError("--tid must be at least 1 (got 0).") }
        // Together or not at all: the pair names one write, and a new write under a reused pair
        // would be taken for the old one and not applied.
        if (tid == nil) != (clientID == nil) {
            throw ValidationError("--client-id and --tid go together: they name the write to resend.")
        }
    }
}
