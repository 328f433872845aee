from django.core.paginator import Paginator
from rest_framework.pagination import PageNumberPagination


def _is_first_page(number) -> bool:
    """Whether Paginator.validate_number would read `number` as page 1."""
    if isinstance(number, float) and not number.is_integer():
        return False
    try:
        return int(number) == 1
    except (TypeError, ValueError):
        return False


class CountSavingPaginator(Paginator):
    """Skips the COUNT(*) when the first page is the only one.

    Most searches fit on one page: when page 1 is read with one row more than a page holds
    and that row is not there, the rows read are the whole result and their number is
    the count. Otherwise, and
    for every other page, the count is queried as by Django's Paginator.
    """

    def page(self, number):
        if self.orphans or "count" in self.__dict__ or not _is_first_page(number):
            return super().page(number)
        # One row more than a page tells whether there is a second page without counting.
        rows = list(self.object_list[: self.per_page + 1])
        if len(rows) <= self.per_page:
            self.count = len(rows)  # sets the cached_property: no COUNT query
        # More than one page: count() queries the total; the rows are those already read.
        # _get_page is Django's hook for making a Page; django-stubs does not declare it.
        return self._get_page(rows[: self.per_page], self.validate_number(number), self)  # type: ignore[attr-defined]


class Pagination(PageNumberPagination):
    django_paginator_class = CountSavingPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
