DROP INDEX "logs"."entries_cursor_idx";--> statement-breakpoint
ALTER TABLE "logs"."entries" DROP COLUMN "txid";