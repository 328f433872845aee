-- Version 2's raw PostgreSQL booking transaction, for pgbench (bench/run.py runs it on a
-- version-2 database): lock the show row, insert one ticket in the next seat, commit, with
-- no customer or booking rows (issue 23): every ticket goes into one seeded booking. It is
-- the floor of what a booking must cost the database, without Python or HTTP.
-- :first and :last bound the bench's own shows; :booking, :customer and :ticket_type are
-- seeded rows. Seats are labelled P00001, P00002, ... so that the next one is an index scan.
\set show random(:first, :last)
BEGIN;
SELECT capacity FROM api_show WHERE id = :show FOR UPDATE;
INSERT INTO api_ticket (id, booking_id, holder_id, show_id, seat, seat_order, ticket_type_id, price, expired, booked_at)
  SELECT gen_random_uuid(), :booking, :customer, :show, 'P' || lpad(next::text, 5, '0'), next, :ticket_type, 0, false, now()
  FROM (SELECT coalesce(substr(max(seat), 2)::int, 0) + 1 AS next FROM api_ticket WHERE show_id = :show) AS seat;
COMMIT;
