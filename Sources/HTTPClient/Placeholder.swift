internal import CCurl
enum HTTPClientPlaceholder { static func initialise() { _ = curl_global_init(Int(CURL_GLOBAL_ALL)) } }
