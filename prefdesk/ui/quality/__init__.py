"""Project › Quality: the governance report (agreement, gold, bias, drift, reliability) on screen."""
