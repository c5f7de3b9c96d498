-- godwit least-privilege setup on the TARGET database (PostgreSQL 15+).
-- Run as a superuser, connected to the (empty) target database:
--
--   psql -d appdb -v migration_user=godwit_target -f target.sql
--   psql -d appdb -c '\password godwit_target'
--
-- What the migration user gets, and why:
--   LOGIN, REPLICATION       the fall-back stream: after cutover to target godwit creates a logical slot and
--                            streams the application's writes on the target back to the source;
--   CONNECT, CREATE on the database   `import schema` creates the application's schemas (the user then owns
--                            everything it creates, so it can load, index, publish and set sequences), and
--                            godwit_metadata, its bookkeeping (imported batches, apply channels, end markers);
--   CREATE on schema public  for applications that keep tables in public (owned by pg_database_owner on 15+);
--   SET on session_replication_role   load the snapshot and apply changes without firing triggers and
--                            foreign-key actions a second time.
-- It gets no superuser, no CREATEROLE, no CREATEDB. Extensions the schema needs that are not trusted must be
-- created beforehand by a superuser (import schema then skips them with --ignore-exist).
\set ON_ERROR_STOP on
SELECT set_config('godwit.migration_user', :'migration_user', false) \gset godwit_ignored_
DO $setup$
DECLARE
  migration_user text := current_setting('godwit.migration_user');
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = migration_user) THEN
    EXECUTE format('CREATE ROLE %I', migration_user);
  END IF;
  EXECUTE format('ALTER ROLE %I WITH LOGIN REPLICATION NOSUPERUSER NOCREATEROLE NOCREATEDB INHERIT', migration_user);
  EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO %I', current_database(), migration_user);
  EXECUTE format('GRANT USAGE, CREATE ON SCHEMA public TO %I', migration_user);
  EXECUTE format('GRANT SET ON PARAMETER session_replication_role TO %I', migration_user);
  RAISE NOTICE 'target ready for godwit: role %; set its password with \password %', migration_user, migration_user;
END
$setup$;
