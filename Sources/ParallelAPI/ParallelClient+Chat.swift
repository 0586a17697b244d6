extension ParallelClient {
    /// `POST {chatPath}` with `Authorization: Bearer`. The total timeout is `timeout` (default `chatTimeout`);
    /// pass `maxRetries: 0` when a caller waiting on the answer cannot afford backoff.
    public func chatCompletion(_ body: ChatCompletionRequest, timeout: Double? = nil, maxRetries: Int? = nil)
        throws(ParallelError) -> ChatCompletion
    {
        let request = request("POST", configuration.chatPath, body: try Self.jsonBody(body), auth: .bearer,
                              timeout: timeout ?? configuration.chatTimeout)
        let response = try perform(request, kind: .idempotent, maxRetries: maxRetries)
        return try Self.decode(ChatCompletion.self, from: response.body, what: "chat completion")
    }
}
