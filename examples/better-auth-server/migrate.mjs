// Create the tables of the configured adapter (BA_ADAPTER, see adapters.mjs):
// kysely → Better-Auth's own migration (getMigrations; the 1.7 `auth` CLI needs Node >= 22.12),
// drizzle → drizzle-kit generate + migrate on the Better-Auth CLI's Drizzle schema,
// prisma → the DDL in prisma/ (see prisma/README.md).
// Usage: node migrate.mjs [--sql] [--dry-run]   --sql prints the DDL, --dry-run skips running it.
import { adapterName, drizzleMigrate } from "./adapters.mjs";

const printSql = process.argv.includes("--sql");
const dryRun = process.argv.includes("--dry-run");
const adapter = adapterName();

if (adapter === "kysely") {
  const { getMigrations } = await import("better-auth/db/migration");
  const { auth, closeDatabase } = await import("./auth.mjs");
  try {
    const { toBeCreated, toBeAdded, runMigrations, compileMigrations } = await getMigrations(
      auth.options,
    );
    console.log("toBeCreated:", toBeCreated.map((t) => t.table).join(",") || "-");
    console.log("toBeAdded:", toBeAdded.map((t) => t.table).join(",") || "-");
    if (printSql) console.log(await compileMigrations());
    if (!dryRun) {
      await runMigrations();
      console.log("migrations done");
    }
  } finally {
    await closeDatabase();
  }
} else {
  const kind = /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? "") ? "postgres" : "sqlite";
  const sql =
    adapter === "drizzle"
      ? drizzleMigrate(kind, { dryRun })
      : await (await import("./prisma/client.mjs")).prismaMigrate(kind, { dryRun });
  if (printSql) console.log(sql);
  console.log(dryRun ? `${adapter}: planned` : "migrations done");
}
