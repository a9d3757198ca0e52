"""A third-party rule plugin whose rule never finishes (installed via the dist-info beside it)."""
import time

from archlint import Rule, hookimpl


class Sleeper(Rule):
    code = "XT510"
    name = "sleeper"
    summary = "sleeps for an hour on every model"

    def check(self, ctx):
        time.sleep(3600)
        return []


@hookimpl
def archlint_rules():
    return [Sleeper()]
