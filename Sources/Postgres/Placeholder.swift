internal import CPostgres
enum PostgresPlaceholder { static func version() -> Int32 { PQlibVersion() } }
