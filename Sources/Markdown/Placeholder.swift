internal import CCmark
enum MarkdownPlaceholder { static func register() { cmark_gfm_core_extensions_ensure_registered() } }
