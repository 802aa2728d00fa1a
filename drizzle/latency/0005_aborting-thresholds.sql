ALTER TABLE "latency"."experiments" DROP CONSTRAINT "experiments_state_check";--> statement-breakpoint
ALTER TABLE "latency"."experiments" ADD COLUMN "threshold_breach_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "latency"."experiments" ADD COLUMN "verdict" text;--> statement-breakpoint
ALTER TABLE "latency"."experiments" ADD CONSTRAINT "experiments_state_check" CHECK ("latency"."experiments"."state" in ('created', 'running', 'paused', 'completed', 'stopped', 'failed'));