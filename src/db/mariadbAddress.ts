// A leaf (no TypeORM, no entities): the export threads import it too.

/** Where a `mariadb://user:pass@host:port/db` URL points, as mysql2 takes it. */
export function mariadbAddress(databaseUrl: string): {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
} {
  const url = new URL(databaseUrl);
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.replace(/^\//, ''),
  };
}
