-- The two experiments of the seed, running from the first start. Their decks are
-- buildDeck(weights, seed) from src/modules/ab/deck.ts; seed-migration.test.ts checks they match.
INSERT INTO "ab"."experiments" ("name", "option_values", "seed", "current_version", "started_at") VALUES
  ('button_color', '["#FF0000", "#00FF00", "#0000FF"]', 1592590337, 1, date_trunc('milliseconds', now())),
  ('price', '[10, 20, 50, 5]', 1592590338, 1, date_trunc('milliseconds', now()));
--> statement-breakpoint
INSERT INTO "ab"."decks" ("experiment_id", "version", "weights", "deck", "created_at")
SELECT "id", 1, '{1,1,1}', '{2,1,0}', now() FROM "ab"."experiments" WHERE "name" = 'button_color';
--> statement-breakpoint
INSERT INTO "ab"."decks" ("experiment_id", "version", "weights", "deck", "created_at")
SELECT "id", 1, '{75,10,5,10}', '{0,0,0,1,0,3,0,0,0,0,1,0,3,0,0,0,0,0,2,0}', now()
FROM "ab"."experiments" WHERE "name" = 'price';
--> statement-breakpoint
INSERT INTO "ab"."answers_epoch" DEFAULT VALUES;
