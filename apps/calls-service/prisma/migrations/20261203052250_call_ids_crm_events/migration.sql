-- AlterTable
ALTER TABLE "calls" ADD COLUMN     "crm_announced" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "crm_next_seq" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "end_cause_txt" TEXT,
ADD COLUMN     "ringing_customer_at" TIMESTAMPTZ(3),
ADD COLUMN     "ringing_user_at" TIMESTAMPTZ(3),
ADD COLUMN     "started_seq" INTEGER;

-- AlterTable
ALTER TABLE "originate_requests" ADD COLUMN     "external_id" TEXT;

-- CreateTable
CREATE TABLE "outbox_events" (
    "id" UUID NOT NULL,
    "subject" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "outbox_events_published_at_created_at_idx" ON "outbox_events"("published_at", "created_at");

-- CreateIndex
CREATE INDEX "calls_state_ended_at_idx" ON "calls"("state", "ended_at");

-- Calls recorded before CRM events existed are never announced (a CRM would otherwise receive a
-- burst of stale call.* events the first time such a call is touched or swept).
UPDATE "calls" SET "crm_announced" = ARRAY['legacy']::TEXT[];
