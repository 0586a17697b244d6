internal import CFastCGI
// Placeholder until the module lands: proves the C module links.
enum FastCGIPlaceholder { static func initialise() -> Int32 { FCGX_Init() } }
