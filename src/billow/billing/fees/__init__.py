"""Fee computation for one subscription and its boundaries (subscription, usage, fixed charges,
true-ups and the minimum commitment)."""
