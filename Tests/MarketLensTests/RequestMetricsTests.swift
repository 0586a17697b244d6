import Testing
@testable import MarketLens

@Suite struct RequestMetricsTests {
    @Test func countsRequestsByStatusClassAndLatencyBucket() {
        let metrics = RequestMetrics(worker: "3")
        metrics.begin(); metrics.end(status: 200, seconds: 0.002)
        metrics.begin(); metrics.end(status: 404, seconds: 0.3)
        metrics.begin()
        let text = metrics.prometheusText()
        #expect(text.contains(#"marketlens_http_requests_total{worker="3",status="2xx"} 1"#))
        #expect(text.contains(#"marketlens_http_requests_total{worker="3",status="4xx"} 1"#))
        #expect(text.contains(#"marketlens_http_requests_in_flight{worker="3"} 1"#))
        #expect(text.contains(#"marketlens_http_request_duration_seconds_bucket{worker="3",le="0.005"} 1"#))
        #expect(text.contains(#"marketlens_http_request_duration_seconds_bucket{worker="3",le="0.5"} 2"#))
        #expect(text.contains(#"marketlens_http_request_duration_seconds_count{worker="3"} 2"#))
    }

    @Test func liveStreamCountersAreExportedWhenGiven() {
        let metrics = RequestMetrics(worker: "1")
        #expect(!metrics.prometheusText().contains("marketlens_live_streams_open"))
        let text = metrics.prometheusText(live: (open: 12, shed: 3, overflows: 1))
        #expect(text.contains(#"marketlens_live_streams_open{worker="1"} 12"#))
        #expect(text.contains(#"marketlens_live_streams_shed_total{worker="1"} 3"#))
        #expect(text.contains(#"marketlens_live_streams_overflowed_total{worker="1"} 1"#))
    }
}
