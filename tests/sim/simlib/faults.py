"""Fault injection state, set through the control API and consulted by the API server."""
import threading
import time


class Faults:
    def __init__(self):
        self._mu = threading.Lock()
        self.delay_ms = 0
        self.fail_until = 0.0       # monotonic deadline: answer 503 until then
        self.fail_path = ""         # only to requests whose path holds this ("" = all)
        self.down_until = 0.0       # monotonic deadline: listening socket closed until then
        self.drop = 0               # reset the next N connections
        self.truncate = 0           # truncate the next N JSON responses
        self.requests = 0           # API requests received (for benchmarks: requests per minute)
        self.lags = []              # (method, path substring, seconds): answers held back after they are made

    def count_request(self):
        with self._mu:
            self.requests += 1

    def failing(self, path=""):
        return time.monotonic() < self.fail_until and self.fail_path in path

    def _take(self, attr):
        """Consume one of a counted fault; True when it applies to this connection/response."""
        with self._mu:
            if getattr(self, attr) > 0:
                setattr(self, attr, getattr(self, attr) - 1)
                return True
            return False

    def take_drop(self):
        return self._take("drop")

    def take_truncate(self):
        return self._take("truncate")

    def add_lag(self, method, path, ms):
        with self._mu:
            self.lags.append((method.upper(), path, ms / 1000.0))

    def lag_for(self, method, path):
        """How long the answer to METHOD PATH waits, already made, before it is sent:
        the latency of the way back (a reply that left the server before a later
        request changed the state arrives after that request's reply)."""
        with self._mu:
            return sum(s for m, sub, s in self.lags if m in ("*", method) and sub in path)

    def set(self, **kw):
        with self._mu:
            for k, v in kw.items():
                setattr(self, k, v)

    def clear(self):
        self.set(delay_ms=0, fail_until=0.0, fail_path="", drop=0, truncate=0, lags=[])

    def describe(self):
        now = time.monotonic()
        return {"delay_ms": self.delay_ms, "failing_s": max(0.0, round(self.fail_until - now, 3)),
                "failing_path": self.fail_path,
                "down_s": max(0.0, round(self.down_until - now, 3)), "drop": self.drop,
                "truncate": self.truncate,
                "lags": [{"method": m, "path": sub, "ms": int(x * 1000)} for m, sub, x in self.lags]}
