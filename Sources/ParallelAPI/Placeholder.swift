// Placeholder until the module lands.
enum ParallelAPIPlaceholder {}
