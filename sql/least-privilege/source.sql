-- godwit least-privilege setup on the SOURCE database (PostgreSQL 10+; SET privilege on parameters needs 15+).
-- Run as a superuser, connected to the database being migrated:
--
--   psql -d appdb -v migration_user=godwit_source -v table_owner=app_owner -v schemas=public,sales -f source.sql
--   psql -d appdb -c '\password godwit_source'
--
-- What the migration user gets, and why:
--   LOGIN, REPLICATION       open the logical replication stream and create godwit's slot (REPLICATION is an
--                            attribute: membership in a role that has it does not count);
--   CONNECT, CREATE on the database   create the publication and godwit's bookkeeping schema (godwit_metadata:
--                            the cutover end marker, and the apply channels of the fall-back stream);
--   membership in the tables' owner   CREATE PUBLICATION ... FOR TABLE requires the owner's privileges on every
--                            published table (PostgreSQL has no finer privilege for it); it also covers reading
--                            the tables (snapshot, pg_dump) and writing them back during fall-back;
--   USAGE on the schemas, SELECT and UPDATE on their sequences   read sequence values at cutover to target, and
--                            move them forward (setval) at cutover to source;
--   SET on session_replication_role (15+)   apply fall-back changes without firing triggers and foreign-key
--                            actions a second time (on older servers godwit names what to disable instead).
-- It gets no superuser, no CREATEROLE, no CREATEDB, and nothing outside the listed schemas.
\set ON_ERROR_STOP on
SELECT set_config('godwit.migration_user', :'migration_user', false),
       set_config('godwit.table_owner', :'table_owner', false),
       set_config('godwit.schemas', :'schemas', false) \gset godwit_ignored_
DO $setup$
DECLARE
  migration_user text := current_setting('godwit.migration_user');
  table_owner text := current_setting('godwit.table_owner');
  schema_name text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = migration_user) THEN
    EXECUTE format('CREATE ROLE %I', migration_user);
  END IF;
  EXECUTE format('ALTER ROLE %I WITH LOGIN REPLICATION NOSUPERUSER NOCREATEROLE NOCREATEDB INHERIT', migration_user);
  EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO %I', current_database(), migration_user);
  EXECUTE format('GRANT %I TO %I', table_owner, migration_user);
  FOREACH schema_name IN ARRAY string_to_array(current_setting('godwit.schemas'), ',') LOOP
    schema_name := btrim(schema_name);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema_name, migration_user);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', schema_name, migration_user);
    EXECUTE format('GRANT SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I', schema_name, migration_user);
  END LOOP;
  IF current_setting('server_version_num')::int >= 150000 THEN
    EXECUTE format('GRANT SET ON PARAMETER session_replication_role TO %I', migration_user);
  ELSE
    RAISE NOTICE 'PostgreSQL before 15 cannot grant SET on session_replication_role: for fall-back, godwit will name the triggers and foreign keys to disable.';
  END IF;
  RAISE NOTICE 'source ready for godwit: role %, tables owned by %, schemas %; set its password with \password %',
    migration_user, table_owner, current_setting('godwit.schemas'), migration_user;
END
$setup$;
