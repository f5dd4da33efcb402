-- Whether a voicemail message is e-mailed is voicemail.conf's `attach` from this release on: the
-- adapter writes its boxes with attach NULL (a row's value overrides voicemail.conf, so `attach = no`
-- there did not stop Asterisk calling sendmail). Boxes it wrote before carry 'yes'.
UPDATE "voicemail" SET "attach" = NULL WHERE "attach" = 'yes';
