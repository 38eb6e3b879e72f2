-- A company's client type (the widget-flow seed's clientType): 'realtor' or 'business_owner'.
-- It decides the lead profile the bot collects. Existing companies become business owners.
ALTER TABLE user_companies ADD COLUMN client_type VARCHAR(32) NOT NULL DEFAULT 'business_owner';
