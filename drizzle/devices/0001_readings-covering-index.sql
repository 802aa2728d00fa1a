-- Every aggregate filters on (device_id, ts) and reads only x, y, z: with them in the index the
-- queries are index-only scans and never touch the heap, where one device's rows are scattered
-- among every other device's (rows arrive interleaved in time order).
CREATE INDEX "readings_device_ts_idx" ON "devices"."readings" USING btree ("device_id", "ts") INCLUDE ("x", "y", "z");
