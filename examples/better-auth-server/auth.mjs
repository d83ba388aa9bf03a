// The Better-Auth 1.7.25 instance shared by migrate.mjs and server.mjs, configured from the
// environment (see README.md). Throwaway test rig: loopback only, rate limit and telemetry off.
import { betterAuth } from "better-auth";
import { admin, bearer, jwt, twoFactor, username } from "better-auth/plugins";
import { adapterDatabase, adapterName } from "./adapters.mjs";

const env = process.env;

/** DATABASE_URL: postgres(ql)://… → pg Pool; sqlite:///abs/path, sqlite://rel/path or file:path → better-sqlite3. */
async function openDatabase(url) {
  if (!url) throw new Error("DATABASE_URL is required (postgres://… or sqlite:///path)");
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { default: pg } = await import("pg");
    const pool = new pg.Pool({ connectionString: url });
    return { database: pool, kind: "postgres", close: () => pool.end() };
  }
  const match = /^(?:sqlite:\/\/|file:)(.*)$/.exec(url);
  if (match) {
    const path = match[1].split("?")[0];
    if (!path) throw new Error(`no file path in DATABASE_URL ${url}`);
    const { default: Database } = await import("better-sqlite3");
    const db = new Database(path);
    return { database: db, kind: "sqlite", close: async () => db.close() };
  }
  throw new Error(`unsupported DATABASE_URL ${url}: use postgres://… or sqlite:///path`);
}

const snake = (name) => name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
const snakeFields = (names) => Object.fromEntries(names.map((n) => [n, snake(n)]));

// Every field Better-Auth 1.7.25 core, admin() and jwt() declare, by model ("id" is never renamed).
const FIELDS = {
  user: ["name", "email", "emailVerified", "image", "createdAt", "updatedAt"],
  session: ["expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId"],
  account: [
    "accountId", "providerId", "userId", "accessToken", "refreshToken", "idToken",
    "accessTokenExpiresAt", "refreshTokenExpiresAt", "scope", "password", "createdAt", "updatedAt",
  ],
  verification: ["identifier", "value", "expiresAt", "createdAt", "updatedAt"],
  jwks: ["publicKey", "privateKey", "createdAt", "expiresAt", "alg", "crv"],
  adminUser: ["role", "banned", "banReason", "banExpires"],
  adminSession: ["impersonatedBy"],
};

// --8<-- [start:naming]
/**
 * BA_NAMING=snake_plural: plural tables and snake_case columns. The built-in Kysely setup
 * (a pg Pool or SQLite handle as `database`) has no `usePlural` switch, and the migrator
 * refuses an adapter instance, so plural names are spelled out with `modelName`,
 * exactly as `usePlural` would make them ("jwks" → "jwkss").
 */
function naming() {
  const choice = env.BA_NAMING ?? "";
  if (choice === "" || choice === "default") return { core: {}, admin: undefined, jwks: undefined };
  if (choice !== "snake_plural") throw new Error(`unknown BA_NAMING ${choice}`);
  const model = (name) => ({ modelName: `${name}s`, fields: snakeFields(FIELDS[name]) });
  return {
    core: {
      user: model("user"),
      session: model("session"),
      account: model("account"),
      verification: model("verification"),
    },
    admin: {
      user: { fields: snakeFields(FIELDS.adminUser) },
      session: { fields: snakeFields(FIELDS.adminSession) },
    },
    jwks: model("jwks"),
  };
}
// --8<-- [end:naming]

function jwtOptions(names) {
  const options = {};
  const jwks = {};
  const alg = env.BA_JWT_ALG;
  if (alg) {
    const configs = {
      EdDSA: { alg: "EdDSA", crv: "Ed25519" },
      ES256: { alg: "ES256" },
      ES512: { alg: "ES512" },
      RS256: { alg: "RS256" },
      PS256: { alg: "PS256" },
    };
    if (!configs[alg]) throw new Error(`unsupported BA_JWT_ALG ${alg}`);
    jwks.keyPairConfig = configs[alg];
  }
  if (env.BA_ROTATION_SECONDS) jwks.rotationInterval = Number(env.BA_ROTATION_SECONDS);
  if (env.BA_GRACE_SECONDS) jwks.gracePeriod = Number(env.BA_GRACE_SECONDS);
  if (Object.keys(jwks).length) options.jwks = jwks;
  // --8<-- [start:sid]
  if (env.BA_SID_CLAIM === "1") {
    options.jwt = { definePayload: ({ user, session }) => ({ ...user, sid: session.id }) };
  }
  // --8<-- [end:sid]
  if (names.jwks) options.schema = { jwks: names.jwks };
  return options;
}

// --- BA_EXTRA_FIELDS: the user's own columns ------------------------------------------------
// --8<-- [start:extra-fields]
/**
 * BA_EXTRA_FIELDS=1: user.additionalFields (plan, locale, tags, trialEndsAt, isVIP) and the username()
 * and twoFactor() plugins, which add username, displayUsername and twoFactorEnabled to "user".
 * Under BA_NAMING=snake_plural their columns are snake_case too (fieldName / plugin schema).
 */
function extraFields() {
  if (env.BA_EXTRA_FIELDS !== "1") return { user: {}, plugins: [] };
  const snakeCase = env.BA_NAMING === "snake_plural";
  const named = (name) => (snakeCase ? { fieldName: snake(name) } : {});
  const renamed = (...names) =>
    snakeCase ? { schema: { user: { fields: snakeFields(names) } } } : {};
  return {
    user: {
      additionalFields: {
        plan: { type: "string", required: false, defaultValue: "free", ...named("plan") },
        locale: { type: "string", required: false, ...named("locale") },
        tags: { type: "string[]", required: false, ...named("tags") },
        trialEndsAt: { type: "date", required: false, ...named("trialEndsAt") },
        isVIP: { type: "boolean", required: false, defaultValue: false, ...named("isVIP") },
      },
    },
    plugins: [
      username(renamed("username", "displayUsername")),
      // test rig only: /two-factor/enable sets twoFactorEnabled without a TOTP round trip
      twoFactor({ ...renamed("twoFactorEnabled"), skipVerificationOnEnable: true }),
    ],
  };
}
// --8<-- [end:extra-fields]
// --- end BA_EXTRA_FIELDS ---------------------------------------------------------------------

// --- BA_API_KEY: @better-auth/api-key ------------------------------------------------------
// --8<-- [start:api-key]
/**
 * BA_API_KEY=1: the API-key plugin (npm @better-auth/api-key 1.7.5, not in better-auth/plugins)
 * with its defaults, plus enableSessionForAPIKeys so a request with only `x-api-key` runs the
 * plugin's own verification (get-session answers the key's owner): what the interop tests
 * compare fastapi_better_auth.api_keys with.
 */
async function apiKeyPlugins() {
  if (env.BA_API_KEY !== "1") return [];
  const { apiKey } = await import("@better-auth/api-key");
  return [apiKey({ enableSessionForAPIKeys: true })];
}
// --8<-- [end:api-key]
// --- end BA_API_KEY ------------------------------------------------------------------------

// --- BA_ORGANIZATION: the organization plugin ------------------------------------------------
// --8<-- [start:organization]
/**
 * BA_ORGANIZATION=1: organization({ teams, ac, roles }) with Better-Auth's default roles plus a
 * custom "developer" role over an app resource "project": the same roles the interop tests
 * declare in Python (fastapi_better_auth.organizations.access) and compare answers with.
 * BA_ORGANIZATION=dynamic adds dynamicAccessControl (roles stored in "organizationRole").
 */
async function organizationPlugins() {
  const choice = env.BA_ORGANIZATION ?? "";
  if (choice === "") return [];
  if (choice !== "1" && choice !== "dynamic") throw new Error(`unknown BA_ORGANIZATION ${choice}`);
  const { organization } = await import("better-auth/plugins");
  const { createAccessControl } = await import("better-auth/plugins/access");
  const { defaultStatements, ownerAc, adminAc, memberAc } = await import(
    "better-auth/plugins/organization/access"
  );
  const ac = createAccessControl({ ...defaultStatements, project: ["create", "delete"] });
  const roles = {
    owner: ownerAc,
    admin: adminAc,
    member: memberAc,
    developer: ac.newRole({ project: ["create"] }),
  };
  const dynamicAccessControl = { enabled: choice === "dynamic" };
  return [organization({ teams: { enabled: true }, ac, roles, dynamicAccessControl })];
}
// --8<-- [end:organization]
// --- end BA_ORGANIZATION -------------------------------------------------------------------

// --- BA_ADMIN_ROLES: the admin plugin's custom roles ----------------------------------------
// --8<-- [start:admin-roles]
/**
 * BA_ADMIN_ROLES=custom: admin({ ac, roles }) with Better-Auth's default admin and user roles
 * plus "support" (may list users) and "helpdesk" (may read and update users and see and revoke
 * their sessions): the roles the interop tests declare in Python (AdminAccess) and compare with.
 */
async function adminRoles() {
  const choice = env.BA_ADMIN_ROLES ?? "";
  if (choice === "") return {};
  if (choice !== "custom") throw new Error(`unknown BA_ADMIN_ROLES ${choice}`);
  const { createAccessControl } = await import("better-auth/plugins/access");
  const { defaultStatements, adminAc, userAc } = await import("better-auth/plugins/admin/access");
  const ac = createAccessControl(defaultStatements);
  const roles = {
    admin: adminAc,
    user: userAc,
    support: ac.newRole({ user: ["list"] }),
    helpdesk: ac.newRole({ user: ["get", "update"], session: ["list", "revoke"] }),
  };
  return { ac, roles };
}
// --8<-- [end:admin-roles]
// --- end BA_ADMIN_ROLES --------------------------------------------------------------------

const opened = await openDatabase(env.DATABASE_URL);
export const databaseKind = opened.kind;
/** Close the pool / SQLite handle so a one-shot script can exit. */
export const closeDatabase = opened.close;

const names = naming();
const advanced = { database: {} };
if (env.BA_ID === "uuid" || env.BA_ID === "serial") advanced.database.generateId = env.BA_ID;
else if (env.BA_ID) throw new Error(`unsupported BA_ID ${env.BA_ID}`);

// --8<-- [start:adapter]
// BA_ADAPTER (adapters.mjs): kysely (the handle itself), drizzle or prisma (an adapter instance)
export const adapter = adapterName();
if (adapter !== "kysely" && (env.BA_NAMING ?? "default") !== "default") {
  throw new Error(`BA_NAMING=${env.BA_NAMING} is only wired for BA_ADAPTER=kysely`);
}
const database = await adapterDatabase(opened);
// --8<-- [end:adapter]
if (env.BA_COOKIE_PREFIX) advanced.cookiePrefix = env.BA_COOKIE_PREFIX;
const extra = extraFields(); // BA_EXTRA_FIELDS: additionalFields join the (renamed) user model
if (extra.plugins.length) names.core = { ...names.core, user: { ...names.core.user, ...extra.user } };

// --- BA_REDIS_URL: sessions in secondaryStorage (Redis) -------------------------------------
// --8<-- [start:redis]
/**
 * BA_REDIS_URL=redis://…: Better-Auth's `secondaryStorage` over that Redis (node-redis), so
 * sessions live in Redis; BA_STORE_SESSION_IN_DB=1 adds `session.storeSessionInDatabase`.
 * The client connects on first use, so `migrate.mjs` exits without touching Redis.
 */
async function redisStorage() {
  const url = env.BA_REDIS_URL;
  if (!url) return { options: {}, session: {} };
  const { createClient } = await import("redis");
  const client = createClient({ url });
  client.on("error", (error) => console.error("redis:", error.message));
  let connecting;
  const redis = () => (connecting ??= client.connect().then(() => client));
  return {
    options: {
      secondaryStorage: {
        get: async (key) => (await redis()).get(key),
        set: async (key, value, ttl) =>
          ttl ? (await redis()).set(key, value, { EX: ttl }) : (await redis()).set(key, value),
        delete: async (key) => {
          await (await redis()).del(key);
        },
        getAndDelete: async (key) => (await redis()).getDel(key),
        increment: async (key, ttl) => {
          const value = await (await redis()).incr(key);
          if (value === 1) await (await redis()).expire(key, ttl);
          return value;
        },
      },
    },
    session: env.BA_STORE_SESSION_IN_DB === "1" ? { storeSessionInDatabase: true } : {},
  };
}
// --8<-- [end:redis]
const redis = await redisStorage();
// --- end BA_REDIS_URL ------------------------------------------------------------------------

// --8<-- [start:better-auth]
export const auth = betterAuth({
  database,
  baseURL: env.BETTER_AUTH_URL ?? "http://127.0.0.1:3005",
  secret: env.BETTER_AUTH_SECRET ?? "test-secret-0123456789abcdef0123456789abcdef",
  trustedOrigins: (env.BETTER_AUTH_TRUSTED_ORIGINS ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean),
  emailAndPassword: { enabled: true },
  session: {
    // BA_COOKIE_CACHE=1: the signed session_data cookie cache (compact strategy, 300 s)
    cookieCache: { enabled: env.BA_COOKIE_CACHE === "1", maxAge: 300 },
    ...redis.session, // BA_STORE_SESSION_IN_DB
  },
  ...redis.options, // BA_REDIS_URL: secondaryStorage
  ...names.core,
  advanced,
  plugins: [jwt(jwtOptions(names)), admin({ ...(names.admin ? { schema: names.admin } : {}), ...(await adminRoles()) }), bearer(), ...extra.plugins, ...(await apiKeyPlugins()), ...(await organizationPlugins())],
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
});
// --8<-- [end:better-auth]
