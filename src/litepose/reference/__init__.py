"""Reference implementations used by tests and benchmarks only.

``official_parser`` re-implements the post-processing of the official
LitePose test pipeline (numpy + torch + ``munkres``) so the native decoder can
be compared with it.  Nothing here is imported by the runtime.
"""
