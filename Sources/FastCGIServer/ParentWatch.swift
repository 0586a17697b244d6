#if canImport(Glibc)
internal import Glibc
#endif
internal import CProcess

/// Workers must not outlive their supervisor: one killed with SIGKILL cannot stop them, and they would go on
/// serving (old code, held sockets) behind the next `serve`.
public enum ParentWatch {
    /// Has the kernel send SIGTERM (a graceful stop) to this process when its parent exits; when the parent is
    /// already gone (it died before this call), sends it at once. `expectedParent` is the supervisor's pid.
    public static func stopWhenParentExits(expectedParent: Int32) {
        _ = marketlens_set_parent_death_signal(SIGTERM)
        if getppid() != expectedParent { kill(getpid(), SIGTERM) }
    }
}
