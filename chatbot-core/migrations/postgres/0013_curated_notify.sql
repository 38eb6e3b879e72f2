-- A change of a company's curated answers (questions, answer, source), by whoever writes (a
-- server instance, the CLI, direct SQL), notifies channel `chatbot_tenant` with `curated:` and
-- the company id (company ids cannot contain ':'); each instance then rebuilds that company's
-- curated question vectors on its next turn instead of serving them for up to 30 s. Counting a
-- hit (hits, last_hit_at) notifies nobody.
CREATE OR REPLACE FUNCTION chatbot_curated_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('chatbot_tenant', 'curated:' || OLD.company_id);
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE'
        AND OLD.company_id IS NOT DISTINCT FROM NEW.company_id
        AND OLD.questions IS NOT DISTINCT FROM NEW.questions
        AND OLD.answer IS NOT DISTINCT FROM NEW.answer
        AND OLD.source IS NOT DISTINCT FROM NEW.source THEN
        RETURN NEW;
    END IF;
    PERFORM pg_notify('chatbot_tenant', 'curated:' || NEW.company_id);
    IF TG_OP = 'UPDATE' AND OLD.company_id IS DISTINCT FROM NEW.company_id THEN
        PERFORM pg_notify('chatbot_tenant', 'curated:' || OLD.company_id);
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS curated_answers_notify ON curated_answers;
CREATE TRIGGER curated_answers_notify AFTER INSERT OR UPDATE OR DELETE ON curated_answers
    FOR EACH ROW EXECUTE FUNCTION chatbot_curated_changed();
