#if canImport(Glibc)
internal import Glibc
#endif
internal import CFastCGI

/// Process-wide libfcgi set-up.
public enum FastCGI {
    /// `FCGX_Init` runs exactly once, guarded by Swift's thread-safe lazy initialisation of globals.
    private static let initResult: Int32 = {
        let result = FCGX_Init()
        // FCGX_Init installs a no-op SIGPIPE handler without SA_RESTART, which makes any thread's blocking call
        // (libpq, libcurl) fail with EINTR when a client disconnects. Ignoring SIGPIPE gives the same EPIPE on
        // writes without interrupting anyone.
        signal(SIGPIPE, SIG_IGN)
        return result
    }()

    /// Initialises libfcgi (`FCGX_Init`) once per process and ignores SIGPIPE; later calls return the first
    /// outcome. Call it from `main` before starting request threads (the listener and request slots call it too).
    public static func initialize() throws(FastCGIError) {
        let result = initResult
        if result != 0 { throw FastCGIError(call: "FCGX_Init", code: result) }
    }
}
