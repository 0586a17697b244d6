// Placeholder until the module lands.
enum MigrationsPlaceholder {}
