// The SQLite schema, as an ordered list of migrations; the database's user_version records how many have run.

/** Append only: a migration that has shipped is never edited, a change is a new entry. */
export const migrations: readonly string[] = [
  `CREATE TABLE tokens (
     id                   TEXT PRIMARY KEY,
     name                 TEXT NOT NULL,
     description          TEXT NOT NULL,
     expires_at           INTEGER,            -- Unix ms; NULL: never expires
     created_at           INTEGER NOT NULL,   -- Unix ms
     dataset_capabilities TEXT NOT NULL,      -- JSON, canonical form
     org_capabilities     TEXT NOT NULL,      -- JSON, canonical form
     secret_digest        BLOB NOT NULL UNIQUE -- SHA-256 of the secret; the secret itself is never stored
   ) STRICT`,
  // Lifecycle: view capabilities, the replacement a regenerate made, and listing in creation order.
  `ALTER TABLE tokens ADD COLUMN view_capabilities TEXT NOT NULL DEFAULT '{}';
   ALTER TABLE tokens ADD COLUMN replaced_by TEXT;
   CREATE INDEX tokens_by_creation ON tokens (created_at, id);`,
  // Facts about the store itself, such as whether it has been bootstrapped. A store that already
  // has tokens was bootstrapped by an earlier version.
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
   INSERT INTO meta (key, value) SELECT 'bootstrapped', 'before migration 3' WHERE EXISTS (SELECT 1 FROM tokens);`,
  // Listing in commit order: seq is assigned as each row commits and, with AUTOINCREMENT, never
  // reused, so a page cursor can never be overtaken by a row committed after it.
  `CREATE TABLE tokens_by_seq (
     seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
     id                   TEXT NOT NULL UNIQUE,
     name                 TEXT NOT NULL,
     description          TEXT NOT NULL,
     expires_at           INTEGER,
     created_at           INTEGER NOT NULL,
     dataset_capabilities TEXT NOT NULL,
     org_capabilities     TEXT NOT NULL,
     view_capabilities    TEXT NOT NULL DEFAULT '{}',
     secret_digest        BLOB NOT NULL UNIQUE,
     replaced_by          TEXT
   ) STRICT;
   INSERT INTO tokens_by_seq (id, name, description, expires_at, created_at, dataset_capabilities,
                              org_capabilities, view_capabilities, secret_digest, replaced_by)
     SELECT id, name, description, expires_at, created_at, dataset_capabilities,
            org_capabilities, view_capabilities, secret_digest, replaced_by
     FROM tokens ORDER BY created_at, id;
   DROP TABLE tokens;
   ALTER TABLE tokens_by_seq RENAME TO tokens;`,
  // The background purge finds long-expired tokens by expiry; tokens that never expire, most of
  // them, stay out of the index.
  `CREATE INDEX tokens_by_expiry ON tokens (expires_at) WHERE expires_at IS NOT NULL;`,
  // When each token was last used (apiLastUsed), Unix ms; NULL: never used.
  `ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;`,
  // The audit trail. An auth.refused event carries refusal_key ("<address> <minute>"), so the
  // refusals of one address in one minute merge into one row.
  `CREATE TABLE audit_events (
     seq             INTEGER PRIMARY KEY AUTOINCREMENT,
     id              TEXT NOT NULL UNIQUE,  -- UUIDv7
     time            INTEGER NOT NULL,      -- Unix ms
     type            TEXT NOT NULL,
     actor_token_id  TEXT,
     actor_name      TEXT,
     target_token_id TEXT,
     target_name     TEXT,
     client_address  TEXT,
     request_id      TEXT,
     details         TEXT NOT NULL,         -- JSON
     refusal_key     TEXT UNIQUE
   ) STRICT;
   CREATE INDEX audit_events_by_time ON audit_events (time);
   CREATE INDEX audit_events_by_actor ON audit_events (actor_token_id) WHERE actor_token_id IS NOT NULL;
   CREATE INDEX audit_events_by_target ON audit_events (target_token_id) WHERE target_token_id IS NOT NULL;`,
  // Where and when a token works (issue 25): its networks, normalised CIDRs as JSON ('[]': anywhere),
  // and its start, Unix ms (NULL: from its creation).
  `ALTER TABLE tokens ADD COLUMN allowed_cidrs TEXT NOT NULL DEFAULT '[]';
   ALTER TABLE tokens ADD COLUMN not_before INTEGER;`,
  // Webhooks (issue 25 §4): the outbox, one row per audit event and webhook URL, written in the
  // transaction of the change; and the expiry notices sent, once per token and kind.
  `CREATE TABLE webhook_outbox (
     seq             INTEGER PRIMARY KEY AUTOINCREMENT,
     webhook_id      TEXT NOT NULL,         -- the webhook-id header of every attempt
     event_id        TEXT NOT NULL,
     type            TEXT NOT NULL,
     url             TEXT NOT NULL,
     body            TEXT NOT NULL,         -- JSON, exactly as sent and signed
     created_at      INTEGER NOT NULL,      -- Unix ms
     status          TEXT NOT NULL DEFAULT 'pending',
     attempts        INTEGER NOT NULL DEFAULT 0,
     last_attempt_at INTEGER,
     next_attempt_at INTEGER,               -- NULL: none due
     lease_owner     TEXT,
     lease_until     INTEGER,
     last_status     INTEGER,
     last_error      TEXT,
     UNIQUE (webhook_id, url)
   ) STRICT;
   CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE status = 'pending';
   CREATE INDEX webhook_outbox_by_creation ON webhook_outbox (created_at);
   CREATE TABLE webhook_expiry_notices (
     token_id   TEXT NOT NULL,
     notice     TEXT NOT NULL,
     noticed_at INTEGER NOT NULL,           -- Unix ms
     PRIMARY KEY (token_id, notice)
   ) STRICT;`,
  // Webhook URLs whose receiver answered 410 Gone (issue 25 §4): nothing more is sent to them until
  // an operator deletes the row.
  `CREATE TABLE webhook_gone_urls (
     url     TEXT PRIMARY KEY,
     gone_at INTEGER NOT NULL               -- Unix ms
   ) STRICT;`,
];
