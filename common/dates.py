"""A publication date at the precision the source gave it (day, month or year).

"2019-05" is not 1 May 2019: it is the whole of May. Keeping the precision lets filters
match by overlap and pages write the date as the source did.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_ISO = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class DateFormatError(ValueError):
    """A date string that is not YYYY, YYYY-MM or YYYY-MM-DD, or not a real date."""


@dataclass(frozen=True, order=True)
class PubDate:
    """A date and its precision; ``start``/``end`` give the period it covers."""

    year: int
    month: int = 1
    day: int = 1
    precision: str = "day"

    @classmethod
    def parse(cls, text: str) -> "PubDate":
        """Parse YYYY, YYYY-MM or YYYY-MM-DD; raise DateFormatError otherwise."""
        m = _ISO.match(text.strip()) if isinstance(text, str) else None
        if not m:
            raise DateFormatError(f"expected YYYY, YYYY-MM or YYYY-MM-DD, got {text!r}")
        y, mo, d = m.groups()
        precision = "day" if d else "month" if mo else "year"
        try:
            value = cls(int(y), int(mo or 1), int(d or 1), precision)
            value.start  # validates month/day
        except ValueError as exc:
            raise DateFormatError(f"not a real date: {text!r}") from exc
        if value.year < 1000:
            raise DateFormatError(f"year out of range: {text!r}")
        return value

    @classmethod
    def from_date(cls, d: date, precision: str = "day") -> "PubDate":
        """Build from a date, truncated to the given precision."""
        if precision == "year":
            return cls(d.year, 1, 1, "year")
        if precision == "month":
            return cls(d.year, d.month, 1, "month")
        return cls(d.year, d.month, d.day, "day")

    @property
    def start(self) -> datetime:
        """First instant of the period (naive UTC, as Whoosh's DATETIME wants)."""
        return datetime(self.year, self.month, self.day)

    @property
    def end(self) -> datetime:
        """Last instant of the period, inclusive (datetime.max for the end of 9999)."""
        if self.year == 9999 and (self.precision == "year" or self.month == 12 and (
                self.precision == "month" or self.day == 31)):
            return datetime.max  # the next period would start in year 10000
        if self.precision == "year":
            nxt = datetime(self.year + 1, 1, 1)
        elif self.precision == "month":
            days = calendar.monthrange(self.year, self.month)[1]
            nxt = datetime(self.year, self.month, days) + timedelta(days=1)
        else:
            nxt = self.start + timedelta(days=1)
        return nxt - timedelta(microseconds=1)

    def iso(self) -> str:
        """The date written at its precision: 2019, 2019-05 or 2019-06-06."""
        if self.precision == "year":
            return f"{self.year:04d}"
        if self.precision == "month":
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    def human(self) -> str:
        """The date for people: 6 June 2019, May 2019 or 2019."""
        if self.precision == "year":
            return str(self.year)
        month = calendar.month_name[self.month]
        if self.precision == "month":
            return f"{month} {self.year}"
        return f"{self.day} {month} {self.year}"
