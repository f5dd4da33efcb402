-- A colleague rung by a click-to-call sees the calling employee from this release on (Dial's f()
-- when the channel has RC_CALL_ID; see dialData in provisioning.service.ts). Extensions provisioned
-- before it get the same Dial data; rows that are not a plain `PJSIP/<user>,30` are left alone.
UPDATE "extensions"
SET "appdata" = "appdata" || ',${IF($["${RC_CALL_ID}" = ""]?:f(${CALLERID(num)} <${CALLERID(num)}>))}'
WHERE "priority" = 1
  AND "app" = 'Dial'
  AND "context" LIKE 'acct-%'
  AND "appdata" ~ '^PJSIP/[^,&]+,30$';
