"""Query pieces shared by the apps: reads that PostgreSQL answers slowly in their plain form over a
large book, and date arithmetic that works on PostgreSQL and the embedded SQLite alike."""

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Func, IntegerField
from django.utils.functional import cached_property


def distinct_values(model, field):
    """The distinct values of an indexed column, sorted: the choices of a filter.

    A plain SELECT DISTINCT reads every row (150 ms over a million invoices); on PostgreSQL this
    hops through the column's index, one probe per value (a "loose index scan"), well under a
    millisecond for the few currencies a book has. The column needs an index of its own.
    """
    column = model._meta.get_field(field).column
    if connection.vendor != "postgresql":
        return list(model.objects.order_by(field).values_list(field, flat=True).distinct())
    table, column = (connection.ops.quote_name(name) for name in (model._meta.db_table, column))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE found(value) AS ("
            f" SELECT min({column}) FROM {table}"
            f" UNION ALL SELECT (SELECT min({column}) FROM {table} WHERE {column} > found.value)"
            f" FROM found WHERE found.value IS NOT NULL"
            f") SELECT value FROM found WHERE value IS NOT NULL"
        )
        return [row[0] for row in cursor.fetchall()]


class CappedPaginator(Paginator):
    """A paginator that counts up to COUNT_UP_TO + 1 rows, not the whole list.

    Counting an account manager's third of a million invoices takes 100 ms on every page view;
    nobody pages past the first thousands. `more` says the list goes on beyond the count, and the
    pages stop there (the filters narrow it, the export has everything).
    """

    COUNT_UP_TO = 10_000
    more = False

    @cached_property
    def count(self):
        counted = count_up_to(self.object_list, self.COUNT_UP_TO + 1)
        self.more = counted > self.COUNT_UP_TO
        return min(counted, self.COUNT_UP_TO)


def ids_if_few(queryset, up_to):
    """The ids of `queryset` as a list when there are at most `up_to`, else None.

    Counted first, with the count stopping at `up_to` + 1: a large book's first 5,001 ids are not
    fetched only to be thrown away (10 ms of row conversion on every page of a large portfolio).
    """
    if count_up_to(queryset, up_to + 1) > up_to:
        return None
    return list(queryset.order_by().values_list("pk", flat=True))


def count_up_to(queryset, limit):
    """How many rows `queryset` has, counting no further than `limit`."""
    return queryset.order_by().values("pk")[:limit].count()


class DaysBetween(Func):
    """Whole days from `earlier` to `later` (two dates), on PostgreSQL and on the embedded SQLite."""

    output_field = IntegerField()
    arity = 2
    template = "(%(expressions)s)"
    arg_joiner = " - "

    def __init__(self, later, earlier):
        super().__init__(later, earlier)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )
