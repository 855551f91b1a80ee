"""Project › Train: a job's setup, its live curves, and the project's runs with their scores."""
