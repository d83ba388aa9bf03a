// BA_ADAPTER: which Better-Auth database adapter auth.mjs hands to betterAuth(), and how
// migrate.mjs creates that adapter's tables. Kept apart from auth.mjs so switches added there
// (naming, extra fields, …) and the adapter choice do not collide.
//
//   kysely  (default) the pg Pool / SQLite handle itself: Better-Auth's built-in Kysely adapter,
//           tables made by Better-Auth's own getMigrations (migrate.mjs).
//   drizzle drizzleAdapter (better-auth/adapters/drizzle) over drizzle-orm (node-postgres or
//           better-sqlite3) with the schema Better-Auth's CLI generates for Drizzle
//           (drizzle/schema.<dialect>.<id>.ts, or BA_DRIZZLE_SCHEMA), tables made by drizzle-kit
//           (`drizzle-kit generate` + `drizzle-kit migrate`).
//   prisma  prismaAdapter (better-auth/adapters/prisma) over a generated Prisma Client with a
//           driver adapter; see prisma/README.md for what runs and what cannot here.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ADAPTERS = ["kysely", "drizzle", "prisma"];

/** BA_ADAPTER, checked. */
export function adapterName(env = process.env) {
  const name = env.BA_ADAPTER || "kysely";
  if (!ADAPTERS.includes(name)) throw new Error(`unknown BA_ADAPTER ${name}: use ${ADAPTERS.join(", ")}`);
  return name;
}

/** BA_ID as the schema files name it: text (Better-Auth's default random ids), uuid or serial. */
export function idKind(env = process.env) {
  return env.BA_ID || "text";
}

const drizzleDialect = (kind) => (kind === "postgres" ? "postgresql" : "sqlite");

/** The Better-Auth CLI's Drizzle schema for this database and id type (a .ts file). */
export function drizzleSchemaPath(kind, env = process.env) {
  return env.BA_DRIZZLE_SCHEMA || path.join(HERE, "drizzle", `schema.${drizzleDialect(kind)}.${idKind(env)}.ts`);
}

/**
 * The schema module, importable by Node 20: the CLI writes plain JavaScript into a .ts file
 * (no type annotations), so a copy named .mjs next to node_modules loads as it is.
 */
async function importDrizzleSchema(file) {
  const source = readFileSync(file, "utf8");
  const build = path.join(HERE, ".build");
  mkdirSync(build, { recursive: true });
  const target = path.join(build, `${path.basename(file, ".ts")}-${source.length}.mjs`);
  copyFileSync(file, target);
  return import(pathToFileURL(target).href);
}

/** The `database` option for betterAuth(): the raw handle (Kysely) or an adapter instance. */
export async function adapterDatabase(opened, env = process.env) {
  const name = adapterName(env);
  if (name === "kysely") return opened.database;
  if (name === "drizzle") {
    const schema = await importDrizzleSchema(drizzleSchemaPath(opened.kind, env));
    const { drizzleAdapter } = await import("better-auth/adapters/drizzle");
    const { drizzle } = await import(
      opened.kind === "postgres" ? "drizzle-orm/node-postgres" : "drizzle-orm/better-sqlite3"
    );
    const db = drizzle({ client: opened.database, schema });
    return drizzleAdapter(db, { provider: opened.kind === "postgres" ? "pg" : "sqlite", schema });
  }
  const { prismaDatabase } = await import("./prisma/client.mjs");
  return prismaDatabase(opened, env);
}

function run(command, args, options) {
  const result = spawnSync(command, args, { encoding: "utf8", ...options });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/**
 * drizzle-kit on the CLI's schema: `generate` writes the SQL migration (printed with --sql),
 * `migrate` applies it to DATABASE_URL. Returns the SQL.
 */
export function drizzleMigrate(kind, { dryRun = false } = {}, env = process.env) {
  const out = mkdtempSync(path.join(tmpdir(), "drizzle-kit-"));
  // drizzle-kit loads the .ts schema with esbuild-register: keep it beside node_modules
  const schema = path.join(HERE, ".build", `drizzle-kit-${path.basename(out)}.ts`);
  mkdirSync(path.dirname(schema), { recursive: true });
  copyFileSync(drizzleSchemaPath(kind, env), schema);
  const kit = path.join(HERE, "node_modules", ".bin", "drizzle-kit");
  const childEnv = { ...env, DRIZZLE_DIALECT: drizzleDialect(kind), DRIZZLE_SCHEMA: schema, DRIZZLE_OUT: out };
  const config = path.join(HERE, "drizzle.config.ts");
  try {
    run(kit, ["generate", "--config", config], { cwd: HERE, env: childEnv });
    const sql = readdirSync(out)
      .filter((name) => name.endsWith(".sql"))
      .map((name) => readFileSync(path.join(out, name), "utf8"))
      .join("\n");
    if (!dryRun) run(kit, ["migrate", "--config", config], { cwd: HERE, env: childEnv });
    return sql;
  } finally {
    rmSync(out, { recursive: true, force: true });
    rmSync(schema, { force: true });
  }
}
