"""Around the modAL loop: compatibility fixes, stopping criteria, saving and resuming, learners."""
