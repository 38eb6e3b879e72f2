-- Every change of a company or its widget settings, by whoever writes (a server instance, the
-- CLI, direct SQL), notifies channel `chatbot_tenant` with the company id; each server instance
-- listens and drops that company from its cache. NOTIFY is delivered at commit, once per
-- distinct payload per transaction.
CREATE OR REPLACE FUNCTION chatbot_tenant_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('chatbot_tenant', OLD.company_id);
        RETURN OLD;
    END IF;
    PERFORM pg_notify('chatbot_tenant', NEW.company_id);
    IF TG_OP = 'UPDATE' AND OLD.company_id IS DISTINCT FROM NEW.company_id THEN
        PERFORM pg_notify('chatbot_tenant', OLD.company_id);
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS user_companies_notify ON user_companies;
CREATE TRIGGER user_companies_notify AFTER INSERT OR UPDATE OR DELETE ON user_companies
    FOR EACH ROW EXECUTE FUNCTION chatbot_tenant_changed();
DROP TRIGGER IF EXISTS widget_settings_notify ON widget_settings;
CREATE TRIGGER widget_settings_notify AFTER INSERT OR UPDATE OR DELETE ON widget_settings
    FOR EACH ROW EXECUTE FUNCTION chatbot_tenant_changed();
