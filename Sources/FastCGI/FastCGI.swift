internal import CFastCGI

/// Process-wide libfcgi set-up.
public enum FastCGI {
    /// `FCGX_Init` runs exactly once, guarded by Swift's thread-safe lazy initialisation of globals.
    private static let initResult: Int32 = FCGX_Init()

    /// Initialises libfcgi (`FCGX_Init`) once per process; later calls return the first outcome.
    /// Call it from `main` before starting request threads (the listener and request slots call it too).
    public static func initialize() throws(FastCGIError) {
        let result = initResult
        if result != 0 { throw FastCGIError(call: "FCGX_Init", code: result) }
    }
}
