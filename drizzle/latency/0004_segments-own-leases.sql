DROP INDEX "latency"."experiments_running_idx";--> statement-breakpoint
ALTER TABLE "latency"."experiments" DROP COLUMN "lease_owner";--> statement-breakpoint
ALTER TABLE "latency"."experiments" DROP COLUMN "lease_expires_at";--> statement-breakpoint
ALTER TABLE "latency"."experiments" DROP COLUMN "run_attempts";