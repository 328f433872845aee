"""The API's views, by domain: catalog (shows), sales (tickets, holds, bookings), door
(check-in), ops (health). Each parses with a serializer, calls one service and serialises
the result."""
