"""Activity definitions and the activity context (re-exported from :mod:`dw_core.activity`)."""

from dw_core.activity import ActivityContext, ActivityInfo, context, defn, registry

__all__ = ["ActivityContext", "ActivityInfo", "context", "defn", "registry"]
