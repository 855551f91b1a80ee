"""Quality: aggregation of several labels, agreement, bias and rater reports."""
