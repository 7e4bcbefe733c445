-- A counter that moves whenever anything an access decision rests on changes: a person's consents, emergency
-- accesses or account, a user (roles, organisation, switched off), an API token (revoked, expiry). Each process
-- keeps what it last loaded for a decision in memory, tagged with the counter it read first; one read of the counter
-- tells it whether that is still current. Triggers move it in the same transaction as the change, whichever
-- process, node or command-line tool makes it (once per statement, so bulk writes touch it once).
CREATE TABLE access_epoch (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO access_epoch (id, n) VALUES (1, 0);

CREATE FUNCTION access_epoch_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE access_epoch SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER access_epoch_consents AFTER INSERT OR UPDATE OR DELETE ON consents
FOR EACH STATEMENT EXECUTE FUNCTION access_epoch_move();
CREATE TRIGGER access_epoch_break_glass AFTER INSERT OR UPDATE OR DELETE ON break_glass
FOR EACH STATEMENT EXECUTE FUNCTION access_epoch_move();
CREATE TRIGGER access_epoch_people AFTER UPDATE OF id, user_id OR DELETE ON people
FOR EACH STATEMENT EXECUTE FUNCTION access_epoch_move();
CREATE TRIGGER access_epoch_users AFTER UPDATE OR DELETE ON users
FOR EACH STATEMENT EXECUTE FUNCTION access_epoch_move();
CREATE TRIGGER access_epoch_api_tokens AFTER UPDATE OF user_id, token_hash, expires_at, revoked_at OR DELETE ON api_tokens
FOR EACH STATEMENT EXECUTE FUNCTION access_epoch_move();
