"""simlib.cron against every robfig/cron and Kubernetes vector in shared/fixtures/cron."""
import csv
import datetime as dt
import os
import unittest

from simlib import cron

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "fixtures", "cron")


def _rows(name):
    with open(os.path.join(FIXTURES, name), newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def _ts(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class VectorsTest(unittest.TestCase):
    def test_every_vector(self):
        rows = _rows("vectors.tsv")
        self.assertGreater(len(rows), 50)
        for n, row in enumerate(rows, start=2):
            with self.subTest(line=n, spec=row["spec"]):
                if row["expected_next"] == "ERROR":
                    with self.assertRaises(cron.ParseError):
                        cron.parse(row["spec"], cron.load_zone(row["tz"]))
                    continue
                sched = cron.parse(row["spec"], cron.load_zone(row["tz"]))
                got = sched.next(_ts(row["from"]))
                if row["expected_next"] == "NONE":
                    self.assertIsNone(got)
                else:
                    self.assertEqual(got, _ts(row["expected_next"]))


class MostRecentTest(unittest.TestCase):
    def test_every_row(self):
        rows = _rows("k8s_most_recent.tsv")
        self.assertGreater(len(rows), 5)
        for n, row in enumerate(rows, start=2):
            with self.subTest(line=n, spec=row["spec"]):
                sched = cron.parse(row["spec"], cron.load_zone(row["tz"]))
                last = None if row["last_schedule"] == "-" else _ts(row["last_schedule"])
                deadline = None
                if row["apply_deadline"] == "yes":
                    deadline = int(row["starting_deadline_seconds"])
                args = (sched, _ts(row["creation"]), last, _ts(row["now"]), deadline)
                if row["expected_most_recent"] == "ERROR":
                    with self.assertRaises(ValueError):
                        cron.most_recent(*args)
                    continue
                earliest, recent, missed = cron.most_recent(*args)
                self.assertEqual(earliest, _ts(row["expected_earliest"]))
                want = None if row["expected_most_recent"] == "NONE" else _ts(row["expected_most_recent"])
                self.assertEqual(recent, want)
                self.assertEqual(missed, row["expected_missed"])


class ControllerZoneTest(unittest.TestCase):
    def test_time_zone_field_prefixes_schedule(self):
        sched = cron.for_cronjob("0 9 * * *", "Europe/Berlin")
        got = sched.next(_ts("2026-01-10T00:00:00Z"))
        self.assertEqual(got, _ts("2026-01-10T08:00:00Z"))

    def test_unknown_zone_rejected(self):
        with self.assertRaises(cron.ParseError):
            cron.for_cronjob("0 9 * * *", "Mars/Olympus")

    def test_many_missed(self):
        sched = cron.parse("* * * * *")
        _, recent, missed = cron.most_recent(sched, _ts("2026-01-01T00:00:00Z"), None, _ts("2026-01-01T03:00:30Z"))
        self.assertEqual(recent, _ts("2026-01-01T03:00:00Z"))
        self.assertEqual(missed, cron.MANY_MISSED)

    def test_dom_dow_or_semantics(self):
        sched = cron.parse("0 0 13 * 5")  # the 13th or any Friday
        got = sched.next(_ts("2026-02-06T00:00:00Z"))  # Friday the 6th: next is the 13th (also a Friday)
        self.assertEqual(got, _ts("2026-02-13T00:00:00Z"))
        self.assertEqual(sched.next(got), _ts("2026-02-20T00:00:00Z"))


if __name__ == "__main__":
    unittest.main()
