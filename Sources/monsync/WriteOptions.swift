import ArgumentParser

/// `--client-id` and `--tid` of `put` and `delete`: the identity under which a write is applied at
/// most once, so a write whose outcome is unknown (exit 4) can be resent safely.
struct WriteOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The client id to write as (1 to 2^64-1); random when absent. With --tid, resends an earlier write: the monitors apply a (client id, tid) at most once.",
        valueName: "id"))
    var clientID: UInt64?

    @Option(help: ArgumentHelp("The write's tid under --client-id (from 1; default 1).", valueName: "n"))
    var tid: UInt64?

    func validate() throws {
        if clientID == 0 { throw ValidationError("--client-id must be between 1 and 18446744073709551615 (got 0).") }
        if tid == 0 { throw ValidationError("--tid must be at least 1 (got 0).") }
        if tid != nil && clientID == nil {
            throw ValidationError("--tid needs --client-id: a tid only identifies a write together with its client id.")
        }
    }
}
