"""run.py - runs every tests/integration/test_*.py and prints one line per
test: "ok LABEL: name" or "FAIL LABEL: name" (with the reason indented).
./sealmail.sh test counts these lines.

    python3 tests/integration/run.py LABEL [PATTERN]

PATTERN (or $SEALMAIL_TESTS) selects test files by substring.
"""

import os
import signal
import sys
import time
import unittest

TEST_TIMEOUT = int(os.environ.get("SEALMAIL_TEST_TIMEOUT", "300"))
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class LineResult(unittest.TestResult):
    def __init__(self, label):
        super().__init__()
        self.label = label
        self.t0 = 0

    def startTest(self, test):
        super().startTest(test)
        self.t0 = time.time()
        # No test may hang the suite: SIGALRM raises in the test.
        signal.alarm(TEST_TIMEOUT)

    def stopTest(self, test):
        signal.alarm(0)
        super().stopTest(test)

    def _name(self, test):
        doc = test.shortDescription()
        return "%s%s" % (test.id().split(".", 1)[-1],
                         " (%s)" % doc if doc else "")

    def _line(self, word, test, detail=None):
        print("%s %s: %s [%.1fs]" % (word, self.label, self._name(test),
                                    time.time() - self.t0), flush=True)
        if detail:
            for line in detail.rstrip().splitlines()[-25:]:
                print("  " + line, flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line("ok", test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line("FAIL", test, self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._line("FAIL", test, self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        print("skip %s: %s: %s" % (self.label, self._name(test), reason))


def on_alarm(signum, frame):
    raise TimeoutError("test ran longer than %d seconds" % TEST_TIMEOUT)


def main():
    signal.signal(signal.SIGALRM, on_alarm)
    label = sys.argv[1] if len(sys.argv) > 1 else "integration"
    pattern = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("SEALMAIL_TESTS", "")
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    # SEALMAIL_TESTS_EXCLUDE: files left out, by name (comma-separated)
    skip = [x for x in os.environ.get("SEALMAIL_TESTS_EXCLUDE",
                                      "").split(",") if x]
    for name in sorted(os.listdir(HERE)):
        if name.startswith("test_") and name.endswith(".py") and \
                pattern in name and name[:-3] not in skip:
            suite.addTests(loader.loadTestsFromName(name[:-3]))
    result = LineResult(label)
    suite.run(result)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
