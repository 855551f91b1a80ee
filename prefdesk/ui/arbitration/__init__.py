"""Project › Arbitrate: a reviewer's decisions on disputed items, gold promotion and guideline clauses."""
