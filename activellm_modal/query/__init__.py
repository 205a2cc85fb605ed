"""The pure steps of one query: pool -> present -> prompt -> (LLM) -> read -> narrow -> fill.

Nothing here calls an LLM or holds state between queries; the strategies wire these steps.
"""
