"""What the Python tests share: check() notes a failed condition and goes on, so a
run reports every failure, not the first; the test ends with `failures`."""

failures = []
say_ok = False  # True: a line for each passed check too


def check(cond, what):
    if say_ok or not cond:
        print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
    return cond
