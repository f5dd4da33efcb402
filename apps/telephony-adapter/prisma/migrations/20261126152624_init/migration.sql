-- CreateTable
CREATE TABLE "ps_endpoints" (
    "id" VARCHAR(255) NOT NULL,
    "transport" VARCHAR(40),
    "aors" VARCHAR(2048),
    "auth" VARCHAR(255),
    "context" VARCHAR(40),
    "disallow" VARCHAR(200),
    "allow" VARCHAR(200),
    "direct_media" VARCHAR(40),
    "dtmf_mode" VARCHAR(40),
    "force_rport" VARCHAR(40),
    "rewrite_contact" VARCHAR(40),
    "rtp_symmetric" VARCHAR(40),
    "callerid" VARCHAR(40),
    "mailboxes" VARCHAR(40),
    "accountcode" VARCHAR(80),

    CONSTRAINT "ps_endpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ps_auths" (
    "id" VARCHAR(255) NOT NULL,
    "auth_type" VARCHAR(40),
    "nonce_lifetime" INTEGER,
    "md5_cred" VARCHAR(40),
    "password" VARCHAR(80),
    "realm" VARCHAR(255),
    "username" VARCHAR(255),

    CONSTRAINT "ps_auths_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ps_aors" (
    "id" VARCHAR(255) NOT NULL,
    "contact" VARCHAR(255),
    "default_expiration" INTEGER,
    "mailboxes" VARCHAR(80),
    "max_contacts" INTEGER,
    "minimum_expiration" INTEGER,
    "remove_existing" VARCHAR(40),
    "qualify_frequency" INTEGER,

    CONSTRAINT "ps_aors_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "extensions" (
    "id" BIGSERIAL NOT NULL,
    "context" VARCHAR(40) NOT NULL,
    "exten" VARCHAR(40) NOT NULL,
    "priority" INTEGER NOT NULL,
    "app" VARCHAR(40) NOT NULL,
    "appdata" VARCHAR(256) NOT NULL,

    CONSTRAINT "extensions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "voicemail" (
    "uniqueid" SERIAL NOT NULL,
    "context" VARCHAR(80) NOT NULL,
    "mailbox" VARCHAR(80) NOT NULL,
    "password" VARCHAR(80) NOT NULL,
    "fullname" VARCHAR(80),
    "email" VARCHAR(80),
    "attach" VARCHAR(40),

    CONSTRAINT "voicemail_pkey" PRIMARY KEY ("uniqueid")
);

-- CreateTable
CREATE TABLE "provisioned_users" (
    "user" VARCHAR(255) NOT NULL,
    "account_id" INTEGER NOT NULL,
    "num" VARCHAR(40) NOT NULL,
    "voicemail" BOOLEAN NOT NULL,
    "version" INTEGER NOT NULL,
    "event_id" VARCHAR(64) NOT NULL,
    "applied_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "provisioned_users_pkey" PRIMARY KEY ("user")
);

-- CreateTable
CREATE TABLE "originate_requests" (
    "action_id" VARCHAR(80) NOT NULL,
    "call_id" VARCHAR(80) NOT NULL,
    "node" VARCHAR(40) NOT NULL,
    "account_id" INTEGER NOT NULL,
    "user" VARCHAR(255) NOT NULL,
    "num" VARCHAR(40) NOT NULL,
    "src" VARCHAR(40) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "response" VARCHAR(20),
    "reason" INTEGER,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "originate_requests_pkey" PRIMARY KEY ("action_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "extensions_context_exten_priority_key" ON "extensions"("context", "exten", "priority");

-- CreateIndex
CREATE UNIQUE INDEX "voicemail_context_mailbox_key" ON "voicemail"("context", "mailbox");

-- CreateIndex
CREATE INDEX "provisioned_users_account_id_idx" ON "provisioned_users"("account_id");

-- CreateIndex
CREATE UNIQUE INDEX "originate_requests_call_id_key" ON "originate_requests"("call_id");

-- CreateIndex
CREATE INDEX "originate_requests_created_at_idx" ON "originate_requests"("created_at");
