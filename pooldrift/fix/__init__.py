"""Fixing drift: the plan anyone can read (``pooldrift.fix.plan``), computed from the API's own
answers; the policy that bounds it (``.policy``); and what is recorded of each fix in the
watch's store (``.records``). Nothing is imported here, so the stores can use ``.records``
without the client."""
