-- Every user's extension ends in its own Hangup() from this release on. Extensions provisioned
-- before it without voicemail had only `1 Dial(...)`: when the Dial returned unanswered or busy,
-- Asterisk looked for priority 2 in the context's includes, found it in rc-outbound's `_X.`, and
-- dialled the employee's extension out through the trunk. Give them their priority 2.
INSERT INTO "extensions" ("context", "exten", "priority", "app", "appdata")
SELECT d."context", d."exten", 2, 'Hangup', ''
FROM "extensions" d
WHERE d."priority" = 1
  AND d."app" = 'Dial'
  AND d."context" LIKE 'acct-%'
  AND NOT EXISTS (
    SELECT 1 FROM "extensions" n WHERE n."context" = d."context" AND n."exten" = d."exten" AND n."priority" = 2
  );
