import Foundation
import Mustache

/// Renders pages from `templates/*.mustache` (and `templates/email/*.mustache`). Loaded once at start-up and
/// shared read-only by every request thread.
public struct PageRenderer: Sendable {
    let library: MustacheLibrary

    /// Loads every template under `directory` (recursively; a file `email/ready.mustache` is named `email/ready`).
    public init(directory: String) throws {
        var library = MustacheLibrary()
        let root = URL(fileURLWithPath: directory)
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw TemplateError.directoryMissing(directory)
        }
        var found = 0
        for case let file as URL in enumerator where file.pathExtension == "mustache" {
            let relative = file.path.dropFirst(root.path.count + 1).dropLast(".mustache".count)
            let text = try String(contentsOf: file, encoding: .utf8)
            do {
                try library.register(text, named: String(relative))
            } catch {
                throw TemplateError.invalid(String(relative), "\(error)")
            }
            found += 1
        }
        guard found > 0 else { throw TemplateError.directoryMissing(directory) }
        self.library = library
    }

    /// Renders `template` with `context`; throws when the template does not exist.
    public func render(_ template: String, _ context: [String: Any]) throws -> String {
        guard let html = library.render(context, withTemplate: template) else {
            throw TemplateError.missing(template)
        }
        return html
    }
}

/// A template that could not be loaded or found.
public enum TemplateError: Error, CustomStringConvertible {
    case directoryMissing(String)
    case invalid(String, String)
    case missing(String)

    public var description: String {
        switch self {
        case .directoryMissing(let directory): "no templates found in \(directory)"
        case .invalid(let name, let detail): "template \(name) does not parse: \(detail)"
        case .missing(let name): "template \(name) is missing"
        }
    }
}
