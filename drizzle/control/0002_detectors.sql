ALTER TABLE "control"."decisions" ADD COLUMN "detector" text DEFAULT 'ttest' NOT NULL;--> statement-breakpoint
ALTER TABLE "control"."decisions" ADD COLUMN "cusum" jsonb;