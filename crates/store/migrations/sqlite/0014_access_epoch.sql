-- A counter that moves whenever anything an access decision rests on changes: a person's consents, emergency
-- accesses or account, a user (roles, organisation, switched off), an API token (revoked, expiry). Each process
-- keeps what it last loaded for a decision in memory, tagged with the counter it read first; one read of the counter
-- tells it whether that is still current. Triggers move it in the same transaction as the change, whichever
-- process, node or command-line tool makes it.
CREATE TABLE access_epoch (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO access_epoch (id, n) VALUES (1, 0);

CREATE TRIGGER access_epoch_consents_insert AFTER INSERT ON consents
BEGIN UPDATE access_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER access_epoch_consents_update AFTER UPDATE ON consents
BEGIN UPDATE access_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER access_epoch_consents_delete AFTER DELETE ON consents
BEGIN UPDATE access_epoch SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER access_epoch_break_glass_insert AFTER INSERT ON break_glass
BEGIN UPDATE access_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER access_epoch_break_glass_update AFTER UPDATE ON break_glass
BEGIN UPDATE access_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER access_epoch_break_glass_delete AFTER DELETE ON break_glass
BEGIN UPDATE access_epoch SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER access_epoch_people_update AFTER UPDATE OF id, user_id ON people
BEGIN UPDATE access_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER access_epoch_people_delete AFTER DELETE ON people
BEGIN UPDATE access_epoch SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER access_epoch_users_update AFTER UPDATE ON users
BEGIN UPDATE access_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER access_epoch_users_delete AFTER DELETE ON users
BEGIN UPDATE access_epoch SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER access_epoch_api_tokens_update AFTER UPDATE OF user_id, token_hash, expires_at, revoked_at ON api_tokens
BEGIN UPDATE access_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER access_epoch_api_tokens_delete AFTER DELETE ON api_tokens
BEGIN UPDATE access_epoch SET n = n + 1 WHERE id = 1; END;
