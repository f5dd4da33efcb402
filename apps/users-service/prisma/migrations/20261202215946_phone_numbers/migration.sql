-- CreateTable
CREATE TABLE "phone_numbers" (
    "number" TEXT NOT NULL,
    "account_id" INTEGER,
    "user" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "assigned_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "phone_numbers_pkey" PRIMARY KEY ("number")
);

-- CreateIndex
CREATE INDEX "phone_numbers_account_id_number_idx" ON "phone_numbers"("account_id", "number");

-- CreateIndex
CREATE INDEX "phone_numbers_user_idx" ON "phone_numbers"("user");

-- CreateIndex
CREATE UNIQUE INDEX "users_account_id_username_key" ON "users"("account_id", "username");

-- AddForeignKey
ALTER TABLE "phone_numbers" ADD CONSTRAINT "phone_numbers_account_id_user_fkey" FOREIGN KEY ("account_id", "user") REFERENCES "users"("account_id", "username") ON DELETE RESTRICT ON UPDATE RESTRICT;
