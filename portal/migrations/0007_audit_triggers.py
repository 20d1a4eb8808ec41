"""
The access log cannot be quietly edited: the database numbers and chains each entry inside
its INSERT, and refuses to change or remove what was written.

- `audit_entry` INSERT: the entry gets the next seq, the head's hash as `prev_hash`, and
  `hash = SHA-256(prev_hash || seq as 8 bytes || body || mac)` (`portal.audit.chain.link`).
  The head row is locked for it, so concurrent writers queue and the chain cannot fork; N
  entries are still one INSERT statement.
- `audit_entry` UPDATE is refused; DELETE too, except at or below the head's prune floor.
- `audit_checkpoint`: UPDATE and DELETE refused. `audit_head`: DELETE refused, and UPDATE
  except by an insert advancing it by one, or raising the prune floor no higher than the head.
- TRUNCATE (PostgreSQL) is refused on all three.

PostgreSQL computes the hash in PL/pgSQL (a BEFORE trigger sets NEW). SQLite's BEFORE
triggers cannot set NEW, so an AFTER trigger updates the new row, calling `portal_audit_link`,
which `portal.audit.connections` registers on every connection (the sqlite3 shell lacks it,
so the shell cannot append to the log).

A role that owns the tables can still disable or drop triggers; the hash chain and the signed
checkpoints are what then show that the log was changed (`manage.py audit_verify`).
"""

from django.db import migrations

REFUSED = "The access log is append-only:"

POSTGRESQL = [
    f"""
    CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{REFUSED} % on % is refused.', TG_OP, TG_TABLE_NAME;
    END $$
    """,
    """
    CREATE FUNCTION audit_entry_chain() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        head_seq bigint;
        head_hash bytea;
    BEGIN
        -- The head row is the one scarce thing: locked once per entry, so a concurrent writer
        -- waits here and then reads the head as the other one committed it.
        SELECT seq, hash INTO head_seq, head_hash FROM audit_head WHERE id = 1 FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO audit_head (id, seq, hash, prune_floor)
            VALUES (1, 0, decode(repeat('00', 32), 'hex'), 0) ON CONFLICT (id) DO NOTHING;
            SELECT seq, hash INTO head_seq, head_hash FROM audit_head WHERE id = 1 FOR UPDATE;
        END IF;
        NEW.seq := head_seq + 1;
        NEW.prev_hash := head_hash;
        NEW.hash := sha256(head_hash || int8send(NEW.seq) || convert_to(NEW.body, 'UTF8') || NEW.mac);
        UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
        RETURN NEW;
    END $$
    """,
    f"""
    CREATE FUNCTION audit_entry_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.seq <= (SELECT prune_floor FROM audit_head WHERE id = 1) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION '{REFUSED} entry % is above the prune floor; DELETE is refused.', OLD.seq;
    END $$
    """,
    f"""
    CREATE FUNCTION audit_head_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- An entry's insert advancing the head by one (from inside audit_entry_chain).
        IF NEW.id = OLD.id AND NEW.prune_floor = OLD.prune_floor AND NEW.seq = OLD.seq + 1
                AND pg_trigger_depth() > 1 THEN
            RETURN NEW;
        END IF;
        -- Pruning raising the floor, never past the head.
        IF NEW.id = OLD.id AND NEW.seq = OLD.seq AND NEW.hash = OLD.hash
                AND NEW.prune_floor BETWEEN OLD.prune_floor AND OLD.seq THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '{REFUSED} UPDATE on audit_head is refused.';
    END $$
    """,
    """
    CREATE TRIGGER audit_entry_chain BEFORE INSERT ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_chain()
    """,
    """
    CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_refuse()
    """,
    """
    CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_delete()
    """,
    """
    CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit_refuse()
    """,
    """
    CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_refuse()
    """,
    """
    CREATE TRIGGER audit_head_update BEFORE UPDATE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_update()
    """,
    *(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()"
        for table in ("audit_entry", "audit_head", "audit_checkpoint")
    ),
]

POSTGRESQL_REVERSE = [
    *(
        f"DROP TRIGGER IF EXISTS {name} ON {table}"
        for table, name in [
            ("audit_entry", "audit_entry_chain"),
            ("audit_entry", "audit_entry_no_update"),
            ("audit_entry", "audit_entry_no_delete"),
            ("audit_checkpoint", "audit_checkpoint_append_only"),
            ("audit_head", "audit_head_no_delete"),
            ("audit_head", "audit_head_update"),
            ("audit_entry", "audit_entry_no_truncate"),
            ("audit_head", "audit_head_no_truncate"),
            ("audit_checkpoint", "audit_checkpoint_no_truncate"),
        ]
    ),
    "DROP FUNCTION IF EXISTS audit_entry_chain()",
    "DROP FUNCTION IF EXISTS audit_entry_delete()",
    "DROP FUNCTION IF EXISTS audit_head_update()",
    "DROP FUNCTION IF EXISTS audit_refuse()",
]

# SQLite: the chain, then the refusals, by trigger name (tests drop and recreate them by name).
SQLITE_CHAIN = {
    # The app never supplies these; the trigger below does.
    "audit_entry_fresh": f"""
    CREATE TRIGGER audit_entry_fresh BEFORE INSERT ON audit_entry
    WHEN NEW.seq IS NOT NULL OR NEW.prev_hash IS NOT NULL OR NEW.hash IS NOT NULL
    BEGIN SELECT RAISE(ABORT, '{REFUSED} seq and hashes are set by the database.'); END
    """,
    # SQLite has one writer at a time, so the head needs no lock of its own.
    "audit_entry_chain": """
    CREATE TRIGGER audit_entry_chain AFTER INSERT ON audit_entry FOR EACH ROW BEGIN
        INSERT OR IGNORE INTO audit_head (id, seq, hash, prune_floor)
        VALUES (1, 0, zeroblob(32), 0);
        UPDATE audit_entry SET
            seq = (SELECT seq + 1 FROM audit_head WHERE id = 1),
            prev_hash = (SELECT hash FROM audit_head WHERE id = 1),
            hash = portal_audit_link(
                (SELECT hash FROM audit_head WHERE id = 1),
                (SELECT seq + 1 FROM audit_head WHERE id = 1),
                NEW.body,
                NEW.mac
            )
        WHERE id = NEW.id;
        UPDATE audit_head
        SET seq = seq + 1, hash = (SELECT hash FROM audit_entry WHERE id = NEW.id)
        WHERE id = 1;
    END
    """,
}
SQLITE_REFUSALS = {
    # A row still without seq is one the chain trigger is filling in, inside its INSERT.
    "audit_entry_no_update": f"""
    CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
    WHEN OLD.seq IS NOT NULL
    BEGIN SELECT RAISE(ABORT, '{REFUSED} UPDATE on audit_entry is refused.'); END
    """,
    "audit_entry_no_delete": f"""
    CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
    WHEN OLD.seq IS NULL
        OR OLD.seq > COALESCE((SELECT prune_floor FROM audit_head WHERE id = 1), 0)
    BEGIN
        SELECT RAISE(ABORT, '{REFUSED} an entry above the prune floor; DELETE is refused.');
    END
    """,
    "audit_checkpoint_no_update": f"""
    CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
    BEGIN SELECT RAISE(ABORT, '{REFUSED} UPDATE on audit_checkpoint is refused.'); END
    """,
    "audit_checkpoint_no_delete": f"""
    CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
    BEGIN SELECT RAISE(ABORT, '{REFUSED} DELETE on audit_checkpoint is refused.'); END
    """,
    "audit_head_no_delete": f"""
    CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    BEGIN SELECT RAISE(ABORT, '{REFUSED} DELETE on audit_head is refused.'); END
    """,
    # Allowed: advancing by one to the entry just chained, or raising the prune floor no
    # higher than the head. COALESCE: a NULL comparison counts as a refusal, not a pass.
    "audit_head_update": f"""
    CREATE TRIGGER audit_head_update BEFORE UPDATE ON audit_head
    WHEN NOT COALESCE(
        (NEW.id = OLD.id AND NEW.prune_floor = OLD.prune_floor AND NEW.seq = OLD.seq + 1
            AND NEW.hash = (SELECT hash FROM audit_entry WHERE seq = NEW.seq))
        OR (NEW.id = OLD.id AND NEW.seq = OLD.seq AND NEW.hash = OLD.hash
            AND NEW.prune_floor >= OLD.prune_floor AND NEW.prune_floor <= OLD.seq),
        0
    )
    BEGIN SELECT RAISE(ABORT, '{REFUSED} UPDATE on audit_head is refused.'); END
    """,
}


def add_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = POSTGRESQL
    elif vendor == "sqlite":
        statements = [*SQLITE_CHAIN.values(), *SQLITE_REFUSALS.values()]
    else:
        raise NotImplementedError(f"The access log's triggers are written for PostgreSQL and SQLite, not {vendor}.")
    for statement in statements:
        schema_editor.execute(statement, params=None)  # no placeholders: % is PL/pgSQL's


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        statements = POSTGRESQL_REVERSE
    else:
        statements = [f"DROP TRIGGER IF EXISTS {name}" for name in [*SQLITE_CHAIN, *SQLITE_REFUSALS]]
    for statement in statements:
        schema_editor.execute(statement, params=None)  # no placeholders: % is PL/pgSQL's


class Migration(migrations.Migration):
    dependencies = [("portal", "0006_audit")]

    operations = [migrations.RunPython(add_triggers, drop_triggers, elidable=False)]
