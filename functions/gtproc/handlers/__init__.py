"""The Lambda handlers. Importing this package starts a cold start: see `coldstart`."""

from gtproc.handlers.coldstart import hold_collector

hold_collector()
