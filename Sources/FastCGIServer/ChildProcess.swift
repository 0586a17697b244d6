#if canImport(Glibc)
internal import Glibc
#endif

/// Starts and signals child processes with `posix_spawn` (no fork of a multi-threaded Swift process).
enum ChildProcess {
    /// Spawns `executable` with `arguments` (argv after argv[0]) and `environment` (nil: inherit). The child
    /// starts with no blocked signals and default dispositions for the ones a server cares about.
    static func spawn(executable: String, arguments: [String], environment: [String: String]?) -> Result<pid_t, SpawnError> {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = CStringArray([executable] + arguments)
        let envp = environment.map { CStringArray($0.map { "\($0.key)=\($0.value)" }.sorted()) }
        var pid: pid_t = 0
        let result = argv.withPointer { argvPointer in
            if let envp {
                return envp.withPointer { posix_spawn(&pid, executable, nil, &attributes, argvPointer, $0) }
            }
            return posix_spawn(&pid, executable, nil, &attributes, argvPointer, environ)
        }
        return result == 0 ? .success(pid) : .failure(SpawnError(code: result))
    }

    /// Reaps `pid` if it has exited; nil while it runs.
    static func reap(_ pid: pid_t) -> ExitStatus? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid { return ExitStatus(raw: status) }
        // ECHILD: already reaped elsewhere (cannot happen to our own children unless someone waits on -1).
        if result < 0 && errno == ECHILD { return ExitStatus(raw: 0) }
        return nil
    }

    /// The failure of `posix_spawn`, with its errno.
    struct SpawnError: Error, CustomStringConvertible {
        let code: Int32
        var description: String { "posix_spawn failed: \(String(cString: strerror(code))) (\(code))" }
    }

    /// How a child ended.
    struct ExitStatus: CustomStringConvertible {
        let raw: Int32
        /// The signal that killed it, if any.
        var signal: Int32? { (raw & 0x7F) != 0 && (raw & 0x7F) != 0x7F ? raw & 0x7F : nil }
        /// The exit code when it exited normally.
        var code: Int32? { signal == nil ? (raw >> 8) & 0xFF : nil }
        var description: String { signal.map { "killed by signal \($0)" } ?? "exited with code \(code ?? -1)" }
    }
}

/// A NUL-terminated array of C strings that lives as long as the value.
private final class CStringArray {
    private var pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) { pointers = strings.map { strdup($0) } + [nil] }

    deinit { for pointer in pointers { free(pointer) } }

    func withPointer<R>(_ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
