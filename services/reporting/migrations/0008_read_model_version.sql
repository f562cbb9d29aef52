-- One number that moves whenever a transaction changes what the summary and the branch list
-- are computed from (campaigns, counters, cards, branches, county_counts): the API keeps its
-- per-campaign answers (the summary, the branch list's totals) while the number stays the same,
-- so a cache is never stale, whichever replica wrote. The number moves once per transaction,
-- at commit (a deferred trigger): the row is locked last and only for the commit itself, so
-- writers never wait on it while holding other rows (no deadlock), and a batch of thousands of
-- rows costs one update.

CREATE TABLE read_model_version (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    version   bigint NOT NULL
);
INSERT INTO read_model_version (version) VALUES (1);

CREATE FUNCTION read_model_changed() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    -- once per transaction: the flag is local to it
    IF current_setting('reporting.read_model_changed', true) IS DISTINCT FROM 'yes' THEN
        PERFORM set_config('reporting.read_model_changed', 'yes', true);
        UPDATE read_model_version SET version = version + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER read_model_changed AFTER INSERT OR UPDATE OR DELETE ON campaigns
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION read_model_changed();
CREATE CONSTRAINT TRIGGER read_model_changed AFTER INSERT OR UPDATE OR DELETE ON counters
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION read_model_changed();
CREATE CONSTRAINT TRIGGER read_model_changed AFTER INSERT OR UPDATE OR DELETE ON cards
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION read_model_changed();
CREATE CONSTRAINT TRIGGER read_model_changed AFTER INSERT OR UPDATE OR DELETE ON branches
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION read_model_changed();
CREATE CONSTRAINT TRIGGER read_model_changed AFTER INSERT OR UPDATE OR DELETE ON county_counts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION read_model_changed();
-- TRUNCATE (a rebuild) changes everything.
CREATE FUNCTION read_model_truncated() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE read_model_version SET version = version + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER read_model_truncated AFTER TRUNCATE ON campaigns
    FOR EACH STATEMENT EXECUTE FUNCTION read_model_truncated();
CREATE TRIGGER read_model_truncated AFTER TRUNCATE ON counters
    FOR EACH STATEMENT EXECUTE FUNCTION read_model_truncated();
CREATE TRIGGER read_model_truncated AFTER TRUNCATE ON cards
    FOR EACH STATEMENT EXECUTE FUNCTION read_model_truncated();
CREATE TRIGGER read_model_truncated AFTER TRUNCATE ON branches
    FOR EACH STATEMENT EXECUTE FUNCTION read_model_truncated();
CREATE TRIGGER read_model_truncated AFTER TRUNCATE ON county_counts
    FOR EACH STATEMENT EXECUTE FUNCTION read_model_truncated();
