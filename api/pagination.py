from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Count, QuerySet, Window
from rest_framework.pagination import PageNumberPagination

# The annotation that carries the number of all matching rows on each row of a page.
TOTAL = "page_total"


class WindowCountPaginator(Paginator):
    """A page and the number of all matching rows in one query.

    Django's Paginator runs SELECT COUNT(*) and then the page's SELECT. Here the page's
    SELECT also selects COUNT(*) OVER (), which PostgreSQL and SQLite compute over every row
    the query matches before LIMIT applies, so each row of the page carries the count.
    A page past the end has no row to carry it: only then is the COUNT queried, to tell an
    empty result (page 1) from a page that does not exist (404).
    """

    def page(self, number):
        if self.orphans or "count" in self.__dict__ or not isinstance(self.object_list, QuerySet):
            return super().page(number)
        number = self._whole_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list.annotate(**{TOTAL: Window(Count("*"))})[bottom : bottom + self.per_page])
        if rows:
            first = rows[0]
            self.count = first[TOTAL] if isinstance(first, dict) else getattr(first, TOTAL)  # no COUNT query
        elif number == 1:
            self.count = 0
        return self._get_page(rows, self.validate_number(number), self)

    def _whole_number(self, number) -> int:
        """The page number as validate_number reads it, before the count is known."""
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number


class Pagination(PageNumberPagination):
    django_paginator_class = WindowCountPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
