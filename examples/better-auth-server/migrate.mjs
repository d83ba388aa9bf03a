// Better-Auth's own migration (getMigrations; the 1.7 `auth` CLI needs Node >= 22.12).
// Usage: node migrate.mjs [--sql] [--dry-run]   --sql prints the DDL, --dry-run skips running it.
import { getMigrations } from "better-auth/db/migration";
import { auth, closeDatabase } from "./auth.mjs";

try {
  const { toBeCreated, toBeAdded, runMigrations, compileMigrations } = await getMigrations(
    auth.options,
  );
  console.log("toBeCreated:", toBeCreated.map((t) => t.table).join(",") || "-");
  console.log("toBeAdded:", toBeAdded.map((t) => t.table).join(",") || "-");
  if (process.argv.includes("--sql")) console.log(await compileMigrations());
  if (!process.argv.includes("--dry-run")) {
    await runMigrations();
    console.log("migrations done");
  }
} finally {
  await closeDatabase();
}
