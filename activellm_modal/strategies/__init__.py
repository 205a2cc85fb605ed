"""Query strategies: modAL callables ``(learner, X_pool, n_instances) -> (indices, scores)``."""
