-- CreateTable
CREATE TABLE "recording_jobs" (
    "node" VARCHAR(40) NOT NULL,
    "file_name" VARCHAR(140) NOT NULL,
    "job" JSONB NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "recording_jobs_pkey" PRIMARY KEY ("node","file_name")
);

-- CreateIndex
CREATE INDEX "recording_jobs_node_next_attempt_at_idx" ON "recording_jobs"("node", "next_attempt_at");
