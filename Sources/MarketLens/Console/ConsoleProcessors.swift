/// One Parallel processor as the task console presents it (upstream-api.md §2.7). The table below is the one
/// source of the processors' documented latencies: the live report page quotes it as the typical duration.
struct ConsoleProcessor: Sendable, Equatable {
    /// The wire name, e.g. `core2x` or `pro-fast`.
    var name: String
    /// US dollars per 1,000 runs (the `-fast` variants cost the same).
    var pricePerThousand: Int
    /// The documented latency range, e.g. `60 s – 5 min`.
    var latency: String
    /// Roughly how many output fields the processor handles well.
    var maxFields: Int

    /// The label of the processor menu: name, price and latency.
    var label: String { "\(name) · $\(pricePerThousand)/1k runs · \(latency)" }

    /// Every processor, standard ones first, then the `-fast` variants, in price order.
    static let all: [ConsoleProcessor] = {
        let table: [(String, Int, String, String, Int)] = [
            ("lite", 5, "10 s – 60 s", "10 s – 20 s", 2),
            ("base", 10, "15 s – 100 s", "15 s – 50 s", 5),
            ("core", 25, "60 s – 5 min", "15 s – 100 s", 10),
            ("core2x", 50, "60 s – 10 min", "15 s – 3 min", 10),
            ("pro", 100, "2 – 10 min", "30 s – 5 min", 20),
            ("ultra", 300, "5 – 25 min", "1 – 10 min", 20),
            ("ultra2x", 600, "5 – 50 min", "1 – 20 min", 25),
            ("ultra4x", 1200, "5 – 90 min", "1 – 40 min", 25),
            ("ultra8x", 2400, "5 min – 2 h", "1 min – 1 h", 25),
        ]
        let standard = table.map { ConsoleProcessor(name: $0.0, pricePerThousand: $0.1, latency: $0.2, maxFields: $0.4) }
        let fast = table.map {
            ConsoleProcessor(name: $0.0 + "-fast", pricePerThousand: $0.1, latency: $0.3, maxFields: $0.4)
        }
        return standard + fast
    }()

    /// Whether `name` is a processor Parallel accepts.
    static func isKnown(_ name: String) -> Bool { named(name) != nil }

    /// The processor called `name`, if Parallel has one.
    static func named(_ name: String) -> ConsoleProcessor? { all.first { $0.name == name } }
}
