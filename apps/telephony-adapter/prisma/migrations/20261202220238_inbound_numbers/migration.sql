-- CreateTable
CREATE TABLE "provisioned_numbers" (
    "number" VARCHAR(20) NOT NULL,
    "account_id" INTEGER,
    "user" VARCHAR(255),
    "version" INTEGER NOT NULL,
    "event_id" VARCHAR(64) NOT NULL,
    "applied_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "provisioned_numbers_pkey" PRIMARY KEY ("number")
);

-- CreateIndex
CREATE INDEX "provisioned_numbers_user_idx" ON "provisioned_numbers"("user");

-- Qualify every AOR provisioned before this release (the adapter writes PJSIP_QUALIFY_FREQUENCY,
-- 60 by default, from now on): Asterisk raises ContactStatus events only for qualified AORs, and
-- the adapter learns from them that a phone registered.
UPDATE "ps_aors" SET "qualify_frequency" = 60 WHERE "qualify_frequency" IS NULL;
