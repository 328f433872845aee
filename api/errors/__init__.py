"""The errors of the booking rules, in the domain's words.

Services raise these; they know nothing of HTTP. The API maps them to status codes and
shapes once (api/views/base.py, exception_handler), the admin shows their message
(api/admin/base.py). Each error's message and code are defined here and nowhere else.

- Invalid: the request asks for something that can't be (400). `subject` says what is
  wrong in the domain's words ("show", "time", "seats", ...); the API answers it as the
  request field of that name, unless the view names it otherwise.
- Conflict: the request clashes with the current state (409), with a `code`.
- Missing: the thing named does not exist (404).
- Limited: the client used up its share for now (429, with Retry-After).
- Busy: the request could not get its turn in time; the same request may be sent again
  a little later (503, with a `code` and Retry-After).

The errors are grouped by who meets them: errors/base.py holds the kinds above and the
few that any part of the service raises; errors/catalog.py those of what staff set up
(the schedule, screens and seat maps, films, ticket types and prices, webhook endpoints);
errors/sales.py those of selling seats (shows found by time, holds, bookings, tickets and
their changes, waiting lists, the per-client caps, the door). All are importable from
here: `from api.errors import SoldOut`.
"""

from .base import *  # noqa: F403
from .catalog import *  # noqa: F403
from .sales import *  # noqa: F403
