-- A charge's version: one more on every change of its row, whatever statement makes it (the trigger sets it, so
-- no writer can forget it or set it). A change decided in the application on the charge as it read it is
-- written by one statement that names the version it read (charges::step): it writes only if nothing changed
-- the charge in between, and otherwise writes nothing, so the caller takes the locked transaction instead.
-- The default applies without a table rewrite; every existing charge starts at 0.
ALTER TABLE charges ADD COLUMN version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION charges_next_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END;
$$;

CREATE TRIGGER charges_version BEFORE UPDATE ON charges
    FOR EACH ROW EXECUTE FUNCTION charges_next_version();
