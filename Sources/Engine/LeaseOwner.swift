import Foundation

/// The one lease-owner id of this process (`hostname:pid:random`): every leased table (report runs, batches)
/// is claimed under it, so an operator sees one owner per process and a restart never inherits old leases.
public enum LeaseOwner {
    /// This process's id, made once at first use.
    public static let current: String = make()

    /// A fresh id (tests use several to play several processes in one).
    public static func make() -> String {
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return "\(ProcessInfo.processInfo.hostName.prefix(64)):\(ProcessInfo.processInfo.processIdentifier):\(random)"
    }
}
