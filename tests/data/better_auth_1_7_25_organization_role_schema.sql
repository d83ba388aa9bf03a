-- The organizationRole table of the organization plugin with dynamicAccessControl: { enabled: true }, as
-- Better-Auth 1.7.25's own migration (getMigrations, examples/better-auth-server/migrate.mjs with
-- BA_ORGANIZATION=dynamic) created it on PostgreSQL 15: pg_dump --schema-only -t '"organizationRole"'.
-- Load after the core schema and better_auth_1_7_25_organization_schema.sql (foreign key to organization).
CREATE TABLE public."organizationRole" (
    id text NOT NULL,
    "organizationId" text NOT NULL,
    role text NOT NULL,
    permission text NOT NULL,
    "createdAt" timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    "updatedAt" timestamp with time zone
);
ALTER TABLE ONLY public."organizationRole"
    ADD CONSTRAINT "organizationRole_pkey" PRIMARY KEY (id);
CREATE INDEX "organizationRole_organizationId_idx" ON public."organizationRole" USING btree ("organizationId");
CREATE INDEX "organizationRole_role_idx" ON public."organizationRole" USING btree (role);
ALTER TABLE ONLY public."organizationRole"
    ADD CONSTRAINT "organizationRole_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES public.organization(id) ON DELETE CASCADE;
