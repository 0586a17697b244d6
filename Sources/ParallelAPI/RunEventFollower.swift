import Foundation
public import Logging

/// What a follower needs from Parallel; `ParallelClient` provides it, tests script it.
public protocol RunEventSource {
    /// Opens the run's event stream once (see `ParallelClient.runEvents`).
    func runEvents(runID: String, idleTimeout: Double?, shouldStop: () -> Bool, onEvent: (RunEvent) -> Bool)
        throws(ParallelError) -> StreamEnd
    /// GETs the run.
    func retrieveRun(_ runID: String) throws(ParallelError) -> TaskRun
    /// Blocks for the result.
    func result(runID: String, timeout: Int) throws(ParallelError) -> TaskRunResult
}

extension ParallelClient: RunEventSource {}

/// Something the follower reports while it works.
public enum RunFollowUpdate: Sendable {
    /// An event, new or (with `deliverReplayed`) replayed.
    case event(RunEvent, EventOrigin)
    /// About to reconnect after `delay` seconds (attempt counts connections so far).
    case reconnecting(attempt: Int, delay: Double, reason: ReconnectReason)
}

/// How following a run ended.
public enum RunFollowOutcome: Sendable {
    /// The run is no longer active. `output` is set when it completed and the output could be had (from the final
    /// state or `/result`); nil for failed/cancelled runs, or when `/result` failed (call it again later).
    case finished(run: TaskRun, output: RunOutput?)
    /// The stop check said so.
    case stopped
    /// Reconnects exhausted or a non-retryable error (401, 404…); the caller should fall back to polling.
    case gaveUp(ParallelError, lastRun: TaskRun?)
}

/// Follows one run's event stream to its end across reconnects (§3.4): dedupes replays, detects stalls, checks the run
/// when a stream closes early, and fetches `/result` when the final state comes without output. Blocking: run it on
/// a dedicated thread.
public struct RunEventFollower {
    /// The tunables.
    public var policy: RunFollowPolicy
    var logger: Logger
    /// Waits between reconnects (checked against the stop flag in short slices).
    var sleep: (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }
    /// Seconds on a monotonic clock.
    var now: () -> Double = { ProcessInfo.processInfo.systemUptime }
    /// Jitter source in [0, 1].
    var random: () -> Double = { Double.random(in: 0...1) }

    /// Creates a follower.
    public init(policy: RunFollowPolicy = RunFollowPolicy(), logger: Logger = Logger(label: "marketlens.parallel")) {
        self.policy = policy
        self.logger = logger
    }

    /// Follows `runID` until it is no longer active, `shouldStop()` returns true, or it gives up.
    public func follow(runID: String, source: some RunEventSource, shouldStop: () -> Bool = { false },
                       onUpdate: (RunFollowUpdate) -> Void) -> RunFollowOutcome {
        var state = RunFollowState(policy: policy)
        var lastError: ParallelError?
        while true {
            if shouldStop() { return .stopped }
            state.connectionStarted()
            let started = now()
            var end: RunFollowState.ConnectionEnd = .closed
            do throws(ParallelError) {
                let streamEnd = try source.runEvents(runID: runID, idleTimeout: policy.idleTimeout,
                                                     shouldStop: shouldStop) { event in
                    let (origin, deliver) = state.receive(event)
                    if deliver { onUpdate(.event(event, origin)) }
                    return !state.isFinished
                }
                if streamEnd == .stopped && !state.isFinished { return .stopped }
            } catch {
                end = .failed(error)
                lastError = error
            }
            if state.isFinished { return finish(runID: runID, state: state, source: source, shouldStop: shouldStop) }
            if shouldStop() { return .stopped }

            var step = state.connectionEnded(end, duration: now() - started)
            if step == .checkRun {
                do throws(ParallelError) {
                    step = state.runChecked(try source.retrieveRun(runID), random: random())
                } catch {
                    lastError = error
                    step = state.runChecked(nil, error: error, random: random())
                }
            }
            switch step {
            case .finish:
                return finish(runID: runID, state: state, source: source, shouldStop: shouldStop)
            case .giveUp, .checkRun:
                let error = lastError ?? .streamExhausted(connections: state.connections)
                logger.warning("Giving up following Parallel run events", metadata: [
                    "run_id": "\(runID)", "connections": "\(state.connections)", "error": "\(error)",
                ])
                return .gaveUp(error, lastRun: state.lastRun)
            case .reconnect(let delay, let reason):
                logger.info("Reconnecting to Parallel run events", metadata: [
                    "run_id": "\(runID)", "delay_s": "\(delay)", "reason": "\(reason)",
                ])
                onUpdate(.reconnecting(attempt: state.connections, delay: delay, reason: reason))
                if !pause(delay, shouldStop: shouldStop) { return .stopped }
            }
        }
    }

    /// Sleeps in short slices so a stop request is honoured quickly; false when stopped.
    private func pause(_ seconds: Double, shouldStop: () -> Bool) -> Bool {
        var remaining = seconds
        while remaining > 0 {
            if shouldStop() { return false }
            let slice = min(remaining, 0.25)
            sleep(slice)
            remaining -= slice
        }
        return !shouldStop()
    }

    /// The end: a completed run without output in its final state gets its output from `/result`.
    private func finish(runID: String, state: RunFollowState, source: some RunEventSource,
                        shouldStop: () -> Bool) -> RunFollowOutcome {
        guard let run = state.terminalRun else { return .stopped }
        if run.status != .completed || state.terminalOutput != nil {
            return .finished(run: run, output: state.terminalOutput)
        }
        for attempt in 0..<3 {
            if shouldStop() { break }
            do throws(ParallelError) {
                let result = try source.result(runID: runID, timeout: policy.resultTimeout)
                return .finished(run: result.run, output: result.output)
            } catch {
                logger.warning("Fetching the Parallel result failed", metadata: [
                    "run_id": "\(runID)", "attempt": "\(attempt + 1)", "error": "\(error)",
                ])
                if !error.isRetryable { break }
                if !pause(policy.reconnectInitialDelay, shouldStop: shouldStop) { break }
            }
        }
        return .finished(run: run, output: nil)
    }
}
