-- The apikey table of @better-auth/api-key 1.7.5 as Better-Auth 1.7.25's migration created it on PostgreSQL 15
-- (pg_dump --schema-only, from /work/shared/better-auth/plugins/schema.sql; see that README).
CREATE TABLE public.apikey (
    id text NOT NULL,
    "configId" text NOT NULL,
    name text,
    start text,
    "referenceId" text NOT NULL,
    prefix text,
    key text NOT NULL,
    "refillInterval" integer,
    "refillAmount" integer,
    "lastRefillAt" timestamp with time zone,
    enabled boolean,
    "rateLimitEnabled" boolean,
    "rateLimitTimeWindow" integer,
    "rateLimitMax" integer,
    "requestCount" integer,
    remaining integer,
    "lastRequest" timestamp with time zone,
    "expiresAt" timestamp with time zone,
    "createdAt" timestamp with time zone NOT NULL,
    "updatedAt" timestamp with time zone NOT NULL,
    permissions text,
    metadata text
);
ALTER TABLE ONLY public.apikey
    ADD CONSTRAINT apikey_pkey PRIMARY KEY (id);
CREATE INDEX "apikey_configId_idx" ON public.apikey USING btree ("configId");
CREATE INDEX apikey_key_idx ON public.apikey USING btree (key);
CREATE INDEX "apikey_referenceId_idx" ON public.apikey USING btree ("referenceId");
