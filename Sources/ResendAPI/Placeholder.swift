// Placeholder until the module lands.
enum ResendAPIPlaceholder {}
