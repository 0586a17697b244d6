import FastCGIServer
import Foundation
import Logging
import Testing

/// Whether a process with this pid exists (our reaped children do not).
func processExists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno != ESRCH }

final class RunningSupervisor: @unchecked Sendable {
    let supervisor: Supervisor
    private let returned = DispatchSemaphore(value: 0)
    private(set) var exitStatus: Int32?

    init(workers: Int, script: String, grace: Duration = .seconds(5), restartDelay: Duration = .milliseconds(50)) {
        var logger = Logger(label: "test.supervisor")
        logger.logLevel = .critical
        supervisor = Supervisor(configuration: SupervisorConfiguration(
            workers: workers, executable: "/bin/sh", arguments: { index in ["-c", script, "worker", "\(index)"] },
            environment: ["PATH": "/usr/bin:/bin"], shutdownGracePeriod: grace, restartDelay: restartDelay,
            maximumRestartDelay: .seconds(1), stableAfter: .seconds(5), handlesSignals: false), logger: logger)
        let supervisor = self.supervisor
        Thread { [self] in
            exitStatus = supervisor.run()
            returned.signal()
        }.start()
    }

    /// Polls until `condition` holds for the worker list or `timeout` passes.
    func waitFor(timeout: Double = 5, _ condition: ([SupervisedWorker]) -> Bool) -> [SupervisedWorker]? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let workers = supervisor.workers()
            if condition(workers) { return workers }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return nil
    }

    func stop(timeout: Double = 10) -> Bool {
        supervisor.stop()
        return returned.wait(timeout: .now() + timeout) == .success
    }
}

@Suite("Supervisor")
struct SupervisorTests {
    @Test("starts every worker, restarts one killed with SIGKILL under a new pid, stops them all")
    func restartAndStop() throws {
        let running = RunningSupervisor(workers: 3, script: "exec sleep 30")
        let initial = try #require(running.waitFor { $0.allSatisfy { $0.pid != nil } })
        let pids = initial.compactMap(\.pid)
        #expect(Set(pids).count == 3)
        #expect(pids.allSatisfy(processExists))

        kill(pids[1], SIGKILL)
        let after = try #require(running.waitFor { $0[1].pid != nil && $0[1].pid != pids[1] })
        #expect(after[1].restarts == 1)
        #expect(after[0].pid == pids[0] && after[2].pid == pids[2], "the others keep running")
        let allPids = pids + after.compactMap(\.pid)

        #expect(running.stop())
        #expect(running.exitStatus == 0)
        #expect(!allPids.contains(where: processExists), "no worker is left running")
    }

    @Test("passes each worker its own arguments")
    func arguments() throws {
        let directory = "/tmp/fastcgi/args-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let running = RunningSupervisor(workers: 2, script: "echo \"$1\" > \(directory)/w$1; exec sleep 30")
        defer { _ = running.stop() }
        _ = running.waitFor { $0.allSatisfy { $0.pid != nil } }
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline && (try? FileManager.default.contentsOfDirectory(atPath: directory).count) != 2 {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(try String(contentsOfFile: "\(directory)/w0", encoding: .utf8) == "0\n")
        #expect(try String(contentsOfFile: "\(directory)/w1", encoding: .utf8) == "1\n")
    }

    @Test("a crash-looping worker is restarted with growing delays, not in a tight loop")
    func crashLoopBackoff() throws {
        let running = RunningSupervisor(workers: 1, script: "exit 3", restartDelay: .milliseconds(50))
        Thread.sleep(forTimeInterval: 1.5)
        let restarts = running.supervisor.workers()[0].restarts
        #expect(running.stop())
        // Delays 50, 100, 200, 400, 800 ms: about 4 or 5 restarts in 1.5 s; a tight loop would make hundreds.
        #expect((3...6).contains(restarts), "restarts: \(restarts)")
    }

    @Test("a worker that ignores SIGTERM is killed after the grace period")
    func killAfterGrace() throws {
        let running = RunningSupervisor(workers: 1, script: "trap '' TERM; exec sleep 30", grace: .milliseconds(300))
        let workers = try #require(running.waitFor { $0.allSatisfy { $0.pid != nil } })
        let pid = try #require(workers[0].pid)
        Thread.sleep(forTimeInterval: 0.1)
        let begin = Date()
        #expect(running.stop())
        #expect(Date().timeIntervalSince(begin) < 3)
        #expect(running.exitStatus == 1)
        #expect(!processExists(pid))
    }

    @Test("a missing executable is retried with back-off and does not stop the supervisor")
    func spawnFailure() throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let supervisor = Supervisor(configuration: SupervisorConfiguration(
            workers: 1, executable: "/tmp/fastcgi/does-not-exist", arguments: { _ in [] },
            restartDelay: .milliseconds(20), handlesSignals: false), logger: logger)
        let returned = DispatchSemaphore(value: 0)
        Thread { _ = supervisor.run(); returned.signal() }.start()
        Thread.sleep(forTimeInterval: 0.5)
        #expect(supervisor.workers()[0].pid == nil)
        #expect(supervisor.workers()[0].restarts >= 1)
        supervisor.stop()
        #expect(returned.wait(timeout: .now() + 5) == .success)
    }
}
