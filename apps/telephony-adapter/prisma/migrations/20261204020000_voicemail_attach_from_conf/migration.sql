-- Whether the e-mail of a voicemail message carries the recording is voicemail.conf's `attach` from this
-- release on: the adapter writes its boxes with attach NULL (a row's value overrides voicemail.conf, so
-- with 'yes' in the rows `attach = no` there still attached it; checked on Asterisk 22.10.1). Boxes it
-- wrote before carry 'yes'.
UPDATE "voicemail" SET "attach" = NULL WHERE "attach" = 'yes';
