internal import CCmark
internal import Foundation

/// A cmark-gfm parser with the `table`, `autolink` and `strikethrough` extensions attached. Owns the
/// `cmark_parser`; the tree it produces (`CmarkTree`) keeps it alive because rendering needs its extension list.
final class CmarkParser {
    let handle: OpaquePointer

    /// cmark-gfm keeps the inline scanner's special-character tables in process globals and toggles the
    /// extensions' characters on and off around every parse, so two threads parsing at once can make one of
    /// them miss strikethrough or autolinks. Parses are therefore serialised (they take milliseconds).
    private static let parseLock = NSLock()

    /// Registers the core extensions exactly once per process (`static let` initialisation is thread-safe),
    /// before any parser looks them up: registration writes globals that parsing later only reads.
    private static let extensionsRegistered: Bool = {
        cmark_gfm_core_extensions_ensure_registered()
        return true
    }()

    static let options = CMARK_OPT_VALIDATE_UTF8

    init() throws(MarkdownError) {
        _ = Self.extensionsRegistered
        guard let handle = cmark_parser_new(Self.options) else {
            throw MarkdownError(kind: .libraryFailure, call: "cmark_parser_new")
        }
        self.handle = handle
        for name in ["table", "autolink", "strikethrough"] {
            guard let extensionHandle = cmark_find_syntax_extension(name),
                cmark_parser_attach_syntax_extension(handle, extensionHandle) != 0
            else {
                throw MarkdownError(kind: .libraryFailure, call: "cmark_parser_attach_syntax_extension(\(name))")
            }
        }
    }

    deinit { cmark_parser_free(handle) }

    /// Parses `markdown` into a tree owned by the caller.
    func parse(_ markdown: String) throws(MarkdownError) -> CmarkTree {
        var text = markdown
        Self.parseLock.lock()
        text.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                cmark_parser_feed(handle, chars.baseAddress, chars.count)
            }
        }
        let root = cmark_parser_finish(handle)
        Self.parseLock.unlock()
        guard let root else { throw MarkdownError(kind: .libraryFailure, call: "cmark_parser_finish") }
        return CmarkTree(root: root, parser: self)
    }
}

/// A parsed document tree (`cmark_node` root), freed with the tree.
final class CmarkTree {
    let root: OpaquePointer
    private let parser: CmarkParser

    init(root: OpaquePointer, parser: CmarkParser) {
        self.root = root
        self.parser = parser
    }

    deinit { cmark_node_free(root) }

    /// The HTML for the whole tree, or for the subtree at `node`. Without `CMARK_OPT_UNSAFE`, raw HTML becomes
    /// `<!-- raw HTML omitted -->`.
    func renderHTML(of node: OpaquePointer? = nil) throws(MarkdownError) -> String {
        guard
            let html = cmark_render_html(
                node ?? root, CmarkParser.options, cmark_parser_get_syntax_extensions(parser.handle))
        else { throw MarkdownError(kind: .libraryFailure, call: "cmark_render_html") }
        defer { cmark_get_default_mem_allocator().pointee.free(html) }
        return String(cString: html)
    }

    /// Every node of the given types in document order (collected first so callers may then change the tree).
    func nodes(where matches: (cmark_node_type) -> Bool, under start: OpaquePointer? = nil) -> [OpaquePointer] {
        var found: [OpaquePointer] = []
        guard let iterator = cmark_iter_new(start ?? root) else { return found }
        defer { cmark_iter_free(iterator) }
        while true {
            let event = cmark_iter_next(iterator)
            if event == CMARK_EVENT_DONE { break }
            guard event == CMARK_EVENT_ENTER, let node = cmark_iter_get_node(iterator) else { continue }
            if matches(cmark_node_get_type(node)) { found.append(node) }
        }
        return found
    }
}
