internal import CCmark

/// Small typed helpers over `cmark_node` pointers; every string is copied out of cmark's memory at once.
enum CmarkNode {
    static func url(_ node: OpaquePointer) -> String {
        cmark_node_get_url(node).map { String(cString: $0) } ?? ""
    }

    static func title(_ node: OpaquePointer) -> String {
        cmark_node_get_title(node).map { String(cString: $0) } ?? ""
    }

    static func literal(_ node: OpaquePointer) -> String {
        cmark_node_get_literal(node).map { String(cString: $0) } ?? ""
    }

    /// A new text node with `text`, not yet in a tree.
    static func makeText(_ text: String) -> OpaquePointer? {
        guard let node = cmark_node_new(CMARK_NODE_TEXT) else { return nil }
        _ = cmark_node_set_literal(node, text)
        return node
    }

    /// A new custom node whose HTML is `enter` before its children and `exit` after; cmark writes these
    /// strings verbatim, so callers must escape everything they put in them.
    static func makeCustom(_ type: cmark_node_type, enter: String, exit: String) -> OpaquePointer? {
        guard let node = cmark_node_new(type) else { return nil }
        _ = cmark_node_set_on_enter(node, enter)
        _ = cmark_node_set_on_exit(node, exit)
        return node
    }

    /// Moves every child of `from` to the end of `to`.
    static func moveChildren(from: OpaquePointer, to: OpaquePointer) {
        while let child = cmark_node_first_child(from) {
            cmark_node_unlink(child)
            _ = cmark_node_append_child(to, child)
        }
    }

    /// Puts `node`'s children where `node` was and frees `node`.
    static func unwrap(_ node: OpaquePointer) {
        while let child = cmark_node_first_child(node) {
            _ = cmark_node_insert_before(node, child)
        }
        cmark_node_free(node)
    }

    /// Puts `replacement` where `node` was and frees `node` (and anything still under it).
    static func replace(_ node: OpaquePointer, with replacement: OpaquePointer) {
        _ = cmark_node_insert_before(node, replacement)
        cmark_node_free(node)
    }

    /// The plain text of a subtree: text and code literals, line breaks as spaces.
    static func plainText(of node: OpaquePointer) -> String {
        var text = ""
        guard let iterator = cmark_iter_new(node) else { return text }
        defer { cmark_iter_free(iterator) }
        while true {
            let event = cmark_iter_next(iterator)
            if event == CMARK_EVENT_DONE { break }
            guard event == CMARK_EVENT_ENTER, let current = cmark_iter_get_node(iterator) else { continue }
            let type = cmark_node_get_type(current)
            if type == CMARK_NODE_TEXT || type == CMARK_NODE_CODE {
                text += literal(current)
            } else if type == CMARK_NODE_SOFTBREAK || type == CMARK_NODE_LINEBREAK {
                text += " "
            }
        }
        return text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
