// Placeholder until the module lands.
enum FastCGIServerPlaceholder {}
