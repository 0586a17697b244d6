/// A rendered Markdown document: safe HTML plus what a page needs around it.
public struct MarkdownDocument: Sendable, Equatable {
    /// The HTML: raw HTML from the source omitted, only absolute http(s) links and images kept, every h1–h4
    /// with a unique `id`.
    public var html: String
    /// The h1–h4 headings in document order, for a table of contents.
    public var headings: [Heading]
    /// The text of the first h1, if any.
    public var title: String?

    /// Creates a document.
    public init(html: String, headings: [Heading], title: String?) {
        self.html = html
        self.headings = headings
        self.title = title
    }
}

/// One heading for a table of contents.
public struct Heading: Sendable, Equatable {
    /// 1 to 4.
    public var level: Int
    /// The heading's plain text (markup removed).
    public var text: String
    /// The heading's `id` in the HTML: lower-case ASCII letters, digits and hyphens, unique in the document.
    public var anchor: String

    /// Creates a heading.
    public init(level: Int, text: String, anchor: String) {
        self.level = level
        self.text = text
        self.anchor = anchor
    }
}

/// How to render.
public struct MarkdownOptions: Sendable {
    /// Turn text `[n]` (outside links and code) into `<a href="#ref-n" class="cite">[n]</a>`. Headings are then
    /// never given an `id` of the form `ref-n`.
    public var citationLinks: Bool
    /// `rel` for links to other sites (absolute http(s) and `//host` URLs); nil leaves links as cmark renders them.
    public var externalLinkRel: String?
    /// Inputs larger than this (in UTF-8 bytes) are refused with `MarkdownError`.
    public var maxInputBytes: Int
    /// Anchors headings must not take (ids the page uses elsewhere).
    public var reservedAnchors: Set<String>

    /// Creates options; the defaults suit user-visible report pages.
    public init(
        citationLinks: Bool = false, externalLinkRel: String? = "nofollow noopener noreferrer",
        maxInputBytes: Int = 4 << 20, reservedAnchors: Set<String> = []
    ) {
        self.citationLinks = citationLinks
        self.externalLinkRel = externalLinkRel
        self.maxInputBytes = maxInputBytes
        self.reservedAnchors = reservedAnchors
    }
}

/// A Markdown rendering failure, with the cmark call that failed.
public struct MarkdownError: Error, Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// The input is larger than `MarkdownOptions.maxInputBytes`.
        case inputTooLarge
        /// cmark returned NULL (out of memory or a missing extension).
        case libraryFailure
    }

    /// What went wrong.
    public var kind: Kind
    /// The cmark function (or check) that failed.
    public var call: String

    /// Creates an error.
    public init(kind: Kind, call: String) {
        self.kind = kind
        self.call = call
    }

    /// Safe to log.
    public var description: String { "MarkdownError(\(kind), \(call))" }
    /// Same as `description`: nothing secret is kept.
    public var debugDescription: String { description }
}
