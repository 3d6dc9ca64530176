-- 004_answers.sql - stored answers, cancelled nonces, idempotent enrolment.
--
-- A nonce row now says what became of its request (docs/api.md, "Lost
-- answers"): kind 0 = used by a request whose answer is not kept (sync, the
-- reads), 1 = used, and answer holds the exact 2xx body that was sent, 2 =
-- cancelled: never used, and burnt by POST /v1/outcome so that a request
-- carrying it can never take effect.  Rows of kind 1 and 2 are kept far
-- longer than plain ones (OFFPAYD_ANSWER_KEEP).
ALTER TABLE nonces ADD COLUMN kind INTEGER NOT NULL DEFAULT 0 CHECK (kind IN (0, 1, 2));
ALTER TABLE nonces ADD COLUMN answer BLOB;

-- The wallet a used token enrolled, so that enrolling again with the same
-- token and the same key answers the same certificate.  NULL for tokens
-- used before this migration (they stay spent, as before).
ALTER TABLE tokens ADD COLUMN wallet_id BLOB;
