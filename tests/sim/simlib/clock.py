"""Simulated clock: wall time scaled by --speed, advanced on demand by the control API."""
import datetime
import threading
import time

UTC = datetime.timezone.utc


def fmt(dt):
    """RFC 3339 with second precision, as metav1.Time marshals."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_micro(dt):
    """metav1.MicroTime (events.k8s.io eventTime, leases)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(text):
    t = text.replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(t).astimezone(UTC)


class SimClock:
    def __init__(self, speed=1.0, start=None):
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = float(speed)
        self._mu = threading.Lock()
        self._base_sim = start if start is not None else datetime.datetime.now(UTC)
        self._base_mono = time.monotonic()

    def now(self):
        with self._mu:
            elapsed = (time.monotonic() - self._base_mono) * self.speed
            return self._base_sim + datetime.timedelta(seconds=elapsed)

    def advance(self, seconds):
        with self._mu:
            self._base_sim += datetime.timedelta(seconds=float(seconds))

    def sleep(self, sim_seconds):
        """Sleep for a span of simulated time (real time / speed)."""
        time.sleep(max(0.0, sim_seconds / self.speed))

    def snapshot(self):
        return {"sim": fmt_micro(self.now()), "wall": fmt_micro(datetime.datetime.now(UTC)),
                "speed": self.speed}

    @classmethod
    def resume(cls, snap, speed):
        """After a reboot, simulated time goes on from where it stopped plus the
        real downtime (scaled), like a machine that was off for a while."""
        sim = parse(snap["sim"])
        down = (datetime.datetime.now(UTC) - parse(snap["wall"])).total_seconds()
        return cls(speed, sim + datetime.timedelta(seconds=max(0.0, down) * speed))
