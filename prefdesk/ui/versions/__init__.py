"""Project › Dataset versions: freeze, compare, export, train on, and the Pareto view of reward runs."""
