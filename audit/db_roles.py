"""PostgreSQL roles that make the audit log append-only for the portal itself.

Run after every ``migrate`` (a ``post_migrate`` receiver), as the role that runs migrations (the
owner; it needs the right to create roles). Idempotent, so each deploy re-applies the grants to
tables that new migrations added.

- ``DATABASE_APP_USER`` (web, workers, beat): read and write the portal's tables; of
  ``audit_auditevent`` only SELECT and INSERT. Not the owner, so it cannot TRUNCATE, ALTER the
  table, disable the trigger or replace the functions.
- ``AUDIT_RETENTION_ROLE`` (no login): owns ``audit_delete_archived(batch)``, a SECURITY DEFINER
  function, the only way the app role can delete events: only those a ``RetentionBatch`` names,
  and only when its cut-off is at least ``AUDIT_RETENTION_DAYS`` (as of this migrate; an hour of
  slack for clocks) old. The
  append-only trigger lets a DELETE through only as this role.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connections
from psycopg import sql

logger = logging.getLogger(__name__)

DELETE_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_delete_archived(batch_id bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    batch audit_retentionbatch%ROWTYPE;
    removed bigint;
BEGIN
    SELECT * INTO batch FROM audit_retentionbatch WHERE id = batch_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no retention batch %', batch_id USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- An hour of slack for clocks: the cut-off is computed on the app server.
    IF batch.cutoff > clock_timestamp() - make_interval(days => {days}) + interval '1 hour' THEN
        RAISE EXCEPTION 'retention batch % is younger than the retention ({days} days)', batch_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM audit_auditevent
        WHERE id BETWEEN batch.first_id AND batch.last_id AND at < batch.cutoff;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END;
$$;
"""

CREATE_ROLE = """
DO $$ BEGIN
    CREATE ROLE {role} {options};
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
"""


def install_database_roles(*, using: str = "default", **kwargs) -> None:
    """Create the roles if missing, (re)install the delete function, grant the app role."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    app_role = settings.DATABASE_APP_USER
    retention = sql.Identifier(settings.AUDIT_RETENTION_ROLE)
    days = int(settings.AUDIT_RETENTION_DAYS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
        statements = [
            sql.SQL(CREATE_ROLE).format(role=retention, options=sql.SQL("NOLOGIN")),
            sql.SQL("GRANT SELECT, DELETE ON audit_auditevent TO {}").format(retention),
            sql.SQL("GRANT SELECT ON audit_retentionbatch TO {}").format(retention),
            sql.SQL(DELETE_FUNCTION.replace("{days}", str(days))),
            sql.SQL("ALTER FUNCTION audit_delete_archived(bigint) OWNER TO {}").format(retention),
            sql.SQL("REVOKE ALL ON FUNCTION audit_delete_archived(bigint) FROM PUBLIC"),
            sql.SQL("GRANT EXECUTE ON FUNCTION audit_delete_archived(bigint) TO {}").format(
                sql.Identifier(owner)
            ),
        ]
        if app_role and app_role != owner:
            statements += _app_role_statements(sql.Identifier(app_role), connection)
        elif app_role:
            logger.warning(
                "DATABASE_APP_USER is the owner (%s): the portal could truncate the audit log; "
                "run web and workers as a separate role",
                owner,
            )
        for statement in statements:
            cursor.execute(statement.as_string(connection.connection))


def _app_role_statements(app: sql.Identifier, connection) -> list[sql.Composable]:
    password = settings.DATABASE_APP_PASSWORD
    statements: list[sql.Composable] = [
        sql.SQL(CREATE_ROLE).format(role=app, options=sql.SQL("LOGIN")),
    ]
    if password:
        statements.append(
            sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(app, sql.Literal(password))
        )
    database = sql.Identifier(connection.settings_dict["NAME"])
    return [
        *statements,
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, app),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(app),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            app
        ),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(app),
        sql.SQL(
            "REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_auditevent FROM {}"
        ).format(app),
        sql.SQL("GRANT EXECUTE ON FUNCTION audit_delete_archived(bigint) TO {}").format(app),
    ]
