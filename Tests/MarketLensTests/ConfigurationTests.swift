import Testing
@testable import Engine
@testable import MarketLens

@Suite struct ConfigurationTests {
    @Test func defaultsMatchTheProductSpecification() throws {
        let configuration = try AppConfiguration(environment: [:])
        #expect(configuration.isOffline)
        #expect(configuration.processor == "ultra2x")
        #expect(configuration.validationModel == "speed")
        #expect(configuration.parallelBaseURL == "https://api.parallel.ai")
        #expect(configuration.baseURL == "https://localhost:8443")
        #expect(configuration.maxReportsPerHour == 100)
        #expect(configuration.maxReportsPerClientPerHour == 5)
        #expect(configuration.maxValidationChecksPerClientPerHour == 120)
        #expect(RateLimit.validationChecks(client: "1.2.3.4", configuration: configuration).first?.limit == 120)
        let tight = try AppConfiguration(environment: ["MAX_VALIDATION_CHECKS_PER_CLIENT_PER_HOUR": "7"])
        #expect(RateLimit.validationChecks(client: "1.2.3.4", configuration: tight).first?.limit == 7)
        #expect(LiveSettings(environment: [:]).maxStreamsPerClient == 50)
        #expect(LiveSettings(environment: ["MARKETLENS_MAX_STREAMS_PER_CLIENT": "3"]).maxStreamsPerClient == 3)
        #expect(configuration.workers == 2)
        #expect(configuration.threads == 32)
        #expect(configuration.httpsPort == 8443 && configuration.httpPort == 8080)
        #expect(!configuration.isEmailEnabled)
    }

    @Test(arguments: [
        ("MARKETLENS_WORKERS", "0"), ("MARKETLENS_THREADS", "many"), ("HTTPS_PORT", "70000"),
        ("PARALLEL_BASE_URL", "ftp://example.com"), ("BASE_URL", "not a url"), ("MARKETLENS_PROCESSOR", "mega"),
        ("LOG_LEVEL", "loud"),
    ])
    func invalidValuesNameTheVariable(name: String, value: String) {
        #expect {
            try AppConfiguration(environment: [name: value])
        } throws: { error in
            (error as? ConfigurationError)?.variable == name
        }
    }

    @Test func descriptionNeverContainsSecrets() throws {
        let configuration = try AppConfiguration(environment: [
            "PARALLEL_API_KEY": "pk_live_SECRET123",
            "RESEND_API_KEY": "re_SECRET456",
            "MAIL_FROM": "Reports <reports@example.com>",
            "PARALLEL_WEBHOOK_SECRET": "whsec_SECRET789",
            "DATABASE_URL": "postgresql://app:hunter2@db.internal:5432/marketlens?sslmode=require",
        ])
        let text = configuration.description
        for secret in ["SECRET123", "SECRET456", "SECRET789", "hunter2", "reports@example.com"] {
            #expect(!text.contains(secret), "description leaks \(secret)")
        }
        #expect(text.contains("db.internal"))
        #expect(!configuration.isOffline && configuration.isEmailEnabled)
    }

    @Test func trailingSlashOfBaseURLsIsDropped() throws {
        let configuration = try AppConfiguration(environment: ["PARALLEL_BASE_URL": "http://127.0.0.1:9000/"])
        #expect(configuration.parallelBaseURL == "http://127.0.0.1:9000")
    }

    @Test func environmentFileParsing() {
        let values = EnvironmentFile.parse(
            """
            # comment
            export MARKETLENS_WORKERS=3
            MAIL_FROM="Marketlens <m@example.com>"
            BASE_URL='https://research.example.com'
            not a line
            =novalue
            EMPTY=
            """)
        #expect(values["MARKETLENS_WORKERS"] == "3")
        #expect(values["MAIL_FROM"] == "Marketlens <m@example.com>")
        #expect(values["BASE_URL"] == "https://research.example.com")
        #expect(values["EMPTY"] == "")
        #expect(values.count == 4)
    }
}
