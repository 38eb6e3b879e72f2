-- Webhook recovery: an instance looks for ready leads whose webhook was stamped due
-- (`notified_at`) but never recorded as attempted (the process sending it ended first), and
-- sends it. These indexes keep that sweep and its per-lead check cheap.
CREATE INDEX IF NOT EXISTS idx_leads_notified ON leads (notified_at);
CREATE INDEX IF NOT EXISTS idx_webhook_deliveries_lead ON webhook_deliveries (company_id, lead_id);
