-- Profile `asterisk` (docker/compose.yaml): the read-only role Asterisk's res_config_pgsql uses
-- (docker/asterisk/res_pgsql.conf), after the telephony migrations created the realtime tables.
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'asterisk') THEN
    CREATE ROLE asterisk LOGIN PASSWORD 'change-me';
  END IF;
END $$;
GRANT USAGE ON SCHEMA telephony TO asterisk;
GRANT SELECT ON telephony.ps_endpoints, telephony.ps_auths, telephony.ps_aors,
                telephony.extensions, telephony.voicemail TO asterisk;
GRANT UPDATE ON telephony.voicemail TO asterisk;
ALTER ROLE asterisk SET search_path = telephony;
