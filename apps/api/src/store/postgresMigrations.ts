// The PostgreSQL schema, as an ordered list of migrations; the schema_version row records how many have run.

/** Append only: a migration that has shipped is never edited, a change is a new entry. */
export const postgresMigrations: readonly string[] = [
  `CREATE TABLE tokens (
     -- The listing order: handed out from list_position as each inserting transaction commits (see
     -- postgres.ts), so a row committed later never gets a lower position than one already listed.
     position             bigint NOT NULL UNIQUE,
     id                   text PRIMARY KEY,
     name                 text NOT NULL,
     description          text NOT NULL,
     expires_at           timestamptz,          -- NULL: never expires
     created_at           timestamptz NOT NULL,
     -- json, not jsonb: kept as written (canonical form, key order included), as the API answers it.
     dataset_capabilities json NOT NULL,
     org_capabilities     json NOT NULL,
     view_capabilities    json NOT NULL,
     secret_digest        bytea NOT NULL UNIQUE, -- SHA-256 of the secret; the secret itself is never stored
     replaced_by          text,
     last_used_at         timestamptz           -- apiLastUsed, to within a minute; NULL: never used
   );
   -- The background purge finds long-expired tokens by expiry; tokens that never expire stay out of the index.
   CREATE INDEX tokens_by_expiry ON tokens (expires_at) WHERE expires_at IS NOT NULL;
   -- One row: the last list position handed out. Its row lock orders inserting transactions.
   CREATE TABLE list_position (
     only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
     last     bigint NOT NULL
   );
   INSERT INTO list_position (last) VALUES (0);
   -- Facts about the store itself, such as whether it has been bootstrapped.
   CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
   -- Rate-limit counters shared by every replica (rate-limiter-flexible's RateLimiterPostgres layout),
   -- created here so that replicas starting together never race to create them.
   CREATE TABLE rate_limit_per_token (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint);
   CREATE TABLE rate_limit_failed_auth (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint);
   -- The audit trail, in the columns every SQL store shares (auditRows.ts). An auth.refused event
   -- carries refusal_key ("<address> <minute>"), so the refusals of one address in one minute merge.
   CREATE TABLE audit_events (
     seq             bigserial PRIMARY KEY,
     id              text NOT NULL UNIQUE,  -- UUIDv7
     time            bigint NOT NULL,       -- Unix ms
     type            text NOT NULL,
     actor_token_id  text,
     actor_name      text,
     target_token_id text,
     target_name     text,
     client_address  text,
     request_id      text,
     details         text NOT NULL,         -- JSON, as written
     refusal_key     text UNIQUE
   );
   CREATE INDEX audit_events_by_time ON audit_events (time);
   CREATE INDEX audit_events_by_actor ON audit_events (actor_token_id) WHERE actor_token_id IS NOT NULL;
   CREATE INDEX audit_events_by_target ON audit_events (target_token_id) WHERE target_token_id IS NOT NULL;`,
  // Leak reports (POST /tokens/leaked) per client address, counted across replicas like the others.
  `CREATE TABLE rate_limit_leak_reports (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint);`,
  // List positions from an identity instead of the one-row counter, whose lock made every insert of
  // every replica wait in one line until the previous one's commit. The walk's promise (every token
  // that existed when it began, exactly once) does not need commit order. The sequence continues
  // after the highest position handed out, so every existing token keeps its place.
  `ALTER TABLE tokens ALTER COLUMN position ADD GENERATED ALWAYS AS IDENTITY;
   SELECT setval(pg_get_serial_sequence('tokens', 'position'), GREATEST(counter.last, rows.highest, 1),
                 GREATEST(counter.last, rows.highest) > 0)
     FROM list_position AS counter, (SELECT COALESCE(max(position), 0) AS highest FROM tokens) AS rows;
   DROP TABLE list_position;`,
  // Numbers for revocation events (NOTIFY revocations), the same on every replica: see revocations.ts.
  `CREATE SEQUENCE revocation_events;`,
  // Where and when a token works (issue 25): its networks, normalised CIDRs ('[]': anywhere), and its
  // start (NULL: from its creation).
  `ALTER TABLE tokens ADD COLUMN allowed_cidrs json NOT NULL DEFAULT '[]', ADD COLUMN not_before timestamptz;`,
  // Webhooks (issue 25 §4): the outbox, one row per audit event and webhook URL, written in the
  // transaction of the change; and the expiry notices sent, once per token and kind. Times in Unix
  // ms, as the audit trail's.
  `CREATE TABLE webhook_outbox (
     seq             bigserial PRIMARY KEY,
     webhook_id      text NOT NULL,         -- the webhook-id header of every attempt
     event_id        text NOT NULL,
     type            text NOT NULL,
     url             text NOT NULL,
     body            text NOT NULL,         -- JSON, exactly as sent and signed
     created_at      bigint NOT NULL,
     status          text NOT NULL DEFAULT 'pending',
     attempts        integer NOT NULL DEFAULT 0,
     last_attempt_at bigint,
     next_attempt_at bigint,                -- NULL: none due
     lease_owner     text,
     lease_until     bigint,
     last_status     integer,
     last_error      text,
     UNIQUE (webhook_id, url)
   );
   CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE status = 'pending';
   CREATE INDEX webhook_outbox_by_creation ON webhook_outbox (created_at);
   CREATE TABLE webhook_expiry_notices (
     token_id   text NOT NULL,
     notice     text NOT NULL,
     noticed_at bigint NOT NULL,
     PRIMARY KEY (token_id, notice)
   );`,
  // Webhook URLs whose receiver answered 410 Gone (issue 25 §4): nothing more is sent to them until
  // an operator deletes the row. Unix ms, as the outbox's times.
  `CREATE TABLE webhook_gone_urls (url text PRIMARY KEY, gone_at bigint NOT NULL);`,
];
