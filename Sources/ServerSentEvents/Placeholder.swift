// Placeholder until the module lands.
enum ServerSentEventsPlaceholder {}
