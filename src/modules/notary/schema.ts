// The notary's tables, in the node's encrypted database. They are off-chain service state
// (what is waiting, who holds which key); what the notary produces is anchored on chain.
// Exactly-once lives here: the signatures primary key allows one signature per record, and
// triggers refuse any signature whose writer does not hold a live lease on the key for the
// record's batch, so no code path (however buggy or late) can write around the lease.
import type { Migration } from '../../store/migrations.js';

/** SQLite's clock in unix milliseconds; every lease time is read from this one clock. */
export const NOW_MS = `CAST(unixepoch('subsec') * 1000 AS INTEGER)`;

/** The same clock on PostgreSQL: the server's, shared by workers on every machine. */
export const PG_NOW_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

export const notaryMigrations: Migration[] = [
  {
    version: 1,
    description: 'notary: keys, batches, records, signatures, leases and the lease log',
    sql: `
      CREATE TABLE notary_keys (
        id          INTEGER PRIMARY KEY,
        kid         TEXT NOT NULL UNIQUE,      -- hex of BLAKE3(SPKI DER)[0..8]
        type        TEXT NOT NULL CHECK (type IN ('rsa2048', 'rsa3072', 'ed25519')),
        alg         TEXT NOT NULL CHECK (alg IN ('rsa-pss-sha256', 'ed25519')),
        public_pem  TEXT NOT NULL,
        private_der BLOB NOT NULL,             -- PKCS#8 DER, inside the SQLCipher file
        created_at  INTEGER NOT NULL,
        retired_at  INTEGER                    -- NULL: active; else no new leases
      );
      CREATE TABLE notary_batches (
        id            INTEGER PRIMARY KEY,
        first_record  INTEGER NOT NULL,        -- a batch's records are one id range
        record_count  INTEGER NOT NULL CHECK (record_count > 0),
        source        TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        signed_at     INTEGER,
        root          TEXT,                    -- Merkle root of the signature leaves
        anchor_tx     TEXT,
        anchor_height INTEGER
      );
      CREATE INDEX notary_batches_unsigned ON notary_batches(id) WHERE signed_at IS NULL;
      CREATE INDEX notary_batches_unanchored ON notary_batches(id) WHERE signed_at IS NOT NULL AND anchor_tx IS NULL;
      CREATE TABLE notary_records (
        id       INTEGER PRIMARY KEY,
        batch_id INTEGER NOT NULL REFERENCES notary_batches(id),
        record   TEXT NOT NULL                 -- canonical JSON
      );
      CREATE TABLE notary_lease_log (
        token       INTEGER PRIMARY KEY AUTOINCREMENT, -- the fencing token, never reused
        key_id      INTEGER NOT NULL REFERENCES notary_keys(id),
        batch_id    INTEGER NOT NULL REFERENCES notary_batches(id),
        holder      TEXT NOT NULL,
        acquired_at INTEGER NOT NULL,
        ended_at    INTEGER,                   -- released, or the expiry it was reclaimed at
        end_reason  TEXT CHECK (end_reason IN ('released', 'completed', 'expired'))
      );
      CREATE INDEX notary_lease_log_key ON notary_lease_log(key_id, token);
      CREATE TABLE notary_leases (
        key_id     INTEGER PRIMARY KEY REFERENCES notary_keys(id),        -- one holder per key
        batch_id   INTEGER NOT NULL UNIQUE REFERENCES notary_batches(id), -- one lease per batch
        token      INTEGER NOT NULL UNIQUE REFERENCES notary_lease_log(token),
        holder     TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE TABLE notary_signatures (
        record_id   INTEGER PRIMARY KEY REFERENCES notary_records(id),   -- one signature per record
        key_id      INTEGER NOT NULL REFERENCES notary_keys(id),
        lease_token INTEGER NOT NULL REFERENCES notary_lease_log(token),
        sig         BLOB NOT NULL,
        signed_at   INTEGER NOT NULL
      );
      CREATE INDEX notary_signatures_token ON notary_signatures(lease_token);

      CREATE TRIGGER notary_signature_needs_lease BEFORE INSERT ON notary_signatures
      WHEN NOT EXISTS (
        SELECT 1 FROM notary_leases l JOIN notary_records r ON r.batch_id = l.batch_id
        WHERE r.id = NEW.record_id AND l.key_id = NEW.key_id AND l.token = NEW.lease_token
          AND l.expires_at > ${NOW_MS})
      BEGIN SELECT RAISE(ABORT, 'notary: lease_lost'); END;
      CREATE TRIGGER notary_signature_immutable BEFORE UPDATE ON notary_signatures
      BEGIN SELECT RAISE(ABORT, 'notary: signatures are immutable'); END;
      CREATE TRIGGER notary_signature_undeletable BEFORE DELETE ON notary_signatures
      BEGIN SELECT RAISE(ABORT, 'notary: signatures are immutable'); END;
      CREATE TRIGGER notary_lease_needs_active_key BEFORE INSERT ON notary_leases
      WHEN (SELECT retired_at FROM notary_keys WHERE id = NEW.key_id) IS NOT NULL
      BEGIN SELECT RAISE(ABORT, 'notary: key_retired'); END;
      CREATE TRIGGER notary_batch_signed_complete BEFORE UPDATE OF signed_at ON notary_batches
      WHEN NEW.signed_at IS NOT NULL AND (
        SELECT count(*) FROM notary_signatures
        WHERE record_id BETWEEN NEW.first_record AND NEW.first_record + NEW.record_count - 1) != NEW.record_count
      BEGIN SELECT RAISE(ABORT, 'notary: batch_incomplete'); END;
    `,
    postgres: `
      CREATE TABLE notary_keys (
        id          BIGSERIAL PRIMARY KEY,
        kid         TEXT NOT NULL UNIQUE,
        type        TEXT NOT NULL CHECK (type IN ('rsa2048', 'rsa3072', 'ed25519')),
        alg         TEXT NOT NULL CHECK (alg IN ('rsa-pss-sha256', 'ed25519')),
        public_pem  TEXT NOT NULL,
        private_der BYTEA NOT NULL,            -- PKCS#8 DER sealed with the KEK (AES-256-GCM, see kek.ts)
        created_at  BIGINT NOT NULL,
        retired_at  BIGINT
      );
      CREATE TABLE notary_batches (
        id            BIGSERIAL PRIMARY KEY,
        first_record  BIGINT NOT NULL,
        record_count  INTEGER NOT NULL CHECK (record_count > 0),
        source        TEXT NOT NULL,
        created_at    BIGINT NOT NULL,
        signed_at     BIGINT,
        root          TEXT,
        anchor_tx     TEXT,
        anchor_height BIGINT
      );
      CREATE INDEX notary_batches_unsigned ON notary_batches(id) WHERE signed_at IS NULL;
      CREATE INDEX notary_batches_unanchored ON notary_batches(id) WHERE signed_at IS NOT NULL AND anchor_tx IS NULL;
      CREATE TABLE notary_records (
        id       BIGINT PRIMARY KEY,           -- given by submit under its lock: a batch is one id range
        batch_id BIGINT NOT NULL REFERENCES notary_batches(id),
        record   TEXT NOT NULL
      );
      CREATE TABLE notary_lease_log (
        token       BIGSERIAL PRIMARY KEY,     -- the fencing token, never reused
        key_id      BIGINT NOT NULL REFERENCES notary_keys(id),
        batch_id    BIGINT NOT NULL REFERENCES notary_batches(id),
        holder      TEXT NOT NULL,
        acquired_at BIGINT NOT NULL,
        ended_at    BIGINT,
        end_reason  TEXT CHECK (end_reason IN ('released', 'completed', 'expired'))
      );
      CREATE INDEX notary_lease_log_key ON notary_lease_log(key_id, token);
      CREATE TABLE notary_leases (
        key_id     BIGINT PRIMARY KEY REFERENCES notary_keys(id),
        batch_id   BIGINT NOT NULL UNIQUE REFERENCES notary_batches(id),
        token      BIGINT NOT NULL UNIQUE REFERENCES notary_lease_log(token),
        holder     TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE TABLE notary_signatures (
        record_id   BIGINT PRIMARY KEY REFERENCES notary_records(id),
        key_id      BIGINT NOT NULL REFERENCES notary_keys(id),
        lease_token BIGINT NOT NULL REFERENCES notary_lease_log(token),
        sig         BYTEA NOT NULL,
        signed_at   BIGINT NOT NULL
      );
      CREATE INDEX notary_signatures_token ON notary_signatures(lease_token);

      CREATE FUNCTION notary_now_ms() RETURNS BIGINT LANGUAGE sql VOLATILE
        AS $$ SELECT ${PG_NOW_MS} $$;
      -- One check per INSERT statement (a whole chunk), not per row: every new signature
      -- must be covered by a live lease naming its key, token and the record's batch.
      CREATE FUNCTION notary_signatures_need_lease() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM new_rows n JOIN notary_records r ON r.id = n.record_id
                   WHERE NOT EXISTS (SELECT 1 FROM notary_leases l
                     WHERE l.batch_id = r.batch_id AND l.key_id = n.key_id AND l.token = n.lease_token
                       AND l.expires_at > notary_now_ms())) THEN
          RAISE EXCEPTION 'notary: lease_lost';
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER notary_signature_needs_lease AFTER INSERT ON notary_signatures
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notary_signatures_need_lease();
      CREATE FUNCTION notary_signatures_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'notary: signatures are immutable'; END $$;
      CREATE TRIGGER notary_signature_immutable BEFORE UPDATE OR DELETE ON notary_signatures
        FOR EACH ROW EXECUTE FUNCTION notary_signatures_immutable();
      CREATE FUNCTION notary_lease_needs_active_key() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF (SELECT retired_at FROM notary_keys WHERE id = NEW.key_id) IS NOT NULL THEN RAISE EXCEPTION 'notary: key_retired'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER notary_lease_needs_active_key BEFORE INSERT ON notary_leases
        FOR EACH ROW EXECUTE FUNCTION notary_lease_needs_active_key();
      CREATE FUNCTION notary_batch_signed_complete() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.signed_at IS NOT NULL AND OLD.signed_at IS NULL AND (
          SELECT count(*) FROM notary_signatures
          WHERE record_id BETWEEN NEW.first_record AND NEW.first_record + NEW.record_count - 1) != NEW.record_count THEN
          RAISE EXCEPTION 'notary: batch_incomplete';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER notary_batch_signed_complete BEFORE UPDATE OF signed_at ON notary_batches
        FOR EACH ROW EXECUTE FUNCTION notary_batch_signed_complete();
    `,
  },
  {
    version: 2,
    description: 'notary: content hash of each batch, so a resubmitted identical batch is recognised instead of signed again',
    sql: `
      ALTER TABLE notary_batches ADD COLUMN content_hash BLOB;   -- see batchContentHash; NULL for batches stored before
      CREATE UNIQUE INDEX notary_batches_content ON notary_batches(content_hash) WHERE content_hash IS NOT NULL;
    `,
    postgres: `
      ALTER TABLE notary_batches ADD COLUMN content_hash BYTEA;
      CREATE UNIQUE INDEX notary_batches_content ON notary_batches(content_hash) WHERE content_hash IS NOT NULL;
    `,
  },
];
