// Placeholder until the module lands.
enum MarketLensPlaceholder {}
