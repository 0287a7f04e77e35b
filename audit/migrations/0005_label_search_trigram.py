"""On PostgreSQL, a trigram index for the audit log's label search (icontains on three labels).

Django's ``icontains`` is ``UPPER(col::text) LIKE UPPER('%…%')``; a GIN index with
``gin_trgm_ops`` on exactly those expressions answers it without scanning the table. One
multi-column index serves the OR of the three labels (a BitmapOr over the same index).
Audit events are written at human pace, so the extra insert cost is small.

``pg_trgm`` is a trusted extension (PostgreSQL 13+): the database owner may create it. Where it
cannot be created, the search still works, by scanning.
"""

from django.db import migrations, transaction

CREATE = """
CREATE INDEX IF NOT EXISTS audit_labels_trgm ON audit_auditevent USING gin (
    (UPPER(target_label::text)) gin_trgm_ops,
    (UPPER(actor_label::text)) gin_trgm_ops,
    (UPPER(tenant_label::text)) gin_trgm_ops
)
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", params=None)
    except Exception:  # noqa: BLE001 - no privilege or no contrib package: search scans
        return
    schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS audit_labels_trgm", params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_keep_events_when_rows_go")]
    operations = [migrations.RunPython(forwards, backwards)]
