-- The database side of the services, as deploy/postgres/docker-init.sh does for Docker Compose:
-- for each service a LOGIN role of its name (password from its Secret) owning a schema of the
-- same name; PUBLIC stripped of its rights. Idempotent: the Job may run again (new passwords).
-- Run by psql (>= 15, for \getenv) as the superuser; the passwords reach it as environment
-- variables and are quoted by psql (:'var'), never spliced into SQL by a shell. The services
-- then apply their own migrations (tables) at start-up, one replica at a time.
\set ON_ERROR_STOP on
\getenv pw_grading GRADING_DB_PASSWORD
\getenv pw_rectification RECTIFICATION_DB_PASSWORD
\getenv pw_notification NOTIFICATION_DB_PASSWORD
\getenv pw_reporting REPORTING_DB_PASSWORD
\getenv pw_intake INTAKE_DB_PASSWORD

SELECT 'CREATE ROLE grading' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'grading') \gexec
SELECT 'CREATE ROLE rectification' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rectification') \gexec
SELECT 'CREATE ROLE notification' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'notification') \gexec
SELECT 'CREATE ROLE reporting' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reporting') \gexec
SELECT 'CREATE ROLE intake' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'intake') \gexec
ALTER ROLE grading WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD :'pw_grading';
ALTER ROLE rectification WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD :'pw_rectification';
ALTER ROLE notification WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD :'pw_notification';
ALTER ROLE reporting WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD :'pw_reporting';
ALTER ROLE intake WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD :'pw_intake';

-- The database itself is CloudNativePG's (bootstrap.initdb of deploy/k8s/cluster/postgres.yaml).
\connect grassroots
REVOKE ALL ON DATABASE grassroots FROM PUBLIC;
GRANT CONNECT ON DATABASE grassroots TO grading, rectification, notification, reporting, intake;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA IF NOT EXISTS grading AUTHORIZATION grading;
CREATE SCHEMA IF NOT EXISTS rectification AUTHORIZATION rectification;
CREATE SCHEMA IF NOT EXISTS notification AUTHORIZATION notification;
CREATE SCHEMA IF NOT EXISTS reporting AUTHORIZATION reporting;
CREATE SCHEMA IF NOT EXISTS intake AUTHORIZATION intake;
ALTER SCHEMA grading OWNER TO grading;
ALTER SCHEMA rectification OWNER TO rectification;
ALTER SCHEMA notification OWNER TO notification;
ALTER SCHEMA reporting OWNER TO reporting;
ALTER SCHEMA intake OWNER TO intake;
REVOKE ALL ON SCHEMA grading, rectification, notification, reporting, intake FROM PUBLIC;
