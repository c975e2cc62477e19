import CMonSyncBuildInfo

/// `monsync --version`: the release number, kept here and nowhere else, and the git commit when the
/// build was given one.
///
/// The commit is not guessed at run time (the binary may long outlive the checkout): a build that
/// wants it passes it to the C compiler, as `Scripts/build-release` does —
/// `swift build -c release -Xcc -DMONSYNC_GIT_COMMIT='"'$(git rev-parse --short=12 HEAD)'"'`.
enum MonSyncVersion {
    /// The release: bump it when a release is cut (semantic versioning).
    static let number = "0.1.0"

    /// The commit the binary was built from, when the build said.
    static var commit: String? {
        let commit = String(cString: monsync_build_commit())
        return commit.isEmpty ? nil : commit
    }

    /// `0.1.0` or `0.1.0 (commit 1a2b3c4d5e6f)`.
    static var description: String { number + (commit.map { " (commit \($0))" } ?? "") }
}
