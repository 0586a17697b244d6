// Shared test support: placeholder until it lands.
enum TestSupportPlaceholder {}
