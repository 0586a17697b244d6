import Web
internal import CCmark

/// Renders GitHub-flavoured Markdown (tables, autolinks, strikethrough) to safe HTML with cmark-gfm.
///
/// Safety comes from the tree, not from patching HTML: cmark's safe mode omits raw HTML; then every link and
/// image whose URL is not absolute http(s) is unwrapped to its text; headings are re-emitted with
/// generated ids; citation markers and external-link `rel` are added as nodes whose markup this module builds
/// from escaped values. Safe to call from any thread.
public enum MarkdownRenderer {
    /// Renders `markdown`; throws `MarkdownError` for input over `options.maxInputBytes` or a cmark failure.
    public static func render(_ markdown: String, options: MarkdownOptions = .init()) throws(MarkdownError)
        -> MarkdownDocument
    {
        guard markdown.utf8.count <= options.maxInputBytes else {
            throw MarkdownError(kind: .inputTooLarge, call: "maxInputBytes")
        }
        let tree = try CmarkParser().parse(markdown)
        neutraliseUnsafeURLs(in: tree)
        let (headings, title, anchored) = collectHeadings(in: tree, options: options)
        if options.citationLinks { linkCitations(in: tree) }
        if let rel = options.externalLinkRel { markExternalLinks(in: tree, rel: rel) }
        try anchor(anchored, in: tree)
        return MarkdownDocument(html: try tree.renderHTML(), headings: headings, title: title)
    }

    /// Unwraps links and images with a forbidden URL, keeping their text (an image keeps its alt text).
    static func neutraliseUnsafeURLs(in tree: CmarkTree) {
        for node in tree.nodes(where: { $0 == CMARK_NODE_LINK || $0 == CMARK_NODE_IMAGE })
        where !URLPolicy.isAllowed(CmarkNode.url(node)) {
            CmarkNode.unwrap(node)
        }
    }

    /// Reads every heading's text, gives each h1–h4 a unique anchor, and finds the title (first h1).
    static func collectHeadings(in tree: CmarkTree, options: MarkdownOptions)
        -> (headings: [Heading], title: String?, anchored: [(node: OpaquePointer, heading: Heading)])
    {
        var anchors = AnchorAllocator(reserved: options.reservedAnchors, reservesCitationAnchors: options.citationLinks)
        var anchored: [(node: OpaquePointer, heading: Heading)] = []
        var title: String?
        for node in tree.nodes(where: { $0 == CMARK_NODE_HEADING }) {
            let level = Int(cmark_node_get_heading_level(node))
            var text = CmarkNode.plainText(of: node)
            // Citation markers belong in the body, not in a table of contents or a page title.
            if options.citationLinks { text = CitationScanner.removingMarkers(from: text) }
            if level == 1, title == nil, !text.isEmpty { title = text }
            guard (1...4).contains(level) else { continue }
            anchored.append((node, Heading(level: level, text: text, anchor: anchors.allocate(for: text))))
        }
        return (anchored.map(\.heading), title, anchored)
    }

    /// Replaces each heading with a custom block holding the heading's own rendering, its opening tag given
    /// the id. cmark renders a heading subtree as exactly `<hN>…</hN>\n` (no source positions are enabled),
    /// so only that known prefix is rewritten; the content stays cmark's escaped output.
    static func anchor(_ anchored: [(node: OpaquePointer, heading: Heading)], in tree: CmarkTree) throws(MarkdownError) {
        for (node, heading) in anchored {
            let rendered = try tree.renderHTML(of: node)
            let openTag = "<h\(heading.level)>"
            guard rendered.hasPrefix(openTag) else { continue }
            // The anchor is [a-z0-9-] only; escaping anyway keeps this safe if the slug rules ever change.
            let html = "<h\(heading.level) id=\"\(HTMLEscaping.escapeHTML(heading.anchor))\">" + rendered.dropFirst(openTag.count)
            guard let block = CmarkNode.makeCustom(CMARK_NODE_CUSTOM_BLOCK, enter: html, exit: "") else { continue }
            CmarkNode.replace(node, with: block)
        }
    }

    /// Turns `[n]` in text outside links and images into a link to `#ref-n` with class `cite`.
    static func linkCitations(in tree: CmarkTree) {
        cmark_consolidate_text_nodes(tree.root)
        var texts: [OpaquePointer] = []
        if let iterator = cmark_iter_new(tree.root) {
            defer { cmark_iter_free(iterator) }
            var linkDepth = 0
            while true {
                let event = cmark_iter_next(iterator)
                if event == CMARK_EVENT_DONE { break }
                guard let node = cmark_iter_get_node(iterator) else { continue }
                let type = cmark_node_get_type(node)
                if type == CMARK_NODE_LINK || type == CMARK_NODE_IMAGE {
                    linkDepth += event == CMARK_EVENT_ENTER ? 1 : -1
                } else if type == CMARK_NODE_TEXT, event == CMARK_EVENT_ENTER, linkDepth == 0 {
                    texts.append(node)
                }
            }
        }
        for node in texts {
            let pieces = CitationScanner.split(CmarkNode.literal(node))
            guard pieces.contains(where: { if case .citation = $0 { true } else { false } }) else { continue }
            for piece in pieces {
                switch piece {
                case .text(let text):
                    if let textNode = CmarkNode.makeText(text) { _ = cmark_node_insert_before(node, textNode) }
                case .citation(let number, let marker):
                    guard
                        let link = CmarkNode.makeCustom(
                            CMARK_NODE_CUSTOM_INLINE, enter: "<a href=\"#ref-\(number)\" class=\"cite\">", exit: "</a>"),
                        let label = CmarkNode.makeText(marker)
                    else { continue }
                    _ = cmark_node_append_child(link, label)
                    _ = cmark_node_insert_before(node, link)
                }
            }
            cmark_node_free(node)
        }
    }

    /// Re-emits links to other sites with `rel` (e.g. `nofollow noopener noreferrer`), escaping href and title.
    static func markExternalLinks(in tree: CmarkTree, rel: String) {
        for node in tree.nodes(where: { $0 == CMARK_NODE_LINK }) {
            let url = CmarkNode.url(node)
            guard URLPolicy.isExternal(url) else { continue }
            let title = CmarkNode.title(node)
            var enter = "<a href=\"\(URLPolicy.escapeHref(url))\" rel=\"\(HTMLEscaping.escapeHTML(rel))\""
            if !title.isEmpty { enter += " title=\"\(HTMLEscaping.escapeHTML(title))\"" }
            guard let anchor = CmarkNode.makeCustom(CMARK_NODE_CUSTOM_INLINE, enter: enter + ">", exit: "</a>") else {
                continue
            }
            CmarkNode.moveChildren(from: node, to: anchor)
            CmarkNode.replace(node, with: anchor)
        }
    }
}

/// Finds citation markers `[n]` (1 to 4 digits) in a text literal.
enum CitationScanner {
    enum Piece: Equatable {
        case text(String)
        case citation(number: Int, marker: String)
    }

    /// `text` without its citation markers, spaces collapsed.
    static func removingMarkers(from text: String) -> String {
        split(text).compactMap { if case .text(let plain) = $0 { plain } else { nil } }.joined()
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static func split(_ text: String) -> [Piece] {
        var pieces: [Piece] = []
        var plain = ""
        let scalars = Array(text.unicodeScalars)
        var index = 0
        while index < scalars.count {
            if scalars[index] == "[" {
                var end = index + 1
                while end < scalars.count, end - index <= 4, ("0"..."9").contains(scalars[end]) { end += 1 }
                if end > index + 1, end < scalars.count, scalars[end] == "]",
                    let number = Int(String(String.UnicodeScalarView(scalars[(index + 1)..<end])))
                {
                    if !plain.isEmpty { pieces.append(.text(plain)) }
                    plain = ""
                    pieces.append(.citation(number: number, marker: String(String.UnicodeScalarView(scalars[index...end]))))
                    index = end + 1
                    continue
                }
            }
            plain.unicodeScalars.append(scalars[index])
            index += 1
        }
        if !plain.isEmpty { pieces.append(.text(plain)) }
        return pieces
    }
}
