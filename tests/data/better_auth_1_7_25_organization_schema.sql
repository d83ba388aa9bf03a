-- The organization plugin's tables (organization({ teams: { enabled: true } })) as Better-Auth 1.7.25's own
-- migration created them on PostgreSQL 15 (pg_dump --schema-only), copied from
-- /work/shared/better-auth/plugins/schema.sql (see that README), plus, last, the two columns the same
-- migration added to the core "session" table (there: after "impersonatedBy", in this order).
-- Load after the core schema (section 1 of better_auth_1_7_25_schema.sql): foreign keys point to "user".
CREATE TABLE public.invitation (
    id text NOT NULL,
    "organizationId" text NOT NULL,
    email text NOT NULL,
    role text,
    "teamId" text,
    status text NOT NULL,
    "expiresAt" timestamp with time zone NOT NULL,
    "createdAt" timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    "inviterId" text NOT NULL
);
CREATE TABLE public.member (
    id text NOT NULL,
    "organizationId" text NOT NULL,
    "userId" text NOT NULL,
    role text NOT NULL,
    "createdAt" timestamp with time zone NOT NULL
);
CREATE TABLE public.organization (
    id text NOT NULL,
    name text NOT NULL,
    slug text NOT NULL,
    logo text,
    "createdAt" timestamp with time zone NOT NULL,
    metadata text
);
CREATE TABLE public.team (
    id text NOT NULL,
    name text NOT NULL,
    "memberCount" integer NOT NULL,
    "organizationId" text NOT NULL,
    "createdAt" timestamp with time zone NOT NULL,
    "updatedAt" timestamp with time zone
);
CREATE TABLE public."teamMember" (
    id text NOT NULL,
    "teamId" text NOT NULL,
    "userId" text NOT NULL,
    "membershipKey" text,
    "createdAt" timestamp with time zone
);
ALTER TABLE ONLY public.invitation
    ADD CONSTRAINT invitation_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.member
    ADD CONSTRAINT member_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.organization
    ADD CONSTRAINT organization_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.organization
    ADD CONSTRAINT organization_slug_key UNIQUE (slug);
ALTER TABLE ONLY public."teamMember"
    ADD CONSTRAINT "teamMember_membershipKey_key" UNIQUE ("membershipKey");
ALTER TABLE ONLY public."teamMember"
    ADD CONSTRAINT "teamMember_pkey" PRIMARY KEY (id);
ALTER TABLE ONLY public.team
    ADD CONSTRAINT team_pkey PRIMARY KEY (id);
CREATE INDEX invitation_email_idx ON public.invitation USING btree (email);
CREATE INDEX "invitation_organizationId_idx" ON public.invitation USING btree ("organizationId");
CREATE INDEX "member_organizationId_idx" ON public.member USING btree ("organizationId");
CREATE INDEX "member_userId_idx" ON public.member USING btree ("userId");
CREATE INDEX "teamMember_teamId_idx" ON public."teamMember" USING btree ("teamId");
CREATE INDEX "teamMember_userId_idx" ON public."teamMember" USING btree ("userId");
CREATE INDEX "team_organizationId_idx" ON public.team USING btree ("organizationId");
ALTER TABLE ONLY public.invitation
    ADD CONSTRAINT "invitation_inviterId_fkey" FOREIGN KEY ("inviterId") REFERENCES public."user"(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.invitation
    ADD CONSTRAINT "invitation_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES public.organization(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.member
    ADD CONSTRAINT "member_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES public.organization(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.member
    ADD CONSTRAINT "member_userId_fkey" FOREIGN KEY ("userId") REFERENCES public."user"(id) ON DELETE CASCADE;
ALTER TABLE ONLY public."teamMember"
    ADD CONSTRAINT "teamMember_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES public.team(id) ON DELETE CASCADE;
ALTER TABLE ONLY public."teamMember"
    ADD CONSTRAINT "teamMember_userId_fkey" FOREIGN KEY ("userId") REFERENCES public."user"(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.team
    ADD CONSTRAINT "team_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES public.organization(id) ON DELETE CASCADE;
ALTER TABLE public.session ADD COLUMN "activeOrganizationId" text;
ALTER TABLE public.session ADD COLUMN "activeTeamId" text;
