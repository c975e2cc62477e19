import MonSyncHealth
import Testing

@Suite struct HealthStatusTests {
    @Test func orderedBestToWorst() {
        #expect([HealthStatus.error, .ok, .warn].max() == .error)
        #expect([HealthStatus.ok, .warn].max() == .warn)
    }
}
