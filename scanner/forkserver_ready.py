"""Imported last by the parse workers' fork server, after the modules it preloads: their objects
are frozen out of cyclic garbage collection, so that a collection in a forked worker does not
write to (and so copy) every page of Python objects it shares with the fork server; and the
workers collect less often (preparing.GC_THRESHOLDS)."""

import gc

from scanner.preparing import GC_THRESHOLDS

gc.freeze()
gc.set_threshold(*GC_THRESHOLDS)
