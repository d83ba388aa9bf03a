// drizzle-kit's configuration for adapters.mjs (BA_ADAPTER=drizzle), read from the environment:
// DRIZZLE_DIALECT (postgresql | sqlite), DRIZZLE_SCHEMA (the CLI's schema.ts), DRIZZLE_OUT (the
// migration folder) and DATABASE_URL (postgres://… or sqlite:///abs/path, as auth.mjs takes it).
const env = process.env;
const dialect = env.DRIZZLE_DIALECT === "sqlite" ? "sqlite" : "postgresql";
const url = env.DATABASE_URL ?? "";
const sqlitePath = url.replace(/^(?:sqlite:\/\/|file:)/, "").split("?")[0];

export default {
  dialect,
  schema: env.DRIZZLE_SCHEMA,
  out: env.DRIZZLE_OUT,
  dbCredentials: { url: dialect === "sqlite" ? sqlitePath : url },
};
