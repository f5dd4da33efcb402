-- CreateEnum
CREATE TYPE "OriginateStatus" AS ENUM ('pending', 'queued', 'rejected', 'failed');

-- CreateTable
CREATE TABLE "originate_requests" (
    "call_id" UUID NOT NULL,
    "account_id" INTEGER NOT NULL,
    "user_name" TEXT NOT NULL,
    "src" TEXT NOT NULL,
    "num" TEXT NOT NULL,
    "status" "OriginateStatus" NOT NULL DEFAULT 'pending',
    "action_id" TEXT,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "originate_requests_pkey" PRIMARY KEY ("call_id")
);

-- CreateTable
CREATE TABLE "calls" (
    "call_id" TEXT NOT NULL,
    "account_id" INTEGER,
    "node" TEXT,
    "linkedid" TEXT,
    "direction" TEXT,
    "src" TEXT,
    "dst" TEXT,
    "user_name" TEXT,
    "started_at" TIMESTAMPTZ(3),
    "answered_at" TIMESTAMPTZ(3),
    "bridged_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "end_cause" INTEGER,
    "reconciled" BOOLEAN NOT NULL DEFAULT false,
    "duration" INTEGER,
    "billsec" INTEGER,
    "disposition" TEXT,
    "state" TEXT NOT NULL DEFAULT 'active',
    "cdr_seq" INTEGER,
    "cdr_uniqueid" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "calls_pkey" PRIMARY KEY ("call_id")
);

-- CreateTable
CREATE TABLE "recordings" (
    "account_id" INTEGER NOT NULL,
    "file_name" TEXT NOT NULL,
    "user_name" TEXT,
    "call_id" TEXT NOT NULL,
    "object_name" TEXT NOT NULL,
    "content_type" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "duration_s" DOUBLE PRECISION NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL,
    "event_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "recordings_pkey" PRIMARY KEY ("account_id","file_name")
);

-- CreateTable
CREATE TABLE "processed_events" (
    "call_id" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "event_id" TEXT NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processed_events_pkey" PRIMARY KEY ("call_id","seq")
);

-- CreateIndex
CREATE INDEX "originate_requests_account_id_created_at_idx" ON "originate_requests"("account_id", "created_at");

-- CreateIndex
CREATE INDEX "calls_account_id_state_ended_at_idx" ON "calls"("account_id", "state", "ended_at" DESC);

-- CreateIndex
CREATE INDEX "recordings_account_id_recorded_at_idx" ON "recordings"("account_id", "recorded_at" DESC);

-- CreateIndex
CREATE INDEX "recordings_call_id_idx" ON "recordings"("call_id");

-- CreateIndex
CREATE INDEX "processed_events_processed_at_idx" ON "processed_events"("processed_at");
