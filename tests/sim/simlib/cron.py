"""CronJob schedule math, as the Kubernetes CronJob controller computes it.

The controller parses `.spec.schedule` with robfig/cron v3 `ParseStandard` and walks
fire times with its `Next`; this module reproduces both (including Go's wall-clock
normalisation across DST gaps and repeats) and the controller's
`mostRecentScheduleTime`.  Instants are tz-aware datetimes; pure, no I/O.
"""
import datetime as _dt
import re
import zoneinfo

UTC = _dt.timezone.utc
_EPOCH = _dt.datetime(1970, 1, 1)
STAR_BIT = 1 << 63
_MAX64 = (1 << 64) - 1

_MONTH_NAMES = {n: i + 1 for i, n in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_DOW_NAMES = {n: i for i, n in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_MINUTES, _HOURS, _DOM = (0, 59, None), (0, 23, None), (1, 31, None)
_MONTHS, _DOW = (1, 12, _MONTH_NAMES), (0, 6, _DOW_NAMES)


class ParseError(ValueError):
    pass


def load_zone(name):
    """time.LoadLocation: "" and "UTC" are UTC; anything else must be an IANA name."""
    if name in ("", "UTC"):
        return UTC
    if name == "Local" or not re.fullmatch(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*", name):
        raise ParseError("unknown time zone %s" % name)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ParseError("unknown time zone %s" % name) from None


def _atoi(text):
    if not re.fullmatch(r"[+-]?[0-9]+", text) or abs(int(text)) >= 1 << 63:
        raise ParseError("failed to parse int from %s" % text)
    num = int(text)
    if num < 0:
        raise ParseError("negative number (%d) not allowed: %s" % (num, text))
    return num


def _int_or_name(text, names):
    if names and text.lower() in names:
        return names[text.lower()]
    return _atoi(text)


def _bits(lo, hi, step):
    if step == 1:
        return ~(_MAX64 << (hi + 1)) & (_MAX64 << lo) & _MAX64
    out = 0
    for i in range(lo, hi + 1, step):
        out |= 1 << i
    return out


def _range(expr, bounds):
    lo_b, hi_b, names = bounds
    range_and_step = expr.split("/")
    low_high = range_and_step[0].split("-")
    single = len(low_high) == 1
    extra = 0
    if low_high[0] in ("*", "?"):
        start, end, extra = lo_b, hi_b, STAR_BIT
    else:
        start = _int_or_name(low_high[0], names)
        if len(low_high) == 1:
            end = start
        elif len(low_high) == 2:
            end = _int_or_name(low_high[1], names)
        else:
            raise ParseError("too many hyphens: %s" % expr)
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _atoi(range_and_step[1])
        if single:
            end = hi_b
        if step > 1:
            extra = 0
    else:
        raise ParseError("too many slashes: %s" % expr)
    if start < lo_b:
        raise ParseError("beginning of range (%d) below minimum (%d): %s" % (start, lo_b, expr))
    if end > hi_b:
        raise ParseError("end of range (%d) above maximum (%d): %s" % (end, hi_b, expr))
    if start > end:
        raise ParseError("beginning of range (%d) beyond end of range (%d): %s" % (start, end, expr))
    if step == 0:
        raise ParseError("step of range should be a positive number: %s" % expr)
    return _bits(start, end, step) | extra


def _field(text, bounds):
    bits = 0
    for part in (p for p in text.split(",") if p):
        bits |= _range(part, bounds)
    return bits


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def _parse_go_duration(text):
    """time.ParseDuration, in seconds (float)."""
    m = re.fullmatch(r"([+-]?)((?:[0-9]*\.?[0-9]*(?:ns|us|µs|μs|ms|s|m|h))+|0)", text)
    if not m or text in ("", "+", "-"):
        raise ParseError("time: invalid duration %s" % text)
    if m.group(2) == "0":
        return 0.0
    total = 0.0
    for num, unit in re.findall(r"([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)", m.group(2)):
        if num in ("", "."):
            raise ParseError("time: invalid duration %s" % text)
        total += float(num) * _DURATION_UNITS[unit]
    return -total if m.group(1) == "-" else total


class _Wall:
    """Go time.Time semantics in one location, on whole unix seconds."""

    def __init__(self, loc):
        self.loc = loc

    def offset(self, unix):
        return int(_dt.datetime.fromtimestamp(unix, self.loc).utcoffset().total_seconds())

    def fields(self, unix):
        d = _dt.datetime.fromtimestamp(unix, self.loc)
        return d.year, d.month, d.day, d.hour, d.minute, d.second, (d.weekday() + 1) % 7

    def date(self, year, month, day, hour=0, minute=0, second=0):
        """time.Date: normalises overflowing fields; a wall time in a DST gap or repeat
        resolves the way Go's lookup does."""
        year += (month - 1) // 12
        month = (month - 1) % 12 + 1
        wall = int((_dt.datetime(year, month, 1) - _EPOCH).total_seconds())
        wall += (day - 1) * 86400 + hour * 3600 + minute * 60 + second
        return wall - self.offset(wall - self.offset(wall))


class SpecSchedule:
    def __init__(self, minute, hour, dom, month, dow, loc):
        self.second = 1
        self.minute, self.hour, self.dom, self.month, self.dow = minute, hour, dom, month, dow
        self.loc = loc

    def _day_matches(self, day, weekday):
        dom_match = (1 << day) & self.dom > 0
        dow_match = (1 << weekday) & self.dow > 0
        if self.dom & STAR_BIT or self.dow & STAR_BIT:
            return dom_match and dow_match
        return dom_match or dow_match

    def next(self, after):
        """First fire time strictly after `after` (aware datetime), or None (never)."""
        if after is None:
            return None
        w = _Wall(self.loc)
        t = int(after.timestamp() // 1) + 1
        added = False
        year_limit = w.fields(t)[0] + 5
        while True:
            y, mo, d, h, mi, s, wd = w.fields(t)
            if y > year_limit:
                return None
            wrapped = False
            while (1 << mo) & self.month == 0:
                if not added:
                    added = True
                    t = w.date(y, mo, 1)
                y, mo, d, h, mi, s, wd = w.fields(t)
                t = w.date(y, mo + 1, d, h, mi, s)
                if w.fields(t)[1] == 1:
                    wrapped = True
                    break
                y, mo, d, h, mi, s, wd = w.fields(t)
            if wrapped:
                continue
            while not self._day_matches(d, wd):
                if not added:
                    added = True
                    t = w.date(y, mo, d)
                y, mo, d, h, mi, s, wd = w.fields(t)
                t = w.date(y, mo, d + 1, h, mi, s)
                hour = w.fields(t)[3]
                # Go: undo a DST shift so the walk stays on local midnight.
                if hour != 0:
                    t += (24 - hour) * 3600 if hour > 12 else -hour * 3600
                y, mo, d, h, mi, s, wd = w.fields(t)
                if d == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            # hour, minute, second: fixed-length steps (absolute time, as Go's t.Add)
            steps = ((self.hour, 3, 3600, lambda t, f: w.date(f[0], f[1], f[2], f[3])),
                     (self.minute, 4, 60, lambda t, f: t - t % 60),
                     (self.second, 5, 1, lambda t, f: t))
            fields = (y, mo, d, h, mi, s, wd)
            for bits, idx, step, truncate in steps:
                while (1 << fields[idx]) & bits == 0:
                    if not added:
                        added = True
                        t = truncate(t, fields)
                    t += step
                    fields = w.fields(t)
                    if fields[idx] == 0:
                        wrapped = True
                        break
                if wrapped:
                    break
            if wrapped:
                continue
            return _dt.datetime.fromtimestamp(t, UTC)


class ConstantDelaySchedule:
    """@every DURATION: a fixed delay (whole seconds, at least one)."""

    def __init__(self, seconds):
        self.delay = max(1, int(seconds))

    def next(self, after):
        if after is None:
            return None
        return _dt.datetime.fromtimestamp(int(after.timestamp() // 1) + self.delay, UTC)


# Each descriptor is the 5-field schedule robfig/cron builds for it.
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}


def _descriptor(spec, loc):
    if spec in _DESCRIPTORS:
        return _fields(_DESCRIPTORS[spec], loc)
    if spec.startswith("@every "):
        try:
            seconds = _parse_go_duration(spec[len("@every "):])
        except ParseError as e:
            raise ParseError("failed to parse duration %s: %s" % (spec, e)) from None
        return ConstantDelaySchedule(seconds)
    raise ParseError("unrecognized descriptor: %s" % spec)


def _fields(spec, loc):
    fields = spec.split()
    if len(fields) != 5:
        raise ParseError("expected exactly 5 fields, found %d: [%s]" % (len(fields), " ".join(fields)))
    return SpecSchedule(_field(fields[0], _MINUTES), _field(fields[1], _HOURS), _field(fields[2], _DOM),
                        _field(fields[3], _MONTHS), _field(fields[4], _DOW), loc)


def parse(spec, default_zone=UTC):
    """robfig/cron ParseStandard.  default_zone plays time.Local."""
    if not spec:
        raise ParseError("empty spec string")
    loc = default_zone
    if spec.startswith("TZ=") or spec.startswith("CRON_TZ="):
        i = spec.find(" ")
        eq = spec.find("=")
        if i < 0:
            raise ParseError("provided bad location %s" % spec[eq + 1:])
        try:
            loc = load_zone(spec[eq + 1:i])
        except ParseError as e:
            raise ParseError("provided bad location %s: %s" % (spec[eq + 1:i], e)) from None
        spec = spec[i:].strip()
    if spec.startswith("@"):
        return _descriptor(spec, loc)
    return _fields(spec, loc)


def for_cronjob(schedule, time_zone=None, controller_zone=UTC):
    """The schedule the controller acts on: a TZ prefix in .spec.schedule wins, else
    .spec.timeZone (must load), else the controller's own zone."""
    if "TZ" not in schedule and time_zone is not None:
        zone = load_zone(time_zone)
        return parse(schedule, zone)
    return parse(schedule, controller_zone)


NONE_MISSED, FEW_MISSED, MANY_MISSED = "none", "few", "many"


def most_recent(schedule, creation, last_schedule, now, starting_deadline_seconds=None):
    """Kubernetes mostRecentScheduleTime (with the starting deadline applied when given).

    Returns (earliest, most_recent or None, missed) where missed is none/few/many; raises
    ValueError for a schedule that parses but never repeats (e.g. Feb 31)."""
    earliest = last_schedule if last_schedule is not None else creation
    if starting_deadline_seconds is not None:
        deadline = now - _dt.timedelta(seconds=starting_deadline_seconds)
        if deadline > earliest:
            earliest = deadline
    t1 = schedule.next(earliest)
    t2 = schedule.next(t1)
    if t1 is not None and now < t1:
        return earliest, None, NONE_MISSED
    if t2 is not None and now < t2:
        return earliest, t1, NONE_MISSED
    if t1 is None or t2 is None or round((t2 - t1).total_seconds()) < 1:
        raise ValueError("time difference between two schedules is less than 1 second")
    between = int(round((t2 - t1).total_seconds()))
    elapsed = int((now - t1).total_seconds())
    missed = elapsed // between + 1
    recent = None
    t = schedule.next(t1 + _dt.timedelta(seconds=(missed - 2) * between))
    while t is not None and t <= now:
        recent = t
        t = schedule.next(t)
    return earliest, recent, MANY_MISSED if missed > 100 else FEW_MISSED
