// BA_ADAPTER=prisma (see README.md here): Better-Auth's prismaAdapter over a real Prisma Client 7
// (prisma-client-js, the TypeScript query compiler, driver adapters @prisma/adapter-pg and
// @prisma/adapter-better-sqlite3), generated from the Prisma schema Better-Auth's CLI writes
// (schema.<dialect>.<id>.prisma). Prisma's migration tools need its native schema engine, which
// Prisma downloads from its own host at run time (unreachable here), so the tables come from DDL
// derived from that schema with Prisma's documented type mapping (prismaDdl below).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const dialectOf = (kind) => (kind === "postgres" ? "postgresql" : "sqlite");

export function prismaSchemaPath(kind, env = process.env) {
  return env.BA_PRISMA_SCHEMA || path.join(HERE, `schema.${dialectOf(kind)}.${env.BA_ID || "text"}.prisma`);
}

/**
 * The CLI's schema as Prisma 7 takes it: Prisma 7 refuses `url` in the datasource block (the
 * connection comes from the driver adapter), and the client goes to a folder of its own.
 */
function prisma7Schema(source, output) {
  return source
    .replace(/^\s*url\s*=.*\n/m, "")
    .replace(/provider = "prisma-client-js"/, `provider = "prisma-client-js"\n  output   = "${output}"`);
}

function ensureInstalled() {
  if (existsSync(path.join(HERE, "node_modules", "@prisma", "client"))) return;
  throw new Error(`BA_ADAPTER=prisma needs Prisma: run \`npm ci\` in ${HERE}`);
}

/** `prisma generate` into .build/<name>/ (once per schema content); the client module path. */
function generateClient(schemaFile) {
  ensureInstalled();
  const source = readFileSync(schemaFile, "utf8");
  const name = `${path.basename(schemaFile, ".prisma")}-${source.length}`;
  const build = path.join(HERE, ".build", name);
  const client = path.join(build, "client", "index.js");
  if (existsSync(client)) return client;
  mkdirSync(build, { recursive: true });
  writeFileSync(path.join(build, "schema.prisma"), prisma7Schema(source, "./client"));
  // generate reads no database and needs no schema engine, but the CLI looks for that binary
  // (and downloads it when missing) before any command: point it at an existing file.
  const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: "1" };
  const cli = path.join(HERE, "node_modules", "prisma", "build", "index.js");
  const run = spawnSync(process.execPath, [cli, "generate", "--schema", path.join(build, "schema.prisma")], {
    cwd: build,
    env,
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`prisma generate failed:\n${run.stdout}\n${run.stderr}`);
  return client;
}

/** prismaAdapter(new PrismaClient({ adapter }), { provider }) for betterAuth(). */
export async function prismaDatabase(opened, env = process.env) {
  const client = generateClient(prismaSchemaPath(opened.kind, env));
  const require = createRequire(client);
  const { PrismaClient } = require(client);
  let driver;
  if (opened.kind === "postgres") {
    const { PrismaPg } = await import(pathToFileURL(require.resolve("@prisma/adapter-pg")).href);
    driver = new PrismaPg({ connectionString: env.DATABASE_URL });
  } else {
    const { PrismaBetterSqlite3 } = await import(
      pathToFileURL(require.resolve("@prisma/adapter-better-sqlite3")).href
    );
    driver = new PrismaBetterSqlite3({ url: opened.database.name });
  }
  const prisma = new PrismaClient({ adapter: driver });
  const { prismaAdapter } = await import("better-auth/adapters/prisma");
  return prismaAdapter(prisma, { provider: dialectOf(opened.kind) });
}

// -- DDL from the Prisma schema, by Prisma's documented type mapping ---------------------------

const PG_TYPES = { String: "TEXT", Boolean: "BOOLEAN", Int: "INTEGER", DateTime: "TIMESTAMP(3)" };
const SQLITE_TYPES = { String: "TEXT", Boolean: "BOOLEAN", Int: "INTEGER", DateTime: "DATETIME" };
const q = (name) => `"${name}"`;

/** The models of a Better-Auth CLI Prisma schema: table, scalar fields, uniques, indexes, relations. */
function parseModels(source) {
  const models = {};
  for (const [, model, body] of source.matchAll(/model (\w+) \{\n([\s\S]*?)\n\}/g)) {
    const entry = { table: model, fields: [], uniques: [], indexes: [], relations: [] };
    for (const line of body.split("\n").map((l) => l.trim()).filter(Boolean)) {
      let m;
      if ((m = /^@@map\("(\w+)"\)/.exec(line))) entry.table = m[1];
      else if ((m = /^@@unique\(\[(\w+)\]\)/.exec(line))) entry.uniques.push(m[1]);
      else if ((m = /^@@index\(\[(\w+)\]\)/.exec(line))) entry.indexes.push(m[1]);
      else if ((m = /^(\w+)\s+(\w+)(\[\]|\?)?\s*(.*)$/.exec(line))) {
        const [, name, type, modifier, attrs] = m;
        const relation = /@relation\(fields: \[(\w+)\], references: \[(\w+)\], onDelete: (\w+)\)/.exec(attrs);
        if (relation) entry.relations.push({ field: relation[1], model: type, references: relation[2], onDelete: relation[3] });
        else if (modifier !== "[]" && PG_TYPES[type]) {
          entry.fields.push({ name, type, optional: modifier === "?", attrs });
        }
      }
    }
    models[model] = entry;
  }
  return models;
}

function columnSql(field, dialect) {
  const { name, type, optional, attrs } = field;
  const uuid = attrs.includes("@db.Uuid");
  const serial = attrs.includes("@default(autoincrement())");
  let sql;
  if (dialect === "postgresql") sql = serial ? "SERIAL" : uuid ? "UUID" : PG_TYPES[type];
  else sql = SQLITE_TYPES[type];
  sql = `${q(name)} ${sql}${optional ? "" : " NOT NULL"}`;
  if (dialect === "sqlite" && attrs.includes("@id")) sql += serial ? " PRIMARY KEY AUTOINCREMENT" : " PRIMARY KEY";
  const generated = /@default\(dbgenerated\("([^"]+)"\)\)/.exec(attrs);
  const literal = /@default\((true|false|\d+)\)/.exec(attrs);
  if (generated) sql += ` DEFAULT ${generated[1]}`;
  else if (attrs.includes("@default(now())")) sql += " DEFAULT CURRENT_TIMESTAMP";
  else if (literal) sql += ` DEFAULT ${literal[1]}`;
  return sql;
}

/** CREATE TABLE / INDEX statements, laid out as `prisma migrate diff --from-empty --script` does. */
export function prismaDdl(source, dialect) {
  const models = parseModels(source);
  const out = [];
  const onDelete = (rule) => rule.replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase();
  for (const model of Object.values(models)) {
    const lines = model.fields.map((f) => `    ${columnSql(f, dialect)}`);
    const id = model.fields.find((f) => f.attrs.includes("@id"));
    if (dialect === "postgresql") lines.push(`    CONSTRAINT ${q(`${model.table}_pkey`)} PRIMARY KEY (${q(id.name)})`);
    if (dialect === "sqlite") {
      for (const rel of model.relations) {
        const target = models[rel.model].table;
        lines.push(
          `    CONSTRAINT ${q(`${model.table}_${rel.field}_fkey`)} FOREIGN KEY (${q(rel.field)}) REFERENCES ${q(target)} (${q(rel.references)}) ON DELETE ${onDelete(rel.onDelete)} ON UPDATE CASCADE`,
        );
      }
    }
    out.push(`-- CreateTable\nCREATE TABLE ${q(model.table)} (\n${lines.join(",\n")}\n);\n`);
  }
  for (const model of Object.values(models)) {
    for (const column of model.indexes) {
      out.push(`-- CreateIndex\nCREATE INDEX ${q(`${model.table}_${column}_idx`)} ON ${q(model.table)}(${q(column)});\n`);
    }
    for (const column of model.uniques) {
      out.push(`-- CreateIndex\nCREATE UNIQUE INDEX ${q(`${model.table}_${column}_key`)} ON ${q(model.table)}(${q(column)});\n`);
    }
  }
  if (dialect === "postgresql") {
    for (const model of Object.values(models)) {
      for (const rel of model.relations) {
        const target = models[rel.model].table;
        out.push(
          `-- AddForeignKey\nALTER TABLE ${q(model.table)} ADD CONSTRAINT ${q(`${model.table}_${rel.field}_fkey`)} FOREIGN KEY (${q(rel.field)}) REFERENCES ${q(target)}(${q(rel.references)}) ON DELETE ${onDelete(rel.onDelete)} ON UPDATE CASCADE;\n`,
        );
      }
    }
  }
  return out.join("\n");
}

/** Apply prismaDdl to DATABASE_URL (pg / better-sqlite3 of the main rig); the SQL. */
export async function prismaMigrate(kind, { dryRun = false } = {}, env = process.env) {
  const dialect = dialectOf(kind);
  const sql = prismaDdl(readFileSync(prismaSchemaPath(kind, env), "utf8"), dialect);
  if (dryRun) return sql;
  const main = createRequire(path.join(HERE, "..", "package.json"));
  if (kind === "postgres") {
    const pg = main("pg");
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  } else {
    const Database = main("better-sqlite3");
    const file = env.DATABASE_URL.replace(/^(?:sqlite:\/\/|file:)/, "").split("?")[0];
    const db = new Database(file);
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  }
  return sql;
}
