public import ParallelAPI

extension AppConfiguration {
    /// The Parallel client settings for calls made while a visitor waits: a short create timeout and short,
    /// bounded back-off (a server asking for a longer wait than `maxServerDelay` gets the normal back-off).
    public var parallelRequestConfiguration: ParallelConfiguration {
        ParallelConfiguration(
            baseURL: parallelBaseURL, apiKey: parallelKeyForRequests, connectTimeout: 5, requestTimeout: 30,
            createTimeout: 30, chatTimeout: validationTimeout,
            retryPolicy: RetryPolicy(maxRetries: 2, initialDelay: 0.5, maxDelay: 4, maxServerDelay: 5))
    }
}
