-- The raw PostgreSQL booking transaction, for pgbench (bench/run.py runs it):
-- lock the show row, insert a booking and its ticket in the next seat, commit.
-- It is the floor of what a booking must cost the database, without Python or HTTP.
-- :first and :last bound the bench's own shows; :customer is a seeded customer. The
-- references come from a sequence, zero-padded: with a leading 0, which the service's
-- alphabet lacks, they can't collide with references the service draws.
\set show random(:first, :last)
BEGIN;
SELECT capacity FROM api_show WHERE id = :show FOR UPDATE;
INSERT INTO api_booking (reference, customer_id, created_at)
  VALUES (lpad(upper(to_hex(nextval('bench_reference'))), 6, '0'), :customer, now())
  RETURNING id AS booking \gset
INSERT INTO api_ticket (id, booking_id, show_id, seat, expired, booked_at)
  SELECT gen_random_uuid(), :booking, :show, coalesce(max(seat), 0) + 1, false, now()
  FROM api_ticket WHERE show_id = :show;
COMMIT;
